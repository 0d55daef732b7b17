package extensions_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/db"
	"extcron/db/dbtest"
	"extcron/extensions"
	"extcron/fault"
)

type registrySetup struct {
	ctx  context.Context
	conn *sqlx.DB
	reg  *extensions.Registry
}

func setupRegistry(t *testing.T) registrySetup {
	t.Helper()
	d := dbtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	return registrySetup{ctx: ctx, conn: d.DB, reg: extensions.NewRegistry(d.DB, logger)}
}

// publishDir builds a bundle directory from manifest and module, and
// publishes it.
func (s registrySetup) publish(t *testing.T, manifest map[string]any, module string) extensions.PublishResult {
	t.Helper()
	res, err := s.reg.PublishPath(s.ctx, writeBundleDir(t, manifest, []byte(module)))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return res
}

func manifestWith(version string, endpoints ...map[string]any) map[string]any {
	m := validManifest()
	m["version"] = version
	if endpoints != nil {
		list := make([]any, len(endpoints))
		for i, e := range endpoints {
			list[i] = e
		}
		m["api"] = map[string]any{"endpoints": list}
	}
	return m
}

func ep(method, path, handler string) map[string]any {
	return map[string]any{"method": method, "path": path, "handler": handler}
}

func TestPublishIsIdempotent(t *testing.T) {
	t.Parallel()
	s := setupRegistry(t)
	first := s.publish(t, validManifest(), "module v1")
	if first.AlreadyPublished {
		t.Fatal("first publish says already published")
	}
	if first.Extension.Slug != "acme.crm-sync" || first.Version.Version != "1.0.0" {
		t.Fatalf("published %s %s", first.Extension.Slug, first.Version.Version)
	}
	if want := extensions.ContentHash([]byte("module v1")); first.Version.ContentHash != want {
		t.Fatalf("content hash %s, want %s", first.Version.ContentHash, want)
	}
	if len(first.Endpoints) != 2 {
		t.Fatalf("endpoints %+v, want 2", first.Endpoints)
	}

	again := s.publish(t, validManifest(), "module v1")
	if !again.AlreadyPublished {
		t.Error("republish of identical content not reported as already published")
	}
	if again.Version.ID != first.Version.ID || again.Extension.ID != first.Extension.ID {
		t.Errorf("republish returned other rows: %s/%s vs %s/%s", again.Extension.ID, again.Version.ID, first.Extension.ID, first.Version.ID)
	}
	assertSameEndpoints(t, first.Endpoints, again.Endpoints)

	var versions int
	if err := s.conn.GetContext(s.ctx, &versions, `SELECT count(*) FROM extension_version`); err != nil {
		t.Fatal(err)
	}
	if versions != 1 {
		t.Errorf("%d version rows after republish, want 1", versions)
	}
}

func assertSameEndpoints(t *testing.T, a, b []extensions.Endpoint) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("endpoint sets differ: %d vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Method != b[i].Method || a[i].Path != b[i].Path || a[i].Handler != b[i].Handler {
			t.Errorf("endpoint %d: %+v vs %+v", i, a[i], b[i])
		}
	}
}

