package extensions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"golang.org/x/mod/semver"

	"extcron/db"
	"extcron/fault"
)

// Registry publishes extension versions and serves the global catalog:
// versions, their endpoints and their modules. It has no tenant: callers
// decide who may publish (the CLI, the operator page).
type Registry struct {
	conn   *sqlx.DB
	logger *slog.Logger
}

// NewRegistry returns a Registry on conn.
func NewRegistry(conn *sqlx.DB, logger *slog.Logger) *Registry {
	if logger == nil {
		logger = slog.Default()
	}
	return &Registry{conn: conn, logger: logger}
}

// PublishResult says what Publish stored.
type PublishResult struct {
	Extension db.Extension
	Version   db.Version
	Endpoints []Endpoint
	// Warnings name the manifest endpoint entries that were dropped or
	// overridden.
	Warnings []string
	// AlreadyPublished is true when this exact version and content were
	// already in the registry (nothing new stored; endpoints re-checked).
	AlreadyPublished bool
}

// CatalogEntry is one extension of the catalog with its versions.
type CatalogEntry struct {
	Extension db.Extension
	// Latest is the newest stable version (the newest pre-release when the
	// extension has no stable one).
	Latest db.VersionRef
	// Versions are ordered by semantic version, oldest first.
	Versions []db.VersionRef
}

// BackfillResult says what BackfillEndpoints materialized.
type BackfillResult struct {
	VersionID uuid.UUID
	Endpoints []Endpoint
	Warnings  []string
}

// PublishPath reads a bundle (directory or .zip) and publishes it.
func (r *Registry) PublishPath(ctx context.Context, path string) (PublishResult, error) {
	b, err := ReadBundle(path)
	if err != nil {
		return PublishResult{}, err
	}
	return r.Publish(ctx, b)
}

// Publish stores a bundle's version and materializes its endpoints, in one
// transaction. Publishing the same version with the same content again is
// an idempotent success (AlreadyPublished, same endpoint ids); the same
// version with different content is a conflict and changes nothing.
func (r *Registry) Publish(ctx context.Context, b *Bundle) (PublishResult, error) {
	if b == nil {
		return PublishResult{}, errors.New("publish: nil bundle")
	}
	m := b.Manifest
	var res PublishResult
	err := db.WithTx(ctx, r.conn, func(tx *sqlx.Tx) error {
		ext, err := db.InsertExtension(ctx, tx, db.Extension{
			ID:          uuid.New(),
			Slug:        m.Slug(),
			Publisher:   m.Publisher,
			Name:        m.Name,
			DisplayName: m.DisplayName,
			Description: m.Description,
		})
		if err != nil {
			return err
		}
		v := db.Version{
			ID:          uuid.New(),
			ExtensionID: ext.ID,
			Version:     m.Version,
			Manifest:    b.ManifestJSON,
			ContentHash: b.ContentHash,
		}
		inserted, err := db.InsertVersion(ctx, tx, v, b.Module)
		if err != nil {
			return err
		}
		stored, err := db.FindVersionByNumber(ctx, tx, ext.ID, m.Version)
		if err != nil {
			return fmt.Errorf("reload version %s: %w", m.Version, err)
		}
		if !inserted {
			if stored.ContentHash != b.ContentHash || !sameJSON(stored.Manifest, b.ManifestJSON) {
				return fault.New(fault.Conflict, "version %s of %s is already published with different content", m.Version, m.Slug())
			}
			res.AlreadyPublished = true
		} else if err := r.refreshDetails(ctx, tx, ext, m); err != nil {
			return err
		}
		eps, warnings := MaterializeEndpoints(stored.ID, m.API.Endpoints)
		stored2, err := r.storeEndpoints(ctx, tx, stored.ID, eps)
		if err != nil {
			return err
		}
		if ext, err = db.FindExtension(ctx, tx, ext.ID); err != nil {
			return err
		}
		res.Extension, res.Version, res.Endpoints, res.Warnings = ext, stored, stored2, warnings
		return nil
	})
	if err != nil {
		return PublishResult{}, err
	}
	r.logger.InfoContext(ctx, "extension version published",
		"extension", res.Extension.Slug, "version", res.Version.Version, "version_id", res.Version.ID,
		"content_hash", res.Version.ContentHash, "endpoints", len(res.Endpoints),
		"warnings", len(res.Warnings), "already_published", res.AlreadyPublished)
	return res, nil
}

// refreshDetails shows the newest version's display name and description
// in the catalog.
func (r *Registry) refreshDetails(ctx context.Context, tx *sqlx.Tx, ext db.Extension, m Manifest) error {
	refs, err := db.ListVersionRefs(ctx, tx, []uuid.UUID{ext.ID})
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if compareVersions(ref.Version, m.Version) > 0 {
			return nil
		}
	}
	if ext.DisplayName == m.DisplayName && ext.Description == m.Description {
		return nil
	}
	return db.UpdateExtensionDetails(ctx, tx, ext.ID, m.DisplayName, m.Description)
}

