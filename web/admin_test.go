package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"extcron/account"
	"extcron/db/dbtest"
	"extcron/db/dbtest/fixture"
	"extcron/scheduler"
	"extcron/web/webtest"
)

// adminEnv is two tenants with the same extension installed and a
// schedule each, plus an operator in a third tenant.
type adminEnv struct {
	app      *webtest.App
	a, b     webtest.User // tenant admins
	viewer   webtest.User // viewer of tenant A
	op       webtest.User // operator (a viewer of its own tenant: roles do not matter)
	ext      fixture.Published
	aName    string
	bName    string
	aInstall string
	bInstall string
	aSched   string
	bSched   string
}

func adminSetup(t *testing.T) *adminEnv {
	t.Helper()
	d := dbtest.New(t)
	app := webtest.Start(t, d, nil)
	e := &adminEnv{app: app, aName: "Acme Tenant", bName: "Bravo Tenant"}
	e.a = app.NewTenantUser(t, e.aName, account.RoleAdmin)
	e.viewer = app.NewUser(t, e.a.TenantID, account.RoleViewer)
	e.b = app.NewTenantUser(t, e.bName, account.RoleAdmin)
	e.op = newOperator(t, app, "Ops Tenant")
	e.ext = fixture.Publish(t, d.DB, "jobs", "1.0.0", fixture.DefaultEndpoints, nil)
	for _, u := range []webtest.User{e.a, e.b} {
		if status, body := app.API(t, u.Token, "POST", "/extensions/"+e.ext.Slug+"/install", `{"version":"1.0.0"}`); status != 201 {
			t.Fatalf("install: %d %s", status, body)
		}
	}
	e.aInstall = e.installID(t, e.a)
	e.bInstall = e.installID(t, e.b)
	e.aSched = e.createSchedule(t, e.a, "acme-sync", "0 9 * * *")
	e.bSched = e.createSchedule(t, e.b, "bravo-sync", "0 9 * * *")
	return e
}

