package extensions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"extcron/account"
	"extcron/db"
	"extcron/fault"
)

// Limits on install settings values.
const (
	maxConfigValue = 4096
	maxSecretValue = 16384
)

// Installs manages tenants' installs of published extensions: install,
// config, sealed secrets, enable/disable and uninstall. Every operation
// checks the actor's permission, is scoped to the actor's tenant (another
// tenant's install is simply not found) and writes an audit event in its
// transaction.
type Installs struct {
	conn   *sqlx.DB
	sealer *Sealer
	logger *slog.Logger
	hooks  ScheduleHooks
}

// NewInstalls returns an Installs service; sealer encrypts secrets at rest.
func NewInstalls(conn *sqlx.DB, sealer *Sealer, logger *slog.Logger) *Installs {
	if logger == nil {
		logger = slog.Default()
	}
	return &Installs{conn: conn, sealer: sealer, logger: logger}
}

// Install is a tenant's install of an extension as pages and the API show
// it. Secret values never appear: SecretKeys lists the secrets that are set.
type Install struct {
	InstallID   uuid.UUID `json:"install_id"`
	ExtensionID uuid.UUID `json:"extension_id"`
	Slug        string    `json:"slug"`
	DisplayName string    `json:"display_name"`
	Description string    `json:"description"`
	VersionID   uuid.UUID `json:"version_id"`
	Version     string    `json:"version"`
	ContentHash string    `json:"content_hash"`
	Enabled     bool      `json:"enabled"`
	// Config holds the non-secret settings.
	Config    map[string]string `json:"config"`
	Providers []string          `json:"providers"`
	// SecretKeys are the secret settings that have a value (sorted).
	SecretKeys []string `json:"secret_keys"`
	// SecretsUnreadable is true when the stored secrets cannot be opened
	// (the secret key changed): they must be entered again.
	SecretsUnreadable bool `json:"secrets_unreadable,omitempty"`
	// ConfigSchema is the installed version's settings (Get only).
	ConfigSchema []ConfigKey `json:"config_schema,omitempty"`
	// LatestVersion is the newest published version; UpdateAvailable is
	// true when it is newer than the installed one.
	LatestVersion   string    `json:"latest_version"`
	UpdateAvailable bool      `json:"update_available"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Status is "enabled" or "disabled".
func (in Install) Status() string {
	if in.Enabled {
		return "enabled"
	}
	return "disabled"
}

// Install installs a published version of an extension (the newest stable
// one when version is empty) for the actor's tenant: enabled, config set to
// the schema's defaults, providers set to the manifest's capabilities. A
// tenant has at most one install per extension.
func (s *Installs) Install(ctx context.Context, actor account.Actor, extensionRef, version string) (Install, error) {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return Install{}, err
	}
	version = strings.TrimSpace(version)
	var out Install
	err := db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		ext, err := findExtension(ctx, tx, extensionRef)
		if err != nil {
			return err
		}
		v, err := resolveVersion(ctx, tx, ext, version)
		if err != nil {
			return err
		}
		m, err := ParseManifest(v.Manifest)
		if err != nil {
			return fmt.Errorf("stored manifest of %s %s: %w", ext.Slug, v.Version, err)
		}
		if err := ensureEndpoints(ctx, tx, v, m); err != nil {
			return err
		}
		config := db.InstallConfig{}
		for _, k := range m.Keys() {
			if !k.Secret && k.Default != "" {
				config[k.Key] = k.Default
			}
		}
		row := db.Install{
			TenantID:    actor.TenantID,
			ID:          uuid.New(),
			ExtensionID: ext.ID,
			VersionID:   v.ID,
			Enabled:     true,
			Config:      config,
			Providers:   pq.StringArray(slices.Clone(m.Capabilities)),
		}
		if err := db.InsertInstall(ctx, tx, row); err != nil {
			if errors.Is(err, db.ErrAlreadyInstalled) {
				return fault.New(fault.Conflict, "%s is already installed in this tenant", ext.Slug)
			}
			return err
		}
		detail, err := db.FindInstall(ctx, tx, actor.TenantID, row.ID)
		if err != nil {
			return err
		}
		out, err = s.view(ctx, tx, detail, &m)
		if err != nil {
			return err
		}
		return audit(ctx, tx, actor, "install.create", row.ID, nil, auditState(out))
	})
	if err != nil {
		return Install{}, err
	}
	s.logger.InfoContext(ctx, "extension installed", "tenant_id", actor.TenantID,
		"install_id", out.InstallID, "extension", out.Slug, "version", out.Version)
	return out, nil
}

// Get returns the actor's tenant's install of an extension (by extension id
// or slug), with the installed version's config schema.
func (s *Installs) Get(ctx context.Context, actor account.Actor, extensionRef string) (Install, error) {
	if err := actor.Require(account.ExtensionRead); err != nil {
		return Install{}, err
	}
	detail, _, m, err := loadInstall(ctx, s.conn, actor.TenantID, extensionRef, false)
	if err != nil {
		return Install{}, err
	}
	return s.view(ctx, s.conn, detail, &m)
}

// List returns the actor's tenant's installs, by slug, each with its
// status, version and whether a newer version is published. ConfigSchema
// is left empty.
func (s *Installs) List(ctx context.Context, actor account.Actor) ([]Install, error) {
	if err := actor.Require(account.ExtensionRead); err != nil {
		return nil, err
	}
	rows, err := db.ListInstalls(ctx, s.conn, actor.TenantID)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return []Install{}, nil
	}
	extIDs := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		extIDs[i] = r.ExtensionID
	}
	refs, err := db.ListVersionRefs(ctx, s.conn, extIDs)
	if err != nil {
		return nil, err
	}
	byExt := map[uuid.UUID][]db.VersionRef{}
	for _, v := range refs {
		byExt[v.ExtensionID] = append(byExt[v.ExtensionID], v)
	}
	out := make([]Install, len(rows))
	for i, r := range rows {
		out[i] = s.baseView(r, byExt[r.ExtensionID])
	}
	return out, nil
}

// UpdateConfig replaces the install's non-secret settings with config.
// Every key must be declared by the installed version's config_schema and
// not be secret; required keys must have a value. Field errors are keyed
// "config.<key>". Values are trimmed.
func (s *Installs) UpdateConfig(ctx context.Context, actor account.Actor, extensionRef string, config map[string]string) (Install, error) {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return Install{}, err
	}
	var out Install
	err := db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		detail, _, m, err := loadInstall(ctx, tx, actor.TenantID, extensionRef, true)
		if err != nil {
			return err
		}
		next, err := validateConfig(m, config)
		if err != nil {
			return err
		}
		before := map[string]string(detail.Config)
		if maps.Equal(before, next) {
			out, err = s.view(ctx, tx, detail, &m)
			return err
		}
		if err := db.UpdateInstallConfig(ctx, tx, actor.TenantID, detail.ID, next); err != nil {
			return err
		}
		if detail, err = db.FindInstall(ctx, tx, actor.TenantID, detail.ID); err != nil {
			return err
		}
		if out, err = s.view(ctx, tx, detail, &m); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "install.config", detail.ID,
			map[string]any{"config": before}, map[string]any{"config": out.Config})
	})
	return out, err
}

func validateConfig(m Manifest, config map[string]string) (db.InstallConfig, error) {
	f := fault.Fields{}
	next := db.InstallConfig{}
	declared := make([]string, 0, len(m.Keys()))
	for _, k := range m.Keys() {
		if !k.Secret {
			declared = append(declared, k.Key)
		}
	}
	for key, value := range config {
		field := "config." + key
		k, ok := m.Key(key)
		switch {
		case !ok:
			if len(declared) == 0 {
				f.Add(field, "is not a setting of this extension (it declares none)")
			} else {
				f.Add(field, fmt.Sprintf("is not a setting of this extension (settings: %s)", strings.Join(declared, ", ")))
			}
			continue
		case k.Secret:
			f.Add(field, "is a secret; set it with the secrets form, it is never stored as plain config")
			continue
		}
		value = strings.TrimSpace(value)
		switch {
		case !utf8.ValidString(value) || strings.ContainsRune(value, 0):
			f.Add(field, "must be UTF-8 text without NUL characters")
		case utf8.RuneCountInString(value) > maxConfigValue:
			f.Add(field, fmt.Sprintf("must be at most %d characters", maxConfigValue))
		}
		next[key] = value
	}
	for _, k := range m.Keys() {
		if k.Required && !k.Secret && next[k.Key] == "" {
			f.Add("config."+k.Key, "is required")
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return next, nil
}

// SetSecrets sets secret settings. It merges: keys not given, or given with
// an empty value, keep their current value. Every key must be declared
// secret by the config_schema (field errors keyed "secrets.<key>"). Values
// are sealed at rest and never returned; the audit event lists only keys.
func (s *Installs) SetSecrets(ctx context.Context, actor account.Actor, extensionRef string, secrets map[string]string) (Install, error) {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return Install{}, err
	}
	var out Install
	err := db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		detail, _, m, err := loadInstall(ctx, tx, actor.TenantID, extensionRef, true)
		if err != nil {
			return err
		}
		f := fault.Fields{}
		for key, value := range secrets {
			field := "secrets." + key
			k, ok := m.Key(key)
			switch {
			case !ok:
				f.Add(field, "is not a setting of this extension")
			case !k.Secret:
				f.Add(field, "is not a secret; set it in the config form")
			case !utf8.ValidString(value):
				f.Add(field, "must be UTF-8 text")
			case len(value) > maxSecretValue:
				f.Add(field, fmt.Sprintf("must be at most %d bytes", maxSecretValue))
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		current, openErr := s.openSecrets(detail.Install)
		if openErr != nil {
			// Unreadable secrets are useless to the runner anyway; the
			// new values replace them.
			s.logger.WarnContext(ctx, "stored install secrets unreadable; replacing them",
				"tenant_id", actor.TenantID, "install_id", detail.ID, "error", openErr)
			current = map[string]string{}
		}
		next := maps.Clone(current)
		var changed []string
		for key, value := range secrets {
			if value == "" || current[key] == value {
				continue
			}
			next[key] = value
			changed = append(changed, key)
		}
		slices.Sort(changed)
		if len(changed) == 0 {
			out, err = s.view(ctx, tx, detail, &m)
			return err
		}
		sealed, err := s.sealSecrets(actor.TenantID, detail.ID, next)
		if err != nil {
			return err
		}
		if err := db.UpdateInstallSecrets(ctx, tx, actor.TenantID, detail.ID, sealed); err != nil {
			return err
		}
		if detail, err = db.FindInstall(ctx, tx, actor.TenantID, detail.ID); err != nil {
			return err
		}
		if out, err = s.view(ctx, tx, detail, &m); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "install.secrets", detail.ID,
			map[string]any{"secret_keys": sortedKeys(current)},
			map[string]any{"secret_keys": out.SecretKeys, "changed": changed})
	})
	return out, err
}

// Enable enables the install (its schedules fire again from their next
// fire time).
func (s *Installs) Enable(ctx context.Context, actor account.Actor, extensionRef string) (Install, error) {
	return s.setEnabled(ctx, actor, extensionRef, true)
}

// Disable disables the install (its schedules stop firing, keeping their
// own enabled flag).
func (s *Installs) Disable(ctx context.Context, actor account.Actor, extensionRef string) (Install, error) {
	return s.setEnabled(ctx, actor, extensionRef, false)
}

func (s *Installs) setEnabled(ctx context.Context, actor account.Actor, extensionRef string, enabled bool) (Install, error) {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return Install{}, err
	}
	var out Install
	err := db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		detail, _, m, err := loadInstall(ctx, tx, actor.TenantID, extensionRef, true)
		if err != nil {
			return err
		}
		if detail.Enabled == enabled {
			out, err = s.view(ctx, tx, detail, &m)
			return err
		}
		if err := db.SetInstallEnabled(ctx, tx, actor.TenantID, detail.ID, enabled); err != nil {
			return err
		}
		if s.hooks != nil {
			if err := s.hooks.InstallToggled(ctx, tx, actor.TenantID, detail.ID, enabled); err != nil {
				return err
			}
		}
		if detail, err = db.FindInstall(ctx, tx, actor.TenantID, detail.ID); err != nil {
			return err
		}
		if out, err = s.view(ctx, tx, detail, &m); err != nil {
			return err
		}
		action := "install.disable"
		if enabled {
			action = "install.enable"
		}
		return audit(ctx, tx, actor, action, detail.ID,
			map[string]any{"enabled": !enabled}, map[string]any{"enabled": enabled})
	})
	return out, err
}

// Uninstall removes the install with its run history, timers and schedules
// in one transaction; registry rows stay. It returns what was removed.
func (s *Installs) Uninstall(ctx context.Context, actor account.Actor, extensionRef string) (db.UninstallCounts, error) {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return db.UninstallCounts{}, err
	}
	var counts db.UninstallCounts
	var installID uuid.UUID
	err := db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		detail, _, m, err := loadInstall(ctx, tx, actor.TenantID, extensionRef, true)
		if err != nil {
			return err
		}
		before, err := s.view(ctx, tx, detail, &m)
		if err != nil {
			return err
		}
		installID = detail.ID
		if counts, err = db.DeleteInstall(ctx, tx, actor.TenantID, detail.ID); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "install.uninstall", detail.ID, auditState(before),
			map[string]any{"deleted": counts})
	})
	if err != nil {
		return db.UninstallCounts{}, err
	}
	s.logger.InfoContext(ctx, "extension uninstalled", "tenant_id", actor.TenantID, "install_id", installID,
		"schedules", counts.Schedules, "runs", counts.Runs, "timers", counts.Timers)
	return counts, nil
}

// DecryptSecrets opens an install's secrets for the runner envelope. It
// has no actor: only the scheduler calls it, for its own tenant's run.
func (s *Installs) DecryptSecrets(ctx context.Context, tenantID, installID uuid.UUID) (map[string]string, error) {
	ct, err := db.FindInstallSecrets(ctx, s.conn, tenantID, installID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, fault.NotFoundf("install")
	}
	if err != nil {
		return nil, err
	}
	return s.openSecrets(db.Install{TenantID: tenantID, ID: installID, SecretsCiphertext: ct})
}

// CheckSecrets reports whether an install's sealed secrets, as read with
// the run about to call the runner, open with this process's key. It
// reads nothing: the scheduler passes the ciphertext it already has.
func (s *Installs) CheckSecrets(tenantID, installID uuid.UUID, ciphertext []byte) error {
	_, err := s.openSecrets(db.Install{TenantID: tenantID, ID: installID, SecretsCiphertext: ciphertext})
	return err
}

func (s *Installs) openSecrets(in db.Install) (map[string]string, error) {
	out := map[string]string{}
	if len(in.SecretsCiphertext) == 0 {
		return out, nil
	}
	plain, err := s.sealer.Open(in.SecretsCiphertext, secretsAD(in.TenantID, in.ID))
	if err != nil {
		return nil, fmt.Errorf("open secrets of install %s: %w", in.ID, err)
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, fmt.Errorf("open secrets of install %s: %w", in.ID, err)
	}
	return out, nil
}

func (s *Installs) sealSecrets(tenantID, installID uuid.UUID, secrets map[string]string) ([]byte, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	return s.sealer.Seal(plain, secretsAD(tenantID, installID))
}

// secretsAD binds sealed secrets to their install: a ciphertext copied to
// another install or tenant does not open.
func secretsAD(tenantID, installID uuid.UUID) []byte {
	return []byte("install-secrets:" + tenantID.String() + ":" + installID.String())
}

// view builds the Install shown to users: base fields, update
// availability, secret keys and, with a manifest, the config schema.
func (s *Installs) view(ctx context.Context, q db.Queryer, d db.InstallDetail, m *Manifest) (Install, error) {
	refs, err := db.ListVersionRefs(ctx, q, []uuid.UUID{d.ExtensionID})
	if err != nil {
		return Install{}, err
	}
	out := s.baseView(d, refs)
	secrets, err := s.openSecrets(d.Install)
	if err != nil {
		out.SecretsUnreadable = true
	} else {
		out.SecretKeys = sortedKeys(secrets)
	}
	if m != nil {
		out.ConfigSchema = m.Keys()
	}
	return out, nil
}

func (s *Installs) baseView(d db.InstallDetail, refs []db.VersionRef) Install {
	out := Install{
		InstallID:   d.ID,
		ExtensionID: d.ExtensionID,
		Slug:        d.Slug,
		DisplayName: d.DisplayName,
		Description: d.Description,
		VersionID:   d.VersionID,
		Version:     d.Version,
		ContentHash: d.ContentHash,
		Enabled:     d.Enabled,
		Config:      map[string]string(d.Config),
		Providers:   []string(d.Providers),
		SecretKeys:  []string{},
		CreatedAt:   d.CreatedAt,
		UpdatedAt:   d.UpdatedAt,
	}
	if out.Config == nil {
		out.Config = map[string]string{}
	}
	if out.Providers == nil {
		out.Providers = []string{}
	}
	if latest, ok := latestVersion(refs); ok {
		out.LatestVersion = latest.Version
		out.UpdateAvailable = compareVersions(latest.Version, d.Version) > 0
	}
	return out
}

// loadInstall resolves an extension reference to the tenant's install,
// its version and the version's manifest.
func loadInstall(ctx context.Context, q db.Queryer, tenantID uuid.UUID, extensionRef string, forUpdate bool) (db.InstallDetail, db.Version, Manifest, error) {
	ext, err := findExtension(ctx, q, extensionRef)
	if err != nil {
		return db.InstallDetail{}, db.Version{}, Manifest{}, err
	}
	detail, err := db.FindInstallByExtension(ctx, q, tenantID, ext.ID, forUpdate)
	if errors.Is(err, db.ErrNotFound) {
		return db.InstallDetail{}, db.Version{}, Manifest{}, fault.New(fault.NotFound, "%s is not installed", ext.Slug)
	}
	if err != nil {
		return db.InstallDetail{}, db.Version{}, Manifest{}, err
	}
	v, err := db.FindVersion(ctx, q, detail.VersionID)
	if err != nil {
		return db.InstallDetail{}, db.Version{}, Manifest{}, fmt.Errorf("load installed version %s: %w", detail.VersionID, err)
	}
	m, err := ParseManifest(v.Manifest)
	if err != nil {
		return db.InstallDetail{}, db.Version{}, Manifest{}, fmt.Errorf("stored manifest of version %s: %w", v.ID, err)
	}
	return detail, v, m, nil
}

func findExtension(ctx context.Context, q db.Queryer, ref string) (db.Extension, error) {
	ext, err := db.FindExtensionBySlugOrID(ctx, q, strings.TrimSpace(ref))
	if errors.Is(err, db.ErrNotFound) {
		return db.Extension{}, fault.NotFoundf("extension")
	}
	return ext, err
}

// resolveVersion finds the version to install: the given one, or the
// newest stable one.
func resolveVersion(ctx context.Context, q db.Queryer, ext db.Extension, version string) (db.Version, error) {
	if version == "" {
		refs, err := db.ListVersionRefs(ctx, q, []uuid.UUID{ext.ID})
		if err != nil {
			return db.Version{}, err
		}
		latest, ok := latestVersion(refs)
		if !ok {
			f := fault.Fields{}
			f.Add("version", fmt.Sprintf("no version of %s is published", ext.Slug))
			return db.Version{}, f.Err()
		}
		version = latest.Version
	}
	v, err := db.FindVersionByNumber(ctx, q, ext.ID, version)
	if errors.Is(err, db.ErrNotFound) {
		f := fault.Fields{}
		f.Add("version", fmt.Sprintf("version %s of %s is not published", clip(version), ext.Slug))
		return db.Version{}, f.Err()
	}
	return v, err
}

// ensureEndpoints materializes a version's endpoints when none are stored
// (a version published before materialization existed), so schedules can
// be created right after installing it.
func ensureEndpoints(ctx context.Context, q db.Queryer, v db.Version, m Manifest) error {
	rows, err := db.ListEndpoints(ctx, q, v.ID)
	if err != nil || len(rows) > 0 || len(m.API.Endpoints) == 0 {
		return err
	}
	eps, _ := MaterializeEndpoints(v.ID, m.API.Endpoints)
	dbEps := make([]db.Endpoint, len(eps))
	for i, e := range eps {
		dbEps[i] = db.Endpoint{ID: e.ID, VersionID: v.ID, Method: e.Method, Path: e.Path, Handler: e.Handler}
	}
	return db.MaterializeEndpoints(ctx, q, v.ID, dbEps)
}

func audit(ctx context.Context, q db.Queryer, actor account.Actor, action string, installID uuid.UUID, before, after any) error {
	var actorID *uuid.UUID
	if actor.UserID != uuid.Nil {
		id := actor.UserID
		actorID = &id
	}
	return db.InsertAudit(ctx, q, db.Audit{
		TenantID:   actor.TenantID,
		ActorID:    actorID,
		Actor:      actor.Label(),
		Action:     action,
		TargetType: "install",
		TargetID:   installID.String(),
		Before:     before,
		After:      after,
	})
}

// auditState is what the audit log keeps of an install: never secret
// values, only which secrets are set.
func auditState(in Install) map[string]any {
	return map[string]any{
		"extension":   in.Slug,
		"version":     in.Version,
		"version_id":  in.VersionID,
		"enabled":     in.Enabled,
		"config":      in.Config,
		"providers":   in.Providers,
		"secret_keys": in.SecretKeys,
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