func (r *Registry) storeEndpoints(ctx context.Context, q db.Queryer, versionID uuid.UUID, eps []Endpoint) ([]Endpoint, error) {
	rows := make([]db.Endpoint, len(eps))
	for i, e := range eps {
		rows[i] = db.Endpoint{ID: e.ID, VersionID: versionID, Method: e.Method, Path: e.Path, Handler: e.Handler}
	}
	if err := db.MaterializeEndpoints(ctx, q, versionID, rows); err != nil {
		return nil, err
	}
	stored, err := db.ListEndpoints(ctx, q, versionID)
	if err != nil {
		return nil, err
	}
	return endpointsFromRows(stored), nil
}

// BackfillEndpoints re-materializes a version's endpoints from its stored
// manifest: missing rows come back with their original ids, extra rows go.
func (r *Registry) BackfillEndpoints(ctx context.Context, versionID uuid.UUID) (BackfillResult, error) {
	res := BackfillResult{VersionID: versionID}
	err := db.WithTx(ctx, r.conn, func(tx *sqlx.Tx) error {
		v, err := db.FindVersion(ctx, tx, versionID)
		if errors.Is(err, db.ErrNotFound) {
			return fault.NotFoundf("version")
		}
		if err != nil {
			return err
		}
		entries, err := manifestEndpoints(v.Manifest)
		if err != nil {
			return fmt.Errorf("backfill version %s: %w", versionID, err)
		}
		eps, warnings := MaterializeEndpoints(v.ID, entries)
		res.Endpoints, err = r.storeEndpoints(ctx, tx, v.ID, eps)
		res.Warnings = warnings
		return err
	})
	if err != nil {
		return BackfillResult{}, err
	}
	r.logger.InfoContext(ctx, "endpoints backfilled", "version_id", versionID, "endpoints", len(res.Endpoints))
	return res, nil
}

// BackfillAllMissing backfills every version that declares endpoints but
// has none stored, and returns the versions it repaired.
func (r *Registry) BackfillAllMissing(ctx context.Context) ([]BackfillResult, error) {
	ids, err := db.VersionsMissingEndpoints(ctx, r.conn)
	if err != nil {
		return nil, err
	}
	out := make([]BackfillResult, 0, len(ids))
	for _, id := range ids {
		res, err := r.BackfillEndpoints(ctx, id)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// manifestEndpoints reads api.endpoints from a stored manifest leniently:
// an entry of the wrong shape becomes an empty entry, which materializing
// drops with a warning, instead of failing the whole backfill.
func manifestEndpoints(manifest json.RawMessage) ([]ManifestEndpoint, error) {
	var doc struct {
		API struct {
			Endpoints []json.RawMessage `json:"endpoints"`
		} `json:"api"`
	}
	if err := json.Unmarshal(manifest, &doc); err != nil {
		return nil, fmt.Errorf("read stored manifest: %w", err)
	}
	out := make([]ManifestEndpoint, len(doc.API.Endpoints))
	for i, raw := range doc.API.Endpoints {
		_ = json.Unmarshal(raw, &out[i]) // a bad entry stays empty and is dropped
	}
	return out, nil
}

// Catalog lists every published extension with its versions.
func (r *Registry) Catalog(ctx context.Context) ([]CatalogEntry, error) {
	exts, err := db.ListExtensions(ctx, r.conn)
	if err != nil {
		return nil, err
	}
	refs, err := db.ListVersionRefs(ctx, r.conn, nil)
	if err != nil {
		return nil, err
	}
	byExt := map[uuid.UUID][]db.VersionRef{}
	for _, v := range refs {
		byExt[v.ExtensionID] = append(byExt[v.ExtensionID], v)
	}
	out := make([]CatalogEntry, 0, len(exts))
	for _, e := range exts {
		vs := byExt[e.ID]
		sortVersions(vs)
		latest, _ := latestVersion(vs)
		out = append(out, CatalogEntry{Extension: e, Latest: latest, Versions: vs})
	}
	return out, nil
}

// FindExtension returns an extension by id or slug with its versions.
func (r *Registry) FindExtension(ctx context.Context, ref string) (CatalogEntry, error) {
	e, err := db.FindExtensionBySlugOrID(ctx, r.conn, ref)
	if errors.Is(err, db.ErrNotFound) {
		return CatalogEntry{}, fault.NotFoundf("extension")
	}
	if err != nil {
		return CatalogEntry{}, err
	}
	vs, err := db.ListVersionRefs(ctx, r.conn, []uuid.UUID{e.ID})
	if err != nil {
		return CatalogEntry{}, err
	}
	sortVersions(vs)
	latest, _ := latestVersion(vs)
	return CatalogEntry{Extension: e, Latest: latest, Versions: vs}, nil
}

// Endpoints lists a version's endpoints with whether each is schedulable.
func (r *Registry) Endpoints(ctx context.Context, versionID uuid.UUID) ([]Endpoint, error) {
	if _, err := db.FindVersion(ctx, r.conn, versionID); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return nil, fault.NotFoundf("version")
		}
		return nil, err
	}
	rows, err := db.ListEndpoints(ctx, r.conn, versionID)
	if err != nil {
		return nil, err
	}
	return endpointsFromRows(rows), nil
}

