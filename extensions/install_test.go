package extensions_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"

	"extcron/account"
	"extcron/db"
	"extcron/extensions"
	"extcron/fault"
)

type installSetup struct {
	registrySetup
	installs *extensions.Installs
	sealer   *extensions.Sealer
	v1, v2   extensions.PublishResult
	admin    account.Actor
	viewer   account.Actor
}

func setupInstalls(t *testing.T) installSetup {
	t.Helper()
	s := installSetup{registrySetup: setupRegistry(t)}
	var err error
	s.sealer, err = extensions.SealerFromSecret("test secret")
	if err != nil {
		t.Fatal(err)
	}
	s.installs = extensions.NewInstalls(s.conn, s.sealer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.v1 = s.publish(t, validManifest(), "module v1")
	s.v2 = s.publish(t, manifestWith("1.1.0"), "module v2")
	tenantID := s.newTenant(t, "acme")
	s.admin = s.newActor(t, tenantID, account.RoleAdmin)
	s.viewer = s.newActor(t, tenantID, account.RoleViewer)
	return s
}

// newTenant inserts a tenant row.
func (s installSetup) newTenant(t *testing.T, name string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	if _, err := s.conn.ExecContext(s.ctx, `INSERT INTO tenant (id, name) VALUES ($1, $2)`, id, name+"-"+id.String()[:8]); err != nil {
		t.Fatal(err)
	}
	return id
}

// newActor inserts a user of the tenant with role and returns its actor.
func (s installSetup) newActor(t *testing.T, tenantID uuid.UUID, role string) account.Actor {
	t.Helper()
	a := account.Actor{TenantID: tenantID, UserID: uuid.New(), Role: role}
	a.Email = role + "-" + a.UserID.String()[:8] + "@example.com"
	_, err := s.conn.ExecContext(s.ctx, `
		INSERT INTO app_user (tenant_id, id, email, password_hash, role)
		VALUES ($1, $2, $3, 'x', $4)`, a.TenantID, a.UserID, a.Email, role)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (s installSetup) auditActions(t *testing.T, tenantID uuid.UUID) []string {
	t.Helper()
	// Selected here rather than with db.ListAudit, which cannot scan a
	// NULL before/after into json.RawMessage.
	var out []string
	err := s.conn.SelectContext(s.ctx, &out, `
		SELECT action FROM audit_event WHERE tenant_id = $1 ORDER BY created_at, action`, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInstallListGet(t *testing.T) {
	t.Parallel()
	s := setupInstalls(t)
	in, err := s.installs.Install(s.ctx, s.admin, "acme.crm-sync", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if !in.Enabled || in.Version != "1.0.0" || in.VersionID != s.v1.Version.ID {
		t.Errorf("install = %+v", in)
	}
	if in.Config["region"] != "eu" || len(in.Config) != 1 {
		t.Errorf("config = %v, want the defaults {region: eu}", in.Config)
	}
	if strings.Join(in.Providers, ",") != "cap:log.emit,cap:http.fetch" {
		t.Errorf("providers = %v, want the manifest capabilities", in.Providers)
	}
	if !in.UpdateAvailable || in.LatestVersion != "1.1.0" {
		t.Errorf("update available = %v (latest %s), want true (1.1.0)", in.UpdateAvailable, in.LatestVersion)
	}

	_, err = s.installs.Install(s.ctx, s.admin, s.v1.Extension.ID.String(), "1.1.0")
	if !fault.Is(err, fault.Conflict) {
		t.Errorf("second install: %v, want conflict", err)
	}

	list, err := s.installs.List(s.ctx, s.viewer)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].InstallID != in.InstallID || !list[0].UpdateAvailable || list[0].Status() != "enabled" {
		t.Errorf("list = %+v", list)
	}
	got, err := s.installs.Get(s.ctx, s.viewer, s.v1.Extension.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if got.InstallID != in.InstallID || len(got.ConfigSchema) != 3 {
		t.Errorf("get = %+v", got)
	}
}

func TestInstallErrors(t *testing.T) {
	t.Parallel()
	s := setupInstalls(t)
	if _, err := s.installs.Install(s.ctx, s.admin, "acme.nope", ""); !fault.Is(err, fault.NotFound) {
		t.Errorf("unknown extension: %v, want not found", err)
	}
	_, err := s.installs.Install(s.ctx, s.admin, "acme.crm-sync", "9.9.9")
	if fe, ok := fault.As(err); !ok || fe.Fields["version"] == "" {
		t.Errorf("unknown version: %v, want a version field error", err)
	}
	if _, err := s.installs.Get(s.ctx, s.admin, "acme.crm-sync"); !fault.Is(err, fault.NotFound) {
		t.Errorf("get before install: %v, want not found", err)
	}
	// Empty version installs the newest stable one.
	in, err := s.installs.Install(s.ctx, s.admin, "acme.crm-sync", "")
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != "1.1.0" || in.UpdateAvailable {
		t.Errorf("default version %s (update available %v), want 1.1.0 and none", in.Version, in.UpdateAvailable)
	}
}

func TestInstallConfig(t *testing.T) {
	t.Parallel()
	s := setupInstalls(t)
	if _, err := s.installs.Install(s.ctx, s.admin, "acme.crm-sync", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	_, err := s.installs.UpdateConfig(s.ctx, s.admin, "acme.crm-sync", map[string]string{
		"region": "us", "bogus": "x", "api_token": "t",
	})
	fe, ok := fault.As(err)
	if !ok || fe.Fields["config.bogus"] == "" || fe.Fields["config.api_token"] == "" || fe.Fields["config.account"] == "" {
		t.Fatalf("err = %v, want errors on config.bogus, config.api_token and the required config.account", err)
	}
	in, err := s.installs.UpdateConfig(s.ctx, s.admin, "acme.crm-sync", map[string]string{"region": " us ", "account": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if in.Config["region"] != "us" || in.Config["account"] != "acme" {
		t.Errorf("config = %v", in.Config)
	}
	got, err := s.installs.Get(s.ctx, s.admin, "acme.crm-sync")
	if err != nil {
		t.Fatal(err)
	}
	if got.Config["region"] != "us" {
		t.Errorf("stored config = %v", got.Config)
	}
}

func TestInstallSecrets(t *testing.T) {
	t.Parallel()
	s := setupInstalls(t)
	in, err := s.installs.Install(s.ctx, s.admin, "acme.crm-sync", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	const plaintext = "super-secret-token-123"
	_, err = s.installs.SetSecrets(s.ctx, s.admin, "acme.crm-sync", map[string]string{"region": "x"})
	if fe, ok := fault.As(err); !ok || fe.Fields["secrets.region"] == "" {
		t.Errorf("non-secret key: %v, want a secrets.region field error", err)
	}
	got, err := s.installs.SetSecrets(s.ctx, s.admin, "acme.crm-sync", map[string]string{"api_token": plaintext})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.SecretKeys, ",") != "api_token" {
		t.Errorf("secret keys = %v, want [api_token]", got.SecretKeys)
	}
	blob, _ := json.Marshal(got)
	if bytes.Contains(blob, []byte(plaintext)) {
		t.Error("the install view contains the secret value")
	}

	var stored []byte
	if err := s.conn.GetContext(s.ctx, &stored, `SELECT secrets_ciphertext FROM tenant_extension_install WHERE tenant_id = $1 AND id = $2`,
		s.admin.TenantID, in.InstallID); err != nil {
		t.Fatal(err)
	}
	if len(stored) == 0 || bytes.Contains(stored, []byte(plaintext)) {
		t.Errorf("stored secrets are empty or contain the plaintext")
	}

	// An empty value keeps the old one.
	if _, err := s.installs.SetSecrets(s.ctx, s.admin, "acme.crm-sync", map[string]string{"api_token": ""}); err != nil {
		t.Fatal(err)
	}
	secrets, err := s.installs.DecryptSecrets(s.ctx, s.admin.TenantID, in.InstallID)
	if err != nil {
		t.Fatal(err)
	}
	if secrets["api_token"] != plaintext {
		t.Errorf("decrypted secrets = %v", secrets)
	}

	// Another install's (or tenant's) ids do not open the blob.
	if _, err := s.installs.DecryptSecrets(s.ctx, s.admin.TenantID, uuid.New()); !fault.Is(err, fault.NotFound) {
		t.Errorf("decrypt unknown install: %v, want not found", err)
	}

	var after []byte
	err = s.conn.GetContext(s.ctx, &after, `
		SELECT after FROM audit_event WHERE tenant_id = $1 AND action = 'install.secrets'`, s.admin.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(after, []byte(plaintext)) || !bytes.Contains(after, []byte("api_token")) {
		t.Errorf("audit detail %s: want the key, never the value", after)
	}
}

func TestSealer(t *testing.T) {
	t.Parallel()
	if _, err := extensions.NewSealer([]byte("short")); err == nil {
		t.Error("NewSealer accepted a short key")
	}
	a, _ := extensions.SealerFromSecret("one")
	b, _ := extensions.SealerFromSecret("two")
	sealed, err := a.Seal([]byte("hello"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := a.Open(sealed, []byte("ad")); err != nil || string(plain) != "hello" {
		t.Errorf("Open = %q, %v", plain, err)
	}
	if _, err := a.Open(sealed, []byte("other")); err == nil {
		t.Error("opened with other associated data")
	}
	if _, err := b.Open(sealed, []byte("ad")); err == nil {
		t.Error("opened with another key")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := a.Open(sealed, []byte("ad")); err == nil {
		t.Error("opened tampered bytes")
	}
}

func TestInstallEnableDisableUninstall(t *testing.T) {
	t.Parallel()
	s := setupInstalls(t)
	in, err := s.installs.Install(s.ctx, s.admin, "acme.crm-sync", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	off, err := s.installs.Disable(s.ctx, s.admin, "acme.crm-sync")
	if err != nil || off.Enabled {
		t.Fatalf("disable = %+v, %v", off, err)
	}
	if _, err := s.installs.Disable(s.ctx, s.admin, "acme.crm-sync"); err != nil { // no-op, no audit
		t.Fatal(err)
	}
	on, err := s.installs.Enable(s.ctx, s.admin, "acme.crm-sync")
	if err != nil || !on.Enabled {
		t.Fatalf("enable = %+v, %v", on, err)
	}

	// A schedule with a run and a timer goes away with the install.
	scheduleID := uuid.New()
	_, err = s.conn.ExecContext(s.ctx, `
		INSERT INTO tenant_extension_schedule (tenant_id, id, install_id, endpoint_id, cron, timezone)
		VALUES ($1, $2, $3, $4, '0 * * * *', 'UTC')`, s.admin.TenantID, scheduleID, in.InstallID, s.v1.Endpoints[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.conn.ExecContext(s.ctx, `
		INSERT INTO tenant_extension_schedule_run (tenant_id, id, schedule_id, install_id, trigger, scheduled_for, invocation_id, status)
		VALUES ($1, $2, $3, $4, 'schedule', now(), $5, 'success')`, s.admin.TenantID, uuid.New(), scheduleID, in.InstallID, uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.conn.ExecContext(s.ctx, `
		INSERT INTO scheduler_timer (tenant_id, key, schedule_id) VALUES ($1, $2, $3)`,
		s.admin.TenantID, "extsched:"+in.InstallID.String()+":"+scheduleID.String(), scheduleID)
	if err != nil {
		t.Fatal(err)
	}

	// The version is in use: deleting it is refused.
	if err := s.reg.DeleteVersion(s.ctx, s.v1.Version.ID); !fault.Is(err, fault.Conflict) {
		t.Errorf("delete installed version: %v, want conflict", err)
	}

	counts, err := s.installs.Uninstall(s.ctx, s.admin, "acme.crm-sync")
	if err != nil {
		t.Fatal(err)
	}
	if counts != (db.UninstallCounts{Runs: 1, Timers: 1, Schedules: 1}) {
		t.Errorf("uninstall removed %+v, want one of each", counts)
	}
	if _, err := s.installs.Get(s.ctx, s.admin, "acme.crm-sync"); !fault.Is(err, fault.NotFound) {
		t.Errorf("get after uninstall: %v, want not found", err)
	}
	if err := s.reg.DeleteVersion(s.ctx, s.v1.Version.ID); err != nil {
		t.Errorf("delete version after uninstall: %v", err)
	}

	want := []string{"install.create", "install.disable", "install.enable", "install.uninstall"}
	if got := s.auditActions(t, s.admin.TenantID); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit actions = %v, want %v", got, want)
	}
}

func TestInstallPermissionsAndTenants(t *testing.T) {
	t.Parallel()
	s := setupInstalls(t)
	if _, err := s.installs.Install(s.ctx, s.viewer, "acme.crm-sync", ""); !fault.Is(err, fault.Forbidden) {
		t.Errorf("viewer install: %v, want forbidden", err)
	}
	if _, err := s.installs.Install(s.ctx, s.admin, "acme.crm-sync", ""); err != nil {
		t.Fatal(err)
	}
	mutations := map[string]func(a account.Actor) error{
		"config": func(a account.Actor) error {
			_, err := s.installs.UpdateConfig(s.ctx, a, "acme.crm-sync", map[string]string{"region": "us", "account": "x"})
			return err
		},
		"secrets": func(a account.Actor) error {
			_, err := s.installs.SetSecrets(s.ctx, a, "acme.crm-sync", map[string]string{"api_token": "x"})
			return err
		},
		"disable": func(a account.Actor) error { _, err := s.installs.Disable(s.ctx, a, "acme.crm-sync"); return err },
		"enable":  func(a account.Actor) error { _, err := s.installs.Enable(s.ctx, a, "acme.crm-sync"); return err },
		"uninstall": func(a account.Actor) error {
			_, err := s.installs.Uninstall(s.ctx, a, "acme.crm-sync")
			return err
		},
	}
	other := s.newActor(t, s.newTenant(t, "other"), account.RoleAdmin)
	for name, mutate := range mutations {
		if err := mutate(s.viewer); !fault.Is(err, fault.Forbidden) {
			t.Errorf("viewer %s: %v, want forbidden", name, err)
		}
		if err := mutate(other); !fault.Is(err, fault.NotFound) {
			t.Errorf("other tenant %s: %v, want not found", name, err)
		}
	}
	if _, err := s.installs.Get(s.ctx, other, "acme.crm-sync"); !fault.Is(err, fault.NotFound) {
		t.Errorf("other tenant get: %v, want not found", err)
	}
	if list, err := s.installs.List(s.ctx, other); err != nil || len(list) != 0 {
		t.Errorf("other tenant list = %v, %v; want empty", list, err)
	}
	// Still intact for its own tenant.
	if in, err := s.installs.Get(s.ctx, s.viewer, "acme.crm-sync"); err != nil || !in.Enabled {
		t.Errorf("own install after refused mutations = %+v, %v", in, err)
	}
}
