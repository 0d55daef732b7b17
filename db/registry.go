package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// ErrVersionInUse is returned by DeleteVersion while an install uses the
// version.
var ErrVersionInUse = errors.New("version is in use by an install")

// Extension is one published extension of the global registry.
type Extension struct {
	ID          uuid.UUID `db:"id"`
	Slug        string    `db:"slug"`
	Publisher   string    `db:"publisher"`
	Name        string    `db:"name"`
	DisplayName string    `db:"display_name"`
	Description string    `db:"description"`
	CreatedAt   time.Time `db:"created_at"`
}

// Version is one published version of an extension, without its module
// bytes (see ModuleBytes).
type Version struct {
	ID          uuid.UUID       `db:"id"`
	ExtensionID uuid.UUID       `db:"extension_id"`
	Version     string          `db:"version"`
	Manifest    json.RawMessage `db:"manifest"`
	ContentHash string          `db:"content_hash"`
	CreatedAt   time.Time       `db:"created_at"`
}

// VersionRef is a version without manifest or module: enough to list and
// compare versions.
type VersionRef struct {
	ID          uuid.UUID `db:"id"`
	ExtensionID uuid.UUID `db:"extension_id"`
	Version     string    `db:"version"`
	ContentHash string    `db:"content_hash"`
	CreatedAt   time.Time `db:"created_at"`
}

// Endpoint is a materialized API endpoint of a version.
type Endpoint struct {
	ID        uuid.UUID `db:"id"`
	VersionID uuid.UUID `db:"version_id"`
	Method    string    `db:"method"`
	Path      string    `db:"path"`
	Handler   string    `db:"handler"`
}

const (
	extensionColumns  = `id, slug, publisher, name, display_name, description, created_at`
	versionColumns    = `id, extension_id, version, manifest, content_hash, created_at`
	versionRefColumns = `id, extension_id, version, content_hash, created_at`
	endpointColumns   = `id, version_id, method, path, handler`
)

// InsertExtension creates the extension unless its slug exists, and
// returns the stored row either way.
func InsertExtension(ctx context.Context, q Queryer, e Extension) (Extension, error) {
	// DO NOTHING + SELECT instead of DO UPDATE: an extension's row is
	// created by its first publish; concurrent publishes wait on the unique
	// index and then read the winner's row.
	_, err := q.ExecContext(ctx, `
		INSERT INTO extension (id, slug, publisher, name, display_name, description)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (slug) DO NOTHING`,
		e.ID, e.Slug, e.Publisher, e.Name, e.DisplayName, e.Description)
	if err != nil {
		return Extension{}, fmt.Errorf("insert extension %s: %w", e.Slug, err)
	}
	return FindExtensionBySlug(ctx, q, e.Slug)
}

// UpdateExtensionDetails sets the display name and description shown in
// the catalog (taken from the newest version's manifest).
func UpdateExtensionDetails(ctx context.Context, q Queryer, id uuid.UUID, displayName, description string) error {
	_, err := q.ExecContext(ctx, `
		UPDATE extension SET display_name = $2, description = $3
		WHERE id = $1`, id, displayName, description)
	if err != nil {
		return fmt.Errorf("update extension %s: %w", id, err)
	}
	return nil
}

// FindExtension loads an extension by id.
func FindExtension(ctx context.Context, q Queryer, id uuid.UUID) (Extension, error) {
	var e Extension
	err := q.GetContext(ctx, &e, `SELECT `+extensionColumns+` FROM extension WHERE id = $1`, id)
	return e, notFound(err)
}

// FindExtensionBySlug loads an extension by its slug.
func FindExtensionBySlug(ctx context.Context, q Queryer, slug string) (Extension, error) {
	var e Extension
	err := q.GetContext(ctx, &e, `SELECT `+extensionColumns+` FROM extension WHERE slug = $1`, slug)
	return e, notFound(err)
}

// FindExtensionBySlugOrID loads an extension by id when ref is a uuid, by
// slug otherwise.
func FindExtensionBySlugOrID(ctx context.Context, q Queryer, ref string) (Extension, error) {
	if id, err := uuid.Parse(ref); err == nil {
		return FindExtension(ctx, q, id)
	}
	return FindExtensionBySlug(ctx, q, ref)
}