func TestPublishConflictChangesNothing(t *testing.T) {
	t.Parallel()
	s := setupRegistry(t)
	first := s.publish(t, validManifest(), "module v1")

	_, err := s.reg.PublishPath(s.ctx, writeBundleDir(t, validManifest(), []byte("other bytes")))
	fe, ok := fault.As(err)
	if !ok || fe.Code != fault.Conflict {
		t.Fatalf("err = %v, want conflict", err)
	}
	if want := "version 1.0.0 of acme.crm-sync is already published with different content"; fe.Message != want {
		t.Errorf("message %q, want %q", fe.Message, want)
	}
	// Same module, different manifest: also different content.
	changed := manifestWith("1.0.0", ep("GET", "/other", "other"))
	if _, err := s.reg.PublishPath(s.ctx, writeBundleDir(t, changed, []byte("module v1"))); !fault.Is(err, fault.Conflict) {
		t.Errorf("changed manifest: err = %v, want conflict", err)
	}

	v, err := db.FindVersion(s.ctx, s.conn, first.Version.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.ContentHash != first.Version.ContentHash {
		t.Errorf("content hash changed to %s", v.ContentHash)
	}
	eps, err := s.reg.Endpoints(s.ctx, first.Version.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertSameEndpoints(t, first.Endpoints, eps)
}

func TestPublishManifestErrors(t *testing.T) {
	t.Parallel()
	s := setupRegistry(t)
	m := validManifest()
	m["version"] = "1.0"
	m["runtime"] = "js"
	_, err := s.reg.PublishPath(s.ctx, writeBundleDir(t, m, []byte("x")))
	fe, ok := fault.As(err)
	if !ok || fe.Fields["version"] == "" || fe.Fields["runtime"] == "" {
		t.Fatalf("err = %v, want version and runtime field errors", err)
	}
	cat, err := s.reg.Catalog(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat) != 0 {
		t.Errorf("catalog has %d entries after a refused publish", len(cat))
	}
}

func TestPublishMaterializesInDB(t *testing.T) {
	t.Parallel()
	s := setupRegistry(t)
	res := s.publish(t, manifestWith("1.0.0",
		ep(" post ", "sync//contacts", "old"),
		ep("GET", "/contacts/{id}", "getContact"),
		ep("TRACE", "/x", "x"),
		ep("GET", "", "x"),
		ep("POST", "/sync/contacts", "syncContacts"),
	), "m")
	if len(res.Warnings) != 3 {
		t.Errorf("warnings %q, want 3 (TRACE, missing path, duplicate)", res.Warnings)
	}
	rows, err := db.ListEndpoints(s.ctx, s.conn, res.Version.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %+v, want 2", rows)
	}
	byPath := map[string]db.Endpoint{}
	for _, r := range rows {
		byPath[r.Method+" "+r.Path] = r
	}
	sync, ok := byPath["POST /sync/contacts"]
	if !ok || sync.Handler != "syncContacts" {
		t.Errorf("POST /sync/contacts = %+v, want handler syncContacts (last entry wins)", sync)
	}
	if sync.ID != extensions.EndpointID(res.Version.ID, "POST", "/sync/contacts") {
		t.Errorf("id %s is not deterministic", sync.ID)
	}
	eps, err := s.reg.Endpoints(s.ctx, res.Version.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eps {
		if e.Path == "/contacts/{id}" && (e.Schedulable || e.Reason == "") {
			t.Errorf("%+v should be not schedulable with a reason", e)
		}
		if e.Path == "/sync/contacts" && !e.Schedulable {
			t.Errorf("%+v should be schedulable", e)
		}
	}
}

func TestBackfillRestoresEndpoints(t *testing.T) {
	t.Parallel()
	s := setupRegistry(t)
	res := s.publish(t, validManifest(), "m")
	other := s.publish(t, manifestWith("1.1.0"), "m2")

	// Damage: one version loses one row, the other loses all of them.
	if _, err := s.conn.ExecContext(s.ctx, `DELETE FROM extension_api_endpoint WHERE id = $1`, res.Endpoints[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.conn.ExecContext(s.ctx, `DELETE FROM extension_api_endpoint WHERE version_id = $1`, other.Version.ID); err != nil {
		t.Fatal(err)
	}
	missing, err := db.VersionsMissingEndpoints(s.ctx, s.conn)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0] != other.Version.ID {
		t.Errorf("missing = %v, want [%s]", missing, other.Version.ID)
	}

	back, err := s.reg.BackfillEndpoints(s.ctx, res.Version.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertSameEndpoints(t, res.Endpoints, back.Endpoints)

	all, err := s.reg.BackfillAllMissing(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("BackfillAllMissing repaired %d versions, want 1", len(all))
	}
	assertSameEndpoints(t, other.Endpoints, all[0].Endpoints)

	if _, err := s.reg.BackfillEndpoints(s.ctx, uuid.New()); !fault.Is(err, fault.NotFound) {
		t.Errorf("backfill of unknown version: %v, want not found", err)
	}
}

func TestCatalogAndModuleFor(t *testing.T) {
	t.Parallel()
	s := setupRegistry(t)
	s.publish(t, manifestWith("1.2.0"), "a")
	v10 := s.publish(t, manifestWith("1.10.0"), "b")
	s.publish(t, manifestWith("2.0.0-beta.1"), "c")

	cat, err := s.reg.Catalog(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat) != 1 || len(cat[0].Versions) != 3 {
		t.Fatalf("catalog %+v, want one extension with 3 versions", cat)
	}
	if got := cat[0].Latest.Version; got != "1.10.0" {
		t.Errorf("latest = %s, want 1.10.0 (semver order, stable preferred)", got)
	}

	module, handler, err := s.reg.ModuleFor(s.ctx, v10.Version.ID, v10.Version.ContentHash, "post", "sync//contacts")
	if err != nil {
		t.Fatal(err)
	}
	if string(module) != "b" || handler != "syncContacts" {
		t.Errorf("ModuleFor = %q, %q; want b, syncContacts", module, handler)
	}
	if _, _, err := s.reg.ModuleFor(s.ctx, v10.Version.ID, "sha256:00", "POST", "/sync/contacts"); !fault.Is(err, fault.Conflict) {
		t.Errorf("wrong hash: %v, want conflict", err)
	}
	if _, _, err := s.reg.ModuleFor(s.ctx, v10.Version.ID, v10.Version.ContentHash, "GET", "/nope"); !fault.Is(err, fault.NotFound) {
		t.Errorf("unknown endpoint: %v, want not found", err)
	}
}