func newOperator(t *testing.T, app *webtest.App, tenant string) webtest.User {
	t.Helper()
	ctx := context.Background()
	tn, err := app.Accounts.CreateTenant(ctx, tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	email := "op-" + uuid.NewString()[:8] + "@test.example"
	if _, err := app.Accounts.CreateUser(ctx, account.NewUser{Tenant: tn.ID.String(), Email: email, Password: "password-123",
		Role: account.RoleViewer, Operator: true}); err != nil {
		t.Fatal(err)
	}
	token, err := app.Accounts.CreateToken(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	return webtest.User{TenantID: tn.ID.String(), Email: email, Password: "password-123", Token: token}
}

func (e *adminEnv) installID(t *testing.T, u webtest.User) string {
	t.Helper()
	status, body := e.app.API(t, u.Token, "GET", "/extensions/"+e.ext.Slug, "")
	if status != 200 {
		t.Fatalf("get install: %d %s", status, body)
	}
	id, _ := decode(t, body)["install_id"].(string)
	if id == "" {
		t.Fatalf("no install_id in %s", body)
	}
	return id
}

func (e *adminEnv) createSchedule(t *testing.T, u webtest.User, name, cron string) string {
	t.Helper()
	body := fmt.Sprintf(`{"endpoint_id":%q,"name":%q,"cron":%q,"timezone":"Europe/Paris"}`, e.ext.Endpoints["POST /sync"], name, cron)
	status, res := e.app.API(t, u.Token, "POST", "/extensions/"+e.ext.Slug+"/schedules", body)
	if status != 201 {
		t.Fatalf("create schedule: %d %s", status, res)
	}
	return decode(t, res)["id"].(string)
}

func (e *adminEnv) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.app.DB.DB.Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

type timerRow struct {
	Paused     bool       `db:"paused"`
	NextFireAt *time.Time `db:"next_fire_at"`
	NextRunAt  *time.Time `db:"next_run_at"`
}

func (e *adminEnv) timer(t *testing.T, scheduleID string) timerRow {
	t.Helper()
	var r timerRow
	err := e.app.DB.DB.Get(&r, `
		SELECT tm.paused, tm.next_fire_at, s.next_run_at
		FROM scheduler_timer tm JOIN tenant_extension_schedule s ON s.tenant_id = tm.tenant_id AND s.id = tm.schedule_id
		WHERE tm.schedule_id = $1`, scheduleID)
	if err != nil {
		t.Fatalf("timer of %s: %v", scheduleID, err)
	}
	return r
}

func (e *adminEnv) suspended(t *testing.T, tenantID string) bool {
	t.Helper()
	var s bool
	if err := e.app.DB.DB.Get(&s, `SELECT schedules_suspended FROM tenant WHERE id = $1`, tenantID); err != nil {
		t.Fatal(err)
	}
	return s
}

// adminAPIRoutes are every operator API route, with a body where needed.
func (e *adminEnv) adminAPIRoutes() [][2]string {
	return [][2]string{
		{"GET", "/admin/tenants"},
		{"GET", "/admin/schedules"},
		{"GET", "/admin/schedules?tenant=" + url.QueryEscape(e.bName)},
		{"DELETE", "/admin/schedules/" + e.bSched},
		{"POST", "/admin/tenants/" + e.b.TenantID + "/suspend"},
		{"POST", "/admin/tenants/" + url.PathEscape(e.aName) + "/suspend"},
		{"POST", "/admin/tenants/" + e.b.TenantID + "/resume"},
		{"GET", "/admin/health"},
		{"POST", "/admin/health/reconcile"},
		{"POST", "/admin/versions/" + e.ext.VersionID.String() + "/backfill-endpoints"},
		{"GET", "/admin/no-such-route"},
	}
}

func TestAdminAPIRefusesNonOperators(t *testing.T) {
	t.Parallel()
	e := adminSetup(t)
	// Leaks would name another tenant, a schedule or a timer.
	secrets := []string{e.bName, e.aName, e.bSched, e.aSched, e.bInstall, "extsched:", "items"}
	for _, u := range []struct {
		who   string
		token string
	}{{"tenant admin", e.a.Token}, {"tenant viewer", e.viewer.Token}, {"other tenant admin", e.b.Token}} {
		for _, r := range e.adminAPIRoutes() {
			status, body := e.app.API(t, u.token, r[0], r[1], "")
			if status != http.StatusForbidden {
				t.Errorf("%s %s %s: status %d, want 403", u.who, r[0], r[1], status)
			}
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Errorf("%s %s %s leaks %q: %s", u.who, r[0], r[1], s, body)
				}
			}
		}
	}
	// Anonymous requests are not even authenticated.
	if status, _ := e.app.API(t, "", "GET", "/admin/health", ""); status != http.StatusUnauthorized {
		t.Errorf("anonymous health: %d, want 401", status)
	}
	// Nothing changed.
	if e.suspended(t, e.a.TenantID) || e.suspended(t, e.b.TenantID) {
		t.Error("a refused suspend changed a tenant")
	}
	if n := e.count(t, `SELECT count(*) FROM tenant_extension_schedule WHERE id = $1`, e.bSched); n != 1 {
		t.Errorf("a refused delete removed the schedule")
	}
	// The operator flag grants nothing inside other tenants: the tenant
	// routes of the operator are its own (empty) tenant's.
	if status, _ := e.app.API(t, e.op.Token, "GET", "/extensions/"+e.ext.Slug+"/schedules", ""); status != http.StatusNotFound {
		t.Errorf("operator reading a tenant's schedules: %d, want 404 (not installed in its own tenant)", status)
	}
	if status, _ := e.app.API(t, e.op.Token, "GET", "/extensions/"+e.ext.Slug+"/schedules/"+e.aSched, ""); status != http.StatusNotFound {
		t.Errorf("operator reading another tenant's schedule by id: %d, want 404", status)
	}
}

