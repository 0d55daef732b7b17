package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/db"
	"extcron/db/dbtest"
)

// registryFixture publishes one extension version directly through the
// repository and returns the version.
func registryFixture(t *testing.T) (context.Context, *sqlx.DB, db.Version) {
	t.Helper()
	d := dbtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	ext, err := db.InsertExtension(ctx, d.DB, db.Extension{ID: uuid.New(), Slug: "acme.x", Publisher: "acme", Name: "x", DisplayName: "X"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.InsertExtension(ctx, d.DB, db.Extension{ID: uuid.New(), Slug: "acme.x", Publisher: "acme", Name: "x", DisplayName: "Y"})
	if err != nil || again.ID != ext.ID || again.DisplayName != "X" {
		t.Fatalf("insert-or-get returned %+v, %v; want the first row", again, err)
	}
	v := db.Version{ID: uuid.New(), ExtensionID: ext.ID, Version: "1.0.0",
		Manifest: []byte(`{"api": {"endpoints": [{"method": "GET", "path": "/a", "handler": "a"}]}}`), ContentHash: "sha256:ab"}
	if ok, err := db.InsertVersion(ctx, d.DB, v, []byte("module")); err != nil || !ok {
		t.Fatalf("insert version = %v, %v", ok, err)
	}
	if ok, err := db.InsertVersion(ctx, d.DB, db.Version{ID: uuid.New(), ExtensionID: ext.ID, Version: "1.0.0",
		Manifest: []byte(`{}`), ContentHash: "sha256:cd"}, []byte("other")); err != nil || ok {
		t.Fatalf("duplicate version insert = %v, %v; want false, nil", ok, err)
	}
	return ctx, d.DB, v
}

func TestMaterializeEndpointsUpsertsAndPrunes(t *testing.T) {
	t.Parallel()
	ctx, conn, v := registryFixture(t)
	a := db.Endpoint{ID: uuid.New(), Method: "GET", Path: "/a", Handler: "a"}
	b := db.Endpoint{ID: uuid.New(), Method: "POST", Path: "/b", Handler: "b"}
	if err := db.MaterializeEndpoints(ctx, conn, v.ID, []db.Endpoint{a, b}); err != nil {
		t.Fatal(err)
	}
	// Same natural key with a new id and handler: the row keeps its id and
	// takes the handler; b is no longer in the set and goes.
	a2 := db.Endpoint{ID: uuid.New(), Method: "GET", Path: "/a", Handler: "a2"}
	for range 2 {
		if err := db.MaterializeEndpoints(ctx, conn, v.ID, []db.Endpoint{a2}); err != nil {
			t.Fatal(err)
		}
	}
	eps, err := db.ListEndpoints(ctx, conn, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 1 || eps[0].ID != a.ID || eps[0].Handler != "a2" {
		t.Fatalf("endpoints = %+v, want only /a with its first id and handler a2", eps)
	}
	got, err := db.FindEndpoint(ctx, conn, a.ID)
	if err != nil || got.Path != "/a" {
		t.Errorf("FindEndpoint = %+v, %v", got, err)
	}
	if _, err := db.FindEndpoint(ctx, conn, b.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("pruned endpoint: %v, want ErrNotFound", err)
	}
	if err := db.MaterializeEndpoints(ctx, conn, v.ID, nil); err != nil {
		t.Fatal(err)
	}
	missing, err := db.VersionsMissingEndpoints(ctx, conn)
	if err != nil || len(missing) != 1 || missing[0] != v.ID {
		t.Errorf("missing = %v, %v; want [%s]", missing, err, v.ID)
	}
}

func TestModuleBytesAndDeleteVersion(t *testing.T) {
	t.Parallel()
	ctx, conn, v := registryFixture(t)
	module, err := db.ModuleBytes(ctx, conn, v.ID)
	if err != nil || string(module) != "module" {
		t.Fatalf("ModuleBytes = %q, %v", module, err)
	}
	tenantID := uuid.New()
	if _, err := conn.ExecContext(ctx, `INSERT INTO tenant (id, name) VALUES ($1, 'reg-test')`, tenantID); err != nil {
		t.Fatal(err)
	}
	in := db.Install{TenantID: tenantID, ID: uuid.New(), ExtensionID: v.ExtensionID, VersionID: v.ID, Enabled: true}
	if err := db.InsertInstall(ctx, conn, in); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteVersion(ctx, conn, v.ID); !errors.Is(err, db.ErrVersionInUse) {
		t.Fatalf("delete installed version: %v, want ErrVersionInUse", err)
	}
	if _, err := db.DeleteInstall(ctx, conn, tenantID, in.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteVersion(ctx, conn, v.ID); err != nil {
		t.Fatalf("delete version: %v", err)
	}
	if _, err := db.FindVersion(ctx, conn, v.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("deleted version: %v, want ErrNotFound", err)
	}
	if err := db.DeleteVersion(ctx, conn, v.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("delete again: %v, want ErrNotFound", err)
	}
}