// ListExtensions returns every published extension, by slug.
func ListExtensions(ctx context.Context, q Queryer) ([]Extension, error) {
	var es []Extension
	err := q.SelectContext(ctx, &es, `SELECT `+extensionColumns+` FROM extension ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("list extensions: %w", err)
	}
	return es, nil
}

// InsertVersion stores a version with its module bytes. It reports false,
// without error, when the extension already has that version (compare
// content hashes with FindVersionByNumber).
func InsertVersion(ctx context.Context, q Queryer, v Version, module []byte) (bool, error) {
	res, err := q.ExecContext(ctx, `
		INSERT INTO extension_version (id, extension_id, version, manifest, content_hash, module)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (extension_id, version) DO NOTHING`,
		v.ID, v.ExtensionID, v.Version, []byte(v.Manifest), v.ContentHash, module)
	if err != nil {
		return false, fmt.Errorf("insert version %s: %w", v.Version, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// FindVersion loads a version by id.
func FindVersion(ctx context.Context, q Queryer, id uuid.UUID) (Version, error) {
	var v Version
	err := q.GetContext(ctx, &v, `SELECT `+versionColumns+` FROM extension_version WHERE id = $1`, id)
	return v, notFound(err)
}

// FindVersionByNumber loads an extension's version by its semver string.
func FindVersionByNumber(ctx context.Context, q Queryer, extensionID uuid.UUID, version string) (Version, error) {
	var v Version
	err := q.GetContext(ctx, &v, `
		SELECT `+versionColumns+`
		FROM extension_version
		WHERE extension_id = $1 AND version = $2`, extensionID, version)
	return v, notFound(err)
}

// ListVersions returns the versions of an extension, oldest first.
func ListVersions(ctx context.Context, q Queryer, extensionID uuid.UUID) ([]Version, error) {
	var vs []Version
	err := q.SelectContext(ctx, &vs, `
		SELECT `+versionColumns+`
		FROM extension_version
		WHERE extension_id = $1
		ORDER BY created_at, version`, extensionID)
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}
	return vs, nil
}

// ListVersionRefs returns the versions of the given extensions (all
// extensions when extensionIDs is nil), oldest first.
func ListVersionRefs(ctx context.Context, q Queryer, extensionIDs []uuid.UUID) ([]VersionRef, error) {
	var vs []VersionRef
	var err error
	if extensionIDs == nil {
		err = q.SelectContext(ctx, &vs, `
			SELECT `+versionRefColumns+`
			FROM extension_version
			ORDER BY extension_id, created_at`)
	} else {
		err = q.SelectContext(ctx, &vs, `
			SELECT `+versionRefColumns+`
			FROM extension_version
			WHERE extension_id = ANY ($1::uuid[])
			ORDER BY extension_id, created_at`, pq.Array(uuidStrings(extensionIDs)))
	}
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}
	return vs, nil
}

// ModuleBytes loads the WebAssembly module of a version. It is the only
// query that reads the module column.
func ModuleBytes(ctx context.Context, q Queryer, versionID uuid.UUID) ([]byte, error) {
	var module []byte
	err := q.GetContext(ctx, &module, `SELECT module FROM extension_version WHERE id = $1`, versionID)
	return module, notFound(err)
}

// DeleteVersion deletes a version and its endpoints. It returns
// ErrVersionInUse while any tenant's install uses the version, and
// ErrNotFound for an unknown id.
func DeleteVersion(ctx context.Context, q Queryer, versionID uuid.UUID) error {
	// Lock the version row first: an install that starts to reference it
	// concurrently takes a KEY SHARE lock on it (its foreign key), so the
	// check below cannot race with a new install.
	var id uuid.UUID
	err := q.GetContext(ctx, &id, `SELECT id FROM extension_version WHERE id = $1 FOR UPDATE`, versionID)
	if err != nil {
		return notFound(err)
	}
	var inUse bool
	// Cross-tenant on purpose: the registry is global. The version_id index
	// of tenant_extension_install serves this.
	err = q.GetContext(ctx, &inUse, `
		SELECT EXISTS (SELECT 1 FROM tenant_extension_install WHERE version_id = $1)`, versionID)
	if err != nil {
		return fmt.Errorf("check version use: %w", err)
	}
	if inUse {
		return ErrVersionInUse
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM extension_api_endpoint WHERE version_id = $1`, versionID); err != nil {
		return fmt.Errorf("delete endpoints of version %s: %w", versionID, err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM extension_version WHERE id = $1`, versionID); err != nil {
		return fmt.Errorf("delete version %s: %w", versionID, err)
	}
	return nil
}

// MaterializeEndpoints makes the stored endpoints of a version exactly eps:
// new ones are inserted, existing ones keep their ids and get the new
// handler, and endpoints of the version not in eps are deleted. Running it
// twice with the same input changes nothing.
func MaterializeEndpoints(ctx context.Context, q Queryer, versionID uuid.UUID, eps []Endpoint) error {
	ids := make([]string, len(eps))
	methods := make([]string, len(eps))
	paths := make([]string, len(eps))
	handlers := make([]string, len(eps))
	for i, e := range eps {
		ids[i], methods[i], paths[i], handlers[i] = e.ID.String(), e.Method, e.Path, e.Handler
	}
	// One statement for the whole set (unnest), conflict on the natural key
	// so an existing row keeps its id whatever id the caller computed.
	_, err := q.ExecContext(ctx, `
		INSERT INTO extension_api_endpoint (id, version_id, method, path, handler)
		SELECT e.id, $1, e.method, e.path, e.handler
		FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) AS e (id, method, path, handler)
		ON CONFLICT (version_id, method, path) DO UPDATE SET handler = EXCLUDED.handler
		WHERE extension_api_endpoint.handler IS DISTINCT FROM EXCLUDED.handler`,
		versionID, pq.Array(ids), pq.Array(methods), pq.Array(paths), pq.Array(handlers))
	if err != nil {
		return fmt.Errorf("upsert endpoints of version %s: %w", versionID, err)
	}
	_, err = q.ExecContext(ctx, `
		DELETE FROM extension_api_endpoint
		WHERE version_id = $1
		  AND (method, path) NOT IN (SELECT m, p FROM unnest($2::text[], $3::text[]) AS k (m, p))`,
		versionID, pq.Array(methods), pq.Array(paths))
	if err != nil {
		return fmt.Errorf("prune endpoints of version %s: %w", versionID, err)
	}
	return nil
}

// ListEndpoints returns the endpoints of a version by path, then method.
func ListEndpoints(ctx context.Context, q Queryer, versionID uuid.UUID) ([]Endpoint, error) {
	var eps []Endpoint
	err := q.SelectContext(ctx, &eps, `
		SELECT `+endpointColumns+`
		FROM extension_api_endpoint
		WHERE version_id = $1
		ORDER BY path, method`, versionID)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return eps, nil
}

// FindEndpoint loads an endpoint by id.
func FindEndpoint(ctx context.Context, q Queryer, id uuid.UUID) (Endpoint, error) {
	var e Endpoint
	err := q.GetContext(ctx, &e, `SELECT `+endpointColumns+` FROM extension_api_endpoint WHERE id = $1`, id)
	return e, notFound(err)
}

// FindEndpointByRoute loads a version's endpoint by normalized method and
// path.
func FindEndpointByRoute(ctx context.Context, q Queryer, versionID uuid.UUID, method, path string) (Endpoint, error) {
	var e Endpoint
	err := q.GetContext(ctx, &e, `
		SELECT `+endpointColumns+`
		FROM extension_api_endpoint
		WHERE version_id = $1 AND method = $2 AND path = $3`, versionID, method, path)
	return e, notFound(err)
}

// VersionsMissingEndpoints returns the versions whose manifest declares
// endpoints but which have no endpoint rows (published before
// materialization existed, or damaged): candidates for a backfill.
func VersionsMissingEndpoints(ctx context.Context, q Queryer) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := q.SelectContext(ctx, &ids, `
		SELECT v.id
		FROM extension_version v
		WHERE CASE WHEN jsonb_typeof(v.manifest #> '{api,endpoints}') = 'array'
		           THEN jsonb_array_length(v.manifest #> '{api,endpoints}') > 0
		           ELSE false END
		  AND NOT EXISTS (SELECT 1 FROM extension_api_endpoint e WHERE e.version_id = v.id)
		ORDER BY v.created_at`)
	if err != nil {
		return nil, fmt.Errorf("find versions missing endpoints: %w", err)
	}
	return ids, nil
}

func uuidStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