func TestAdminPagesRefuseNonOperators(t *testing.T) {
	t.Parallel()
	e := adminSetup(t)
	b := webtest.Browser(t)
	csrf := e.app.SignIn(t, b, e.a.Email, e.a.Password)
	gets := []string{"/admin", "/admin/", "/admin/schedules", "/admin/schedules?tenant=" + url.QueryEscape(e.bName),
		"/admin/health", "/admin/bundles", "/admin/tenants/" + e.b.TenantID + "/suspend",
		"/admin/schedules/" + e.bSched + "/delete", "/admin/unknown"}
	for _, p := range gets {
		res, err := b.Get(e.app.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a tenant admin: %d, want 403", p, res.StatusCode)
		}
		for _, s := range []string{e.bName, e.bSched, "tenant-row"} {
			if strings.Contains(string(body), s) {
				t.Errorf("GET %s leaks %q", p, s)
			}
		}
	}
	posts := []string{"/admin/tenants/" + e.b.TenantID + "/suspend", "/admin/tenants/" + e.b.TenantID + "/resume",
		"/admin/schedules/" + e.bSched + "/delete", "/admin/health/reconcile", "/admin/bundles",
		"/admin/bundles/versions/" + e.ext.VersionID.String() + "/backfill"}
	for _, p := range posts {
		res, _ := e.app.PostForm(t, b, p, url.Values{"_csrf": {csrf}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s as a tenant admin: %d, want 403", p, res.StatusCode)
		}
	}
	if e.suspended(t, e.b.TenantID) {
		t.Error("a refused suspend changed the tenant")
	}
	if n := e.count(t, `SELECT count(*) FROM tenant_extension_schedule WHERE id = $1`, e.bSched); n != 1 {
		t.Error("a refused delete removed the schedule")
	}
	// The Operator nav entry is not shown to non-operators.
	if page := e.app.Get(t, b, "/extensions"); strings.Contains(page, `href="/admin"`) {
		t.Error("the Operator nav entry is shown to a non-operator")
	}
}

type adminItem struct {
	ID            string `json:"id"`
	TenantID      string `json:"tenant_id"`
	TenantName    string `json:"tenant_name"`
	ExtensionSlug string `json:"extension_slug"`
	InstallID     string `json:"install_id"`
	Cron          string `json:"cron"`
}

func (e *adminEnv) search(t *testing.T, query string) []adminItem {
	t.Helper()
	status, body := e.app.API(t, e.op.Token, "GET", "/admin/schedules"+query, "")
	if status != 200 {
		t.Fatalf("search %q: %d %s", query, status, body)
	}
	var out struct {
		Items []adminItem `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("search %q: %v: %s", query, err, body)
	}
	return out.Items
}

func ids(items []adminItem) map[string]bool {
	m := map[string]bool{}
	for _, it := range items {
		m[it.ID] = true
	}
	return m
}

func TestAdminScheduleSearchAcrossTenants(t *testing.T) {
	t.Parallel()
	e := adminSetup(t)
	all := e.search(t, "")
	if got := ids(all); !got[e.aSched] || !got[e.bSched] || len(got) != 2 {
		t.Fatalf("search without filters found %v, want both tenants' schedules", got)
	}
	for _, it := range all {
		if it.ExtensionSlug != e.ext.Slug || it.TenantName == "" || it.TenantID == "" || it.InstallID == "" {
			t.Errorf("item lacks tenant or extension: %+v", it)
		}
	}
	cases := []struct {
		query string
		want  string
	}{
		{"?tenant=" + url.QueryEscape(e.aName), e.aSched},
		{"?tenant=acme", e.aSched}, // a part of the name, any case
		{"?tenant=" + e.b.TenantID, e.bSched},
		{"?install=" + e.bInstall, e.bSched},
		{"?tenant=" + e.a.TenantID + "&extension=" + e.ext.Slug, e.aSched},
	}
	for _, c := range cases {
		got := ids(e.search(t, c.query))
		if len(got) != 1 || !got[c.want] {
			t.Errorf("search %s found %v, want only %s", c.query, got, c.want)
		}
	}
	if got := e.search(t, "?extension=no-such-extension"); len(got) != 0 {
		t.Errorf("unknown extension found %d schedules", len(got))
	}
	if got := e.search(t, "?tenant=100%25"); len(got) != 0 {
		t.Errorf("a LIKE wildcard in the tenant filter matched %d schedules", len(got))
	}
	status, body := e.app.API(t, e.op.Token, "GET", "/admin/schedules?install=not-a-uuid", "")
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, `"install"`) {
		t.Errorf("bad install id: %d %s, want 422 on install", status, body)
	}
}

func TestAdminDeleteScheduleByID(t *testing.T) {
	t.Parallel()
	e := adminSetup(t)
	// Give the schedule run history.
	for i := 0; i < 3; i++ {
		if _, err := e.app.DB.DB.Exec(`
			INSERT INTO tenant_extension_schedule_run (tenant_id, id, schedule_id, install_id, trigger, scheduled_for, invocation_id, status)
			VALUES ($1, $2, $3, $4, 'schedule', $5, $6, 'success')`,
			e.a.TenantID, uuid.New(), e.aSched, e.aInstall, time.Now().Add(-time.Duration(i+1)*time.Hour), uuid.New()); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1`, e.aSched); n != 1 {
		t.Fatalf("timers before delete: %d, want 1", n)
	}
	status, body := e.app.API(t, e.op.Token, "DELETE", "/admin/schedules/"+e.aSched, "")
	if status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, body)
	}
	for what, q := range map[string]string{
		"schedule": `SELECT count(*) FROM tenant_extension_schedule WHERE id = $1`,
		"timer":    `SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1`,
		"runs":     `SELECT count(*) FROM tenant_extension_schedule_run WHERE schedule_id = $1`,
	} {
		if n := e.count(t, q, e.aSched); n != 0 {
			t.Errorf("%s rows left after delete: %d", what, n)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM tenant_extension_schedule WHERE id = $1`, e.bSched); n != 1 {
		t.Error("deleting one schedule touched another tenant's")
	}
	var audit struct {
		Actor  string `db:"actor"`
		Action string `db:"action"`
	}
	if err := e.app.DB.DB.Get(&audit, `SELECT actor, action FROM audit_event WHERE tenant_id = $1 AND target_id = $2 AND action = 'schedule.delete'`,
		e.a.TenantID, e.aSched); err != nil {
		t.Fatalf("no audit event in the schedule's tenant: %v", err)
	}
	if audit.Actor != e.op.Email {
		t.Errorf("audit actor %q, want the operator %q", audit.Actor, e.op.Email)
	}
	if status, _ := e.app.API(t, e.op.Token, "DELETE", "/admin/schedules/"+e.aSched, ""); status != http.StatusNotFound {
		t.Errorf("delete again: %d, want 404", status)
	}
	if status, _ := e.app.API(t, e.op.Token, "DELETE", "/admin/schedules/not-a-uuid", ""); status != http.StatusNotFound {
		t.Errorf("delete a malformed id: %d, want 404", status)
	}
}

func TestAdminKillSwitch(t *testing.T) {
	t.Parallel()
	e := adminSetup(t)
	second := e.createSchedule(t, e.a, "acme-hourly", "15 * * * *")
	off := e.createSchedule(t, e.a, "acme-off", "0 12 * * *")
	if status, body := e.app.API(t, e.a.Token, "PATCH", "/extensions/"+e.ext.Slug+"/schedules/"+off, `{"revision":1,"enabled":false}`); status != 200 {
		t.Fatalf("disable: %d %s", status, body)
	}

	status, body := e.app.API(t, e.op.Token, "POST", "/admin/tenants/"+url.PathEscape(e.aName)+"/suspend", "")
	if status != 200 || decode(t, body)["schedules_suspended"] != true {
		t.Fatalf("suspend by name: %d %s", status, body)
	}
	if !e.suspended(t, e.a.TenantID) || e.suspended(t, e.b.TenantID) {
		t.Fatal("suspend changed the wrong tenant")
	}
	for _, id := range []string{e.aSched, second} {
		if r := e.timer(t, id); !r.Paused || r.NextRunAt != nil {
			t.Errorf("schedule %s of the suspended tenant: timer paused=%v next_run_at=%v, want paused and no next run", id, r.Paused, r.NextRunAt)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1`, off); n != 0 {
		t.Errorf("the disabled schedule got a timer")
	}
	if r := e.timer(t, e.bSched); r.Paused || r.NextRunAt == nil {
		t.Errorf("the other tenant's timer was paused: %+v", r)
	}
	// A schedule edited while suspended stays paused.
	if status, body := e.app.API(t, e.a.Token, "PATCH", "/extensions/"+e.ext.Slug+"/schedules/"+second, `{"revision":1,"cron":"20 * * * *"}`); status != 200 {
		t.Fatalf("edit while suspended: %d %s", status, body)
	}
	if r := e.timer(t, second); !r.Paused {
		t.Error("editing a schedule of a suspended tenant unpaused its timer")
	}
	// Time passes while suspended: the stored fire times are now in the past.
	if _, err := e.app.DB.DB.Exec(`UPDATE scheduler_timer SET next_fire_at = now() - interval '3 hours' WHERE tenant_id = $1`, e.a.TenantID); err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	status, body = e.app.API(t, e.op.Token, "POST", "/admin/tenants/"+e.a.TenantID+"/resume", "")
	after := time.Now()
	if status != 200 || decode(t, body)["schedules_suspended"] != false {
		t.Fatalf("resume by id: %d %s", status, body)
	}
	for id, cron := range map[string]string{e.aSched: "0 9 * * *", second: "20 * * * *"} {
		r := e.timer(t, id)
		if r.Paused || r.NextFireAt == nil || r.NextRunAt == nil {
			t.Fatalf("schedule %s after resume: %+v, want a live timer", id, r)
		}
		if !r.NextFireAt.After(before) {
			t.Errorf("schedule %s resumes at %s, in the past: a burst of missed runs", id, r.NextFireAt)
		}
		lo, _ := scheduler.NextFire(cron, "Europe/Paris", before)
		hi, _ := scheduler.NextFire(cron, "Europe/Paris", after)
		if r.NextFireAt.Before(lo) || r.NextFireAt.After(hi) {
			t.Errorf("schedule %s resumes at %s, want the next fire time after now (%s)", id, r.NextFireAt, lo)
		}
		if !r.NextRunAt.Equal(*r.NextFireAt) {
			t.Errorf("schedule %s next_run_at %s differs from its timer %s", id, r.NextRunAt, r.NextFireAt)
		}
	}
	var actions []string
	if err := e.app.DB.DB.Select(&actions, `SELECT action FROM audit_event WHERE tenant_id = $1 AND target_type = 'tenant' ORDER BY created_at`, e.a.TenantID); err != nil {
		t.Fatal(err)
	}
	if strings.Join(actions, ",") != "tenant.suspend,tenant.resume" {
		t.Errorf("audit actions %v, want tenant.suspend then tenant.resume", actions)
	}
	if status, _ := e.app.API(t, e.op.Token, "POST", "/admin/tenants/no-such-tenant/suspend", ""); status != http.StatusNotFound {
		t.Errorf("unknown tenant: %d, want 404", status)
	}
}

