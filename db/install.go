package db

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// ErrAlreadyInstalled is returned by InsertInstall when the tenant already
// has an install of the extension.
var ErrAlreadyInstalled = errors.New("extension already installed")

// InstallConfig is an install's string-to-string config, stored as a jsonb
// object.
type InstallConfig map[string]string

// Value implements driver.Valuer.
func (c InstallConfig) Value() (driver.Value, error) {
	if c == nil {
		return []byte(`{}`), nil
	}
	return json.Marshal(map[string]string(c))
}

// Scan implements sql.Scanner.
func (c *InstallConfig) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*c = InstallConfig{}
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("install config: cannot scan %T", src)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("install config: %w", err)
	}
	*c = m
	return nil
}

// Install is a tenant's install of an extension.
type Install struct {
	TenantID          uuid.UUID      `db:"tenant_id"`
	ID                uuid.UUID      `db:"id"`
	ExtensionID       uuid.UUID      `db:"extension_id"`
	VersionID         uuid.UUID      `db:"version_id"`
	Enabled           bool           `db:"enabled"`
	Config            InstallConfig  `db:"config"`
	Providers         pq.StringArray `db:"providers"`
	SecretsCiphertext []byte         `db:"secrets_ciphertext"`
	CreatedAt         time.Time      `db:"created_at"`
	UpdatedAt         time.Time      `db:"updated_at"`
}

// InstallDetail is an install with the registry facts pages show next to
// it.
type InstallDetail struct {
	Install
	Slug        string `db:"slug"`
	DisplayName string `db:"display_name"`
	Description string `db:"description"`
	Version     string `db:"version"`
	ContentHash string `db:"content_hash"`
}

// UninstallCounts says what DeleteInstall removed with the install.
type UninstallCounts struct {
	Runs      int64 `json:"runs"`
	Timers    int64 `json:"timers"`
	Schedules int64 `json:"schedules"`
}

const installColumns = `i.tenant_id, i.id, i.extension_id, i.version_id, i.enabled, i.config, i.providers,
	i.secrets_ciphertext, i.created_at, i.updated_at`

const installDetailSelect = `
	SELECT ` + installColumns + `,
	       e.slug, e.display_name, e.description, v.version, v.content_hash
	FROM tenant_extension_install i
	JOIN extension e ON e.id = i.extension_id
	JOIN extension_version v ON v.id = i.version_id`