// DeleteVersion deletes a version and its endpoints; refused with a
// conflict while any install uses it.
func (r *Registry) DeleteVersion(ctx context.Context, versionID uuid.UUID) error {
	err := db.WithTx(ctx, r.conn, func(tx *sqlx.Tx) error {
		v, err := db.FindVersion(ctx, tx, versionID)
		if err != nil {
			return err
		}
		if err := db.DeleteVersion(ctx, tx, versionID); err != nil {
			if errors.Is(err, db.ErrVersionInUse) {
				return fault.New(fault.Conflict, "version %s is installed by at least one tenant and cannot be deleted", v.Version)
			}
			return err
		}
		return nil
	})
	if errors.Is(err, db.ErrNotFound) {
		return fault.NotFoundf("version")
	}
	if err == nil {
		r.logger.InfoContext(ctx, "extension version deleted", "version_id", versionID)
	}
	return err
}

// ModuleFor returns the module and the handler the embedded runner runs
// for a request: the version must still have contentHash (a runner never
// executes other bytes than the ones the caller resolved), and method and
// path (normalized here) must name one of its endpoints.
func (r *Registry) ModuleFor(ctx context.Context, versionID uuid.UUID, contentHash, method, path string) ([]byte, string, error) {
	v, err := db.FindVersion(ctx, r.conn, versionID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, "", fault.NotFoundf("version")
	}
	if err != nil {
		return nil, "", err
	}
	if v.ContentHash != contentHash {
		return nil, "", fault.New(fault.Conflict, "version %s has content %s, not %s", v.Version, v.ContentHash, clip(contentHash))
	}
	method, path = NormalizeMethod(method), NormalizePath(path)
	ep, err := db.FindEndpointByRoute(ctx, r.conn, versionID, method, path)
	if errors.Is(err, db.ErrNotFound) {
		return nil, "", fault.New(fault.NotFound, "endpoint %s %s is not declared by version %s", method, clip(path), v.Version)
	}
	if err != nil {
		return nil, "", err
	}
	module, err := db.ModuleBytes(ctx, r.conn, versionID)
	if err != nil {
		return nil, "", fmt.Errorf("load module of version %s: %w", versionID, err)
	}
	return module, ep.Handler, nil
}

func endpointsFromRows(rows []db.Endpoint) []Endpoint {
	out := make([]Endpoint, len(rows))
	for i, e := range rows {
		ok, reason := Schedulable(e.Method, e.Path)
		out[i] = Endpoint{ID: e.ID, VersionID: e.VersionID, Method: e.Method, Path: e.Path, Handler: e.Handler,
			Schedulable: ok, Reason: reason}
	}
	return out
}

// sameJSON reports whether two JSON documents are equal as values (jsonb
// does not keep key order or spacing).
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// compareVersions orders two semantic versions by precedence.
func compareVersions(a, b string) int { return semver.Compare("v"+a, "v"+b) }

// CompareVersions orders two semantic versions by semver precedence:
// negative when a < b, zero when equal, positive when a > b.
func CompareVersions(a, b string) int { return compareVersions(a, b) }

func sortVersions(vs []db.VersionRef) {
	sort.SliceStable(vs, func(i, j int) bool { return compareVersions(vs[i].Version, vs[j].Version) < 0 })
}

// latestVersion picks the newest stable version, or the newest
// pre-release when there is no stable one.
func latestVersion(vs []db.VersionRef) (db.VersionRef, bool) {
	var best, bestPre db.VersionRef
	var ok, okPre bool
	for _, v := range vs {
		if semver.Prerelease("v"+v.Version) != "" {
			if !okPre || compareVersions(v.Version, bestPre.Version) > 0 {
				bestPre, okPre = v, true
			}
			continue
		}
		if !ok || compareVersions(v.Version, best.Version) > 0 {
			best, ok = v, true
		}
	}
	if ok {
		return best, true
	}
	return bestPre, okPre
}