func TestAdminHealthReportAndReconcile(t *testing.T) {
	t.Parallel()
	e := adminSetup(t)
	// A missing timer: the row is gone behind the schedule's back.
	if _, err := e.app.DB.DB.Exec(`DELETE FROM scheduler_timer WHERE schedule_id = $1`, e.aSched); err != nil {
		t.Fatal(err)
	}
	// An orphan timer: nothing schedules it.
	orphan := uuid.New()
	orphanKey := scheduler.Key(uuid.New(), orphan)
	if _, err := e.app.DB.DB.Exec(`INSERT INTO scheduler_timer (tenant_id, key, schedule_id, next_fire_at) VALUES ($1, $2, $3, now() + interval '1 hour')`,
		e.b.TenantID, orphanKey, orphan); err != nil {
		t.Fatal(err)
	}
	var h struct {
		MissingTimers []struct {
			ScheduleID string `json:"schedule_id"`
			TenantName string `json:"tenant_name"`
		} `json:"missing_timers"`
		OrphanTimers []struct {
			Key string `json:"key"`
		} `json:"orphan_timers"`
		BrokenEndpoints    []json.RawMessage `json:"broken_endpoints"`
		LastReconciliation *json.RawMessage  `json:"last_reconciliation"`
	}
	status, body := e.app.API(t, e.op.Token, "GET", "/admin/health", "")
	if status != 200 {
		t.Fatalf("health: %d %s", status, body)
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.MissingTimers) != 1 || h.MissingTimers[0].ScheduleID != e.aSched || h.MissingTimers[0].TenantName != e.aName {
		t.Errorf("missing timers %+v, want only %s of %s", h.MissingTimers, e.aSched, e.aName)
	}
	if len(h.OrphanTimers) != 1 || h.OrphanTimers[0].Key != orphanKey {
		t.Errorf("orphan timers %+v, want only %s", h.OrphanTimers, orphanKey)
	}
	if len(h.BrokenEndpoints) != 0 || h.LastReconciliation != nil {
		t.Errorf("broken endpoints %d, last reconciliation %v; want none", len(h.BrokenEndpoints), h.LastReconciliation)
	}
	// Reading the report repaired nothing.
	if n := e.count(t, `SELECT count(*) FROM scheduler_timer WHERE key = $1`, orphanKey); n != 1 {
		t.Fatal("GET /admin/health removed the orphan timer")
	}

	status, body = e.app.API(t, e.op.Token, "POST", "/admin/health/reconcile", "")
	if status != 200 || !strings.Contains(body, e.aSched) || !strings.Contains(body, orphan.String()) {
		t.Fatalf("reconcile: %d %s, want the repaired and the removed timer", status, body)
	}
	if n := e.count(t, `SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1 AND NOT paused`, e.aSched); n != 1 {
		t.Error("reconciliation did not recreate the missing timer")
	}
	if n := e.count(t, `SELECT count(*) FROM scheduler_timer WHERE key = $1`, orphanKey); n != 0 {
		t.Error("reconciliation did not remove the orphan timer")
	}
	status, body = e.app.API(t, e.op.Token, "GET", "/admin/health", "")
	h.LastReconciliation = nil
	if err := json.Unmarshal([]byte(body), &h); status != 200 || err != nil {
		t.Fatalf("health after: %d %s", status, body)
	}
	if len(h.MissingTimers)+len(h.OrphanTimers) != 0 || h.LastReconciliation == nil {
		t.Errorf("after reconciliation: %s, want nothing missing and the last report", body)
	}
}