// InsertInstall creates an install. It returns ErrAlreadyInstalled when the
// tenant already has one for the extension.
func InsertInstall(ctx context.Context, q Queryer, in Install) error {
	providers := in.Providers
	if providers == nil {
		providers = pq.StringArray{}
	}
	res, err := q.ExecContext(ctx, `
		INSERT INTO tenant_extension_install
		    (tenant_id, id, extension_id, version_id, enabled, config, providers, secrets_ciphertext)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (tenant_id, extension_id) DO NOTHING`,
		in.TenantID, in.ID, in.ExtensionID, in.VersionID, in.Enabled, in.Config, providers, in.SecretsCiphertext)
	if err != nil {
		return fmt.Errorf("insert install: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrAlreadyInstalled
	}
	return nil
}

// FindInstall loads a tenant's install by id.
func FindInstall(ctx context.Context, q Queryer, tenantID, id uuid.UUID) (InstallDetail, error) {
	var in InstallDetail
	err := q.GetContext(ctx, &in, installDetailSelect+`
		WHERE i.tenant_id = $1 AND i.id = $2`, tenantID, id)
	return in, notFound(err)
}

// FindInstallByExtension loads a tenant's install of an extension. With
// forUpdate the install row is locked until the transaction ends, so
// concurrent changes to it serialize.
func FindInstallByExtension(ctx context.Context, q Queryer, tenantID, extensionID uuid.UUID, forUpdate bool) (InstallDetail, error) {
	query := installDetailSelect + `
		WHERE i.tenant_id = $1 AND i.extension_id = $2`
	if forUpdate {
		query += ` FOR UPDATE OF i`
	}
	var in InstallDetail
	err := q.GetContext(ctx, &in, query, tenantID, extensionID)
	return in, notFound(err)
}

// ListInstalls returns a tenant's installs by slug.
func ListInstalls(ctx context.Context, q Queryer, tenantID uuid.UUID) ([]InstallDetail, error) {
	var ins []InstallDetail
	err := q.SelectContext(ctx, &ins, installDetailSelect+`
		WHERE i.tenant_id = $1
		ORDER BY e.slug`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list installs: %w", err)
	}
	return ins, nil
}

// UpdateInstallConfig replaces an install's config.
func UpdateInstallConfig(ctx context.Context, q Queryer, tenantID, id uuid.UUID, config InstallConfig) error {
	return execInstall(ctx, q, "update install config", `
		UPDATE tenant_extension_install SET config = $3, updated_at = now()
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, config)
}

// UpdateInstallSecrets replaces an install's sealed secrets (nil clears
// them).
func UpdateInstallSecrets(ctx context.Context, q Queryer, tenantID, id uuid.UUID, ciphertext []byte) error {
	return execInstall(ctx, q, "update install secrets", `
		UPDATE tenant_extension_install SET secrets_ciphertext = $3, updated_at = now()
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, ciphertext)
}

// SetInstallEnabled enables or disables an install.
func SetInstallEnabled(ctx context.Context, q Queryer, tenantID, id uuid.UUID, enabled bool) error {
	return execInstall(ctx, q, "set install enabled", `
		UPDATE tenant_extension_install SET enabled = $3, updated_at = now()
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, enabled)
}

// FindInstallSecrets loads only the sealed secrets of an install (nil when
// none are set).
func FindInstallSecrets(ctx context.Context, q Queryer, tenantID, id uuid.UUID) ([]byte, error) {
	var ct []byte
	err := q.GetContext(ctx, &ct, `
		SELECT secrets_ciphertext FROM tenant_extension_install
		WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return ct, notFound(err)
}

// DeleteInstall removes an install and everything that hangs off it (no
// foreign key cascades): the job runner's timers, run history, the
// schedules, then the install row. Registry rows stay.
//
// The order keeps writers out. Deleting the timers waits for a fire cycle
// holding one and stops later ones; locking the schedules waits for a
// run-now in progress (it holds its schedule's row) and stops later ones;
// only then are the runs deleted, so none is written after.
func DeleteInstall(ctx context.Context, q Queryer, tenantID, id uuid.UUID) (UninstallCounts, error) {
	var c UninstallCounts
	// Timers are keyed extsched:<install_id>:<schedule_id>; the schedule_id
	// branch also catches a timer whose key was written differently.
	res, err := q.ExecContext(ctx, `
		DELETE FROM scheduler_timer
		WHERE tenant_id = $1
		  AND (key LIKE $3
		       OR schedule_id IN (SELECT s.id FROM tenant_extension_schedule s
		                          WHERE s.tenant_id = $1 AND s.install_id = $2))`,
		tenantID, id, "extsched:"+id.String()+":%")
	if err != nil {
		return c, fmt.Errorf("delete timers of install %s: %w", id, err)
	}
	if c.Timers, err = res.RowsAffected(); err != nil {
		return c, err
	}
	if _, err := q.ExecContext(ctx, `
		SELECT 1 FROM tenant_extension_schedule WHERE tenant_id = $1 AND install_id = $2 FOR UPDATE`,
		tenantID, id); err != nil {
		return c, fmt.Errorf("lock schedules of install %s: %w", id, err)
	}
	res, err = q.ExecContext(ctx, `
		DELETE FROM tenant_extension_schedule_run
		WHERE tenant_id = $1 AND install_id = $2`, tenantID, id)
	if err != nil {
		return c, fmt.Errorf("delete runs of install %s: %w", id, err)
	}
	if c.Runs, err = res.RowsAffected(); err != nil {
		return c, err
	}
	res, err = q.ExecContext(ctx, `
		DELETE FROM tenant_extension_schedule
		WHERE tenant_id = $1 AND install_id = $2`, tenantID, id)
	if err != nil {
		return c, fmt.Errorf("delete schedules of install %s: %w", id, err)
	}
	if c.Schedules, err = res.RowsAffected(); err != nil {
		return c, err
	}
	err = execInstall(ctx, q, "delete install", `
		DELETE FROM tenant_extension_install
		WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return c, err
}

// execInstall runs a statement on one install row and returns ErrNotFound
// when it touched none.
func execInstall(ctx context.Context, q Queryer, what, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
