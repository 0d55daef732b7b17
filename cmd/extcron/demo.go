package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"extcron/account"
	"extcron/db"
	"extcron/fault"
	"extcron/schedule"
)

// The demo tenant and its logins, printed by serve.
const (
	demoTenant        = "Demo"
	demoAdminEmail    = "admin@demo.test"
	demoAdminPassword = "demo-admin"
	demoViewerEmail   = "viewer@demo.test"
	demoViewerPass    = "demo-viewer"
)

func init() {
	commands["demo"] = command{
		args: "[--bundles DIR]",
		help: "Publish the sample extension bundles and seed the Demo tenant with an admin, a viewer, installs and schedules. Safe to run twice.",
		flags: func(fs *flag.FlagSet) any {
			dir := new(string)
			fs.StringVar(dir, "bundles", bundlesDir(), "directory of sample bundles (built by make samples)")
			return dir
		},
		run: func(ctx context.Context, e env, opts any) error {
			dir := opts.(*string)
			return withServices(ctx, e, func(ctx context.Context, s *services) error {
				if err := seedDemo(ctx, e, s, *dir); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "demo ready: %s / %s (admin), %s / %s (viewer)\n", demoAdminEmail, demoAdminPassword, demoViewerEmail, demoViewerPass)
				return nil
			})
		},
	}
}

// bundlesDir is where make samples puts the sample bundles.
func bundlesDir() string {
	if d := os.Getenv("EXTCRON_BUNDLES"); d != "" {
		return d
	}
	return filepath.Join("build", "bundles")
}

// seedDemo publishes every bundle under dir and seeds the demo tenant. It
// skips what exists, so it can run on every start.
func seedDemo(ctx context.Context, e env, s *services, dir string) error {
	bundles, _ := filepath.Glob(filepath.Join(dir, "*", "manifest.json"))
	bundles2, _ := filepath.Glob(filepath.Join(dir, "*", "*", "manifest.json"))
	bundles = append(bundles, bundles2...)
	sort.Strings(bundles)
	if len(bundles) == 0 {
		e.logger.Warn("no sample bundles found; run make samples to build them", "dir", dir)
	}
	for _, m := range bundles {
		res, err := s.registry.PublishPath(ctx, filepath.Dir(m))
		if err != nil {
			return fmt.Errorf("publish %s: %w", filepath.Dir(m), err)
		}
		e.logger.Info("published sample", "slug", res.Extension.Slug, "version", res.Version.Version)
	}

	tenant, err := db.FindTenantByName(ctx, s.accounts.DB(), demoTenant)
	if errors.Is(err, db.ErrNotFound) {
		tenant, err = s.accounts.CreateTenant(ctx, demoTenant, "Europe/Berlin")
	}
	if err != nil {
		return err
	}
	admin, err := ensureUser(ctx, s, account.NewUser{Tenant: tenant.ID.String(), Email: demoAdminEmail, Password: demoAdminPassword, Name: "Demo Admin", Role: account.RoleAdmin, Operator: true})
	if err != nil {
		return err
	}
	if _, err := ensureUser(ctx, s, account.NewUser{Tenant: tenant.ID.String(), Email: demoViewerEmail, Password: demoViewerPass, Name: "Demo Viewer", Role: account.RoleViewer}); err != nil {
		return err
	}
	actor := account.Actor{TenantID: tenant.ID, UserID: admin.ID, Email: admin.Email, Role: admin.Role, Operator: admin.IsOperator}

	installs := []struct{ slug, version string }{
		{"acme.crm-sync", "1.0.0"}, {"acme.flaky", ""}, {"acme.slowpoke", ""}, {"acme.webhooks-only", ""},
	}
	for _, in := range installs {
		if _, err := s.installs.Get(ctx, actor, in.slug); err == nil {
			continue
		}
		if _, err := s.installs.Install(ctx, actor, in.slug, in.version); err != nil {
			if fault.Is(err, fault.NotFound) {
				continue // bundle not built
			}
			return fmt.Errorf("install %s: %w", in.slug, err)
		}
	}
	if _, err := s.installs.UpdateConfig(ctx, actor, "acme.crm-sync", map[string]string{"region": "eu", "account": "demo-co"}); err != nil && !fault.Is(err, fault.NotFound) {
		return fmt.Errorf("configure crm-sync: %w", err)
	}
	return seedDemoSchedules(ctx, s, actor)
}

func seedDemoSchedules(ctx context.Context, s *services, actor account.Actor) error {
	existing, err := s.schedules.List(ctx, actor, "acme.crm-sync")
	if err != nil || len(existing) > 0 {
		return nil // not installed, or already seeded
	}
	in, err := s.installs.Get(ctx, actor, "acme.crm-sync")
	if err != nil {
		return err
	}
	eps, err := s.registry.Endpoints(ctx, in.VersionID)
	if err != nil {
		return err
	}
	byRoute := map[string]string{}
	for _, ep := range eps {
		byRoute[ep.Method+" "+ep.Path] = ep.ID.String()
	}
	str := func(v string) *string { return &v }
	seeds := []schedule.Input{
		{Name: str("Hourly contact sync"), EndpointID: str(byRoute["POST /sync/contacts"]), Cron: str("0 * * * *"),
			Timezone: str("Europe/Berlin"), PayloadJSON: json.RawMessage(`{"full": false}`)},
		{Name: str("Cache refresh"), EndpointID: str(byRoute["GET /cache/refresh"]), Cron: str("*/15 * * * *"), Timezone: str("UTC")},
		{Name: str("Weekday reminders"), EndpointID: str(byRoute["POST /reminders/send"]), Cron: str("0 9 * * 1-5"),
			Timezone: str("America/New_York"), PayloadJSON: json.RawMessage(`{"channel": "email"}`)},
	}
	for _, seed := range seeds {
		if seed.EndpointID == nil || *seed.EndpointID == "" {
			continue
		}
		if _, err := s.schedules.Create(ctx, actor, "acme.crm-sync", seed, ""); err != nil {
			return fmt.Errorf("demo schedule %s: %w", *seed.Name, err)
		}
	}
	return nil
}

func ensureUser(ctx context.Context, s *services, u account.NewUser) (db.User, error) {
	created, err := s.accounts.CreateUser(ctx, u)
	if fault.Is(err, fault.Conflict) {
		return s.accounts.FindUserByEmail(ctx, u.Email)
	}
	return created, err
}

// printDemoLogins tells a newcomer how to sign in, when the demo tenant
// exists.
func printDemoLogins(ctx context.Context, e env, d *database) {
	if _, err := db.FindTenantByName(ctx, d.conn, demoTenant); err != nil {
		return
	}
	fmt.Fprintf(e.stdout, "demo logins: %s / %s (admin, operator) · %s / %s (viewer)\n",
		demoAdminEmail, demoAdminPassword, demoViewerEmail, demoViewerPass)
}