func TestAdminBackfillEndpoints(t *testing.T) {
	t.Parallel()
	e := adminSetup(t)
	if _, err := e.app.DB.DB.Exec(`DELETE FROM extension_api_endpoint WHERE version_id = $1`, e.ext.VersionID); err != nil {
		t.Fatal(err)
	}
	status, body := e.app.API(t, e.op.Token, "GET", "/admin/health", "")
	if status != 200 || !strings.Contains(body, e.aSched) || !strings.Contains(body, "no longer exists") {
		t.Fatalf("health with endpoints gone: %d %s, want the schedule listed as broken", status, body)
	}
	status, body = e.app.API(t, e.op.Token, "POST", "/admin/versions/"+e.ext.VersionID.String()+"/backfill-endpoints", "")
	if status != 200 {
		t.Fatalf("backfill: %d %s", status, body)
	}
	if !strings.Contains(body, e.ext.Endpoints["POST /sync"].String()) {
		t.Errorf("backfill did not restore the endpoint with its original id: %s", body)
	}
	if n := e.count(t, `SELECT count(*) FROM extension_api_endpoint WHERE version_id = $1`, e.ext.VersionID); n != len(fixture.DefaultEndpoints) {
		t.Errorf("endpoints after backfill: %d, want %d", n, len(fixture.DefaultEndpoints))
	}
	status, body = e.app.API(t, e.op.Token, "GET", "/admin/health", "")
	if status != 200 || !strings.Contains(body, `"broken_endpoints":[]`) {
		t.Errorf("health after backfill: %d %s, want no broken endpoint", status, body)
	}
	if status, _ := e.app.API(t, e.op.Token, "POST", "/admin/versions/"+uuid.NewString()+"/backfill-endpoints", ""); status != http.StatusNotFound {
		t.Errorf("unknown version: %d, want 404", status)
	}
}

func bundleZip(t *testing.T, manifest map[string]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	m, _ := json.Marshal(manifest)
	for name, data := range map[string][]byte{"manifest.json": m, "module.wasm": []byte("\x00asm fake module")} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func postBundle(t *testing.T, app *webtest.App, b *http.Client, csrf string, data []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("_csrf", csrf)
	fw, err := mw.CreateFormFile("bundle", "bundle.zip")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", app.URL+"/admin/bundles", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

func TestAdminPagesForOperators(t *testing.T) {
	t.Parallel()
	e := adminSetup(t)
	b := webtest.Browser(t)
	csrf := e.app.SignIn(t, b, e.op.Email, e.op.Password)
	if csrf == "" {
		t.Fatal("no CSRF token after sign-in")
	}
	page := e.app.Get(t, b, "/admin")
	for _, want := range []string{e.aName, e.bName, `data-testid="tenant-suspend"`, `href="/admin"`, `id="confirm-dialog"`} {
		if !strings.Contains(page, want) {
			t.Errorf("/admin lacks %q", want)
		}
	}
	if conf := e.app.Get(t, b, "/admin/tenants/"+e.b.TenantID+"/suspend"); !strings.Contains(conf, `data-testid="confirm-yes"`) {
		t.Error("the suspend confirmation page has no confirm button")
	}
	res, body := e.app.PostForm(t, b, "/admin/tenants/"+e.b.TenantID+"/suspend", url.Values{})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("suspend without the CSRF token: %d %s, want 403", res.StatusCode, body)
	}
	res, body = e.app.PostForm(t, b, "/admin/tenants/"+e.b.TenantID+"/suspend", url.Values{"_csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || !e.suspended(t, e.b.TenantID) {
		t.Fatalf("suspend form: %d %s", res.StatusCode, body)
	}
	if page := e.app.Get(t, b, "/admin"); !strings.Contains(page, "Suspended") || !strings.Contains(page, `data-testid="tenant-resume"`) {
		t.Error("/admin does not show the suspended tenant with a resume action")
	}
	res, _ = e.app.PostForm(t, b, "/admin/tenants/"+e.b.TenantID+"/resume", url.Values{"_csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || e.suspended(t, e.b.TenantID) {
		t.Fatalf("resume form: %d", res.StatusCode)
	}

	search := e.app.Get(t, b, "/admin/schedules?tenant="+url.QueryEscape(e.bName))
	if !strings.Contains(search, "admin-schedule-row-"+e.bSched) || strings.Contains(search, "admin-schedule-row-"+e.aSched) {
		t.Error("the search page does not show exactly the matching tenant's schedule")
	}
	res, _ = e.app.PostForm(t, b, "/admin/schedules/"+e.bSched+"/delete", url.Values{"_csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || e.count(t, `SELECT count(*) FROM tenant_extension_schedule WHERE id = $1`, e.bSched) != 0 {
		t.Fatalf("delete form: %d", res.StatusCode)
	}

	if health := e.app.Get(t, b, "/admin/health"); !strings.Contains(health, `data-testid="health-reconcile"`) {
		t.Error("the health page has no reconcile button")
	}
	res, _ = e.app.PostForm(t, b, "/admin/health/reconcile", url.Values{"_csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("reconcile form: %d", res.StatusCode)
	}
	if health := e.app.Get(t, b, "/admin/health"); !strings.Contains(health, `data-testid="reconcile-counts"`) {
		t.Error("the health page does not show the reconciliation just run")
	}

	manifest := map[string]any{"publisher": "upload", "name": "tool", "version": "1.2.0", "display_name": "Upload tool",
		"description": "Published through the page.", "runtime": "wasm32-wasip1", "module": "module.wasm",
		"api": map[string]any{"endpoints": []map[string]string{{"method": "post", "path": "sync//now", "handler": "sync"}}}}
	status, body := postBundle(t, e.app, b, csrf, bundleZip(t, manifest))
	if status != 200 || !strings.Contains(body, `data-testid="bundle-published"`) || !strings.Contains(body, "upload.tool") {
		t.Fatalf("publish: %d %s", status, body)
	}
	if n := e.count(t, `SELECT count(*) FROM extension_api_endpoint e JOIN extension_version v ON v.id = e.version_id
		JOIN extension x ON x.id = v.extension_id WHERE x.slug = 'upload.tool' AND e.method = 'POST' AND e.path = '/sync/now'`); n != 1 {
		t.Errorf("published endpoints not materialized and normalized: %d", n)
	}
	manifest["version"] = "not-semver"
	status, body = postBundle(t, e.app, b, csrf, bundleZip(t, manifest))
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="field-error-version"`) {
		t.Errorf("bad manifest: %d, want 422 naming the version field: %s", status, body)
	}
	status, body = postBundle(t, e.app, b, csrf, []byte("not a zip"))
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="field-error-bundle"`) {
		t.Errorf("not a zip: %d, want 422 on the bundle", status)
	}
	res, _ = e.app.PostForm(t, b, "/admin/bundles/versions/"+e.ext.VersionID.String()+"/backfill", url.Values{"_csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("backfill form: %d", res.StatusCode)
	}
	if bundles := e.app.Get(t, b, "/admin/bundles"); !strings.Contains(bundles, "backfill-"+e.ext.VersionID.String()) {
		t.Error("the bundles page does not list the version with its backfill action")
	}
}
