package schedule_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/account"
	"extcron/db"
	"extcron/db/dbtest"
	"extcron/db/dbtest/fixture"
	"extcron/fault"
	"extcron/schedule"
	"extcron/scheduler"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type env struct {
	conn   *sqlx.DB
	svc    *schedule.Service
	admin  account.Actor
	viewer account.Actor
	ext    fixture.Published
	clock  *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setup(t *testing.T, mutate func(*schedule.Limits)) *env {
	t.Helper()
	d := dbtest.New(t)
	limits := schedule.DefaultLimits()
	if mutate != nil {
		mutate(&limits)
	}
	c := &clock{t: time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)}
	e := &env{conn: d.DB, clock: c,
		svc: schedule.NewService(d.DB, scheduler.NewPGJobRunner(), limits, fixture.Quiet(), c.Now)}
	e.admin = fixture.Tenant(t, d.DB, "")
	e.viewer = fixture.User(t, d.DB, e.admin.TenantID, account.RoleViewer)
	e.ext = fixture.Publish(t, d.DB, "tasks", "1.0.0", fixture.DefaultEndpoints, nil)
	fixture.Install(t, d.DB, e.admin, e.ext)
	return e
}

func str(s string) *string { return &s }
func num(n int) *int       { return &n }
func yes(b bool) *bool     { return &b }

func (e *env) input(cron string) schedule.Input {
	return schedule.Input{EndpointID: str(e.ext.Endpoints["POST /sync"].String()), Cron: str(cron), Timezone: str("UTC")}
}

func fieldErrors(t *testing.T, err error) map[string]string {
	t.Helper()
	fe, ok := fault.As(err)
	if !ok || fe.Code != fault.Invalid {
		t.Fatalf("error %v, want a validation error", err)
	}
	return fe.Fields
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	big := `{"x":"` + strings.Repeat("a", 100_001) + `"}`
	cases := []struct {
		name   string
		change func(*schedule.Input)
		field  string
		want   string // substring of the message; "" = valid
	}{
		{"plain daily", func(in *schedule.Input) {}, "", ""},
		{"every 5 minutes", func(in *schedule.Input) { in.Cron = str("*/5 * * * *") }, "", ""},
		{"weekday names", func(in *schedule.Input) { in.Cron = str("0 9 * * MON-FRI") }, "", ""},
		{"month names", func(in *schedule.Input) { in.Cron = str("0 0 1 JAN,JUL *") }, "", ""},
		{"macro", func(in *schedule.Input) { in.Cron = str("@daily") }, "", ""},
		{"sunday as 7", func(in *schedule.Input) { in.Cron = str("0 0 * * 7") }, "", ""},
		{"leap day", func(in *schedule.Input) { in.Cron = str("0 0 29 2 *") }, "", ""},
		{"every minute by range", func(in *schedule.Input) { in.Cron = str("0-59 * * * *") }, "cron", "minimum interval"},
		{"every 4 minutes", func(in *schedule.Input) { in.Cron = str("*/4 * * * *") }, "cron", "minimum interval"},
		{"six fields", func(in *schedule.Input) { in.Cron = str("0 0 9 * * *") }, "cron", "5 fields"},
		{"@every", func(in *schedule.Input) { in.Cron = str("@every 1m") }, "cron", "@every"},
		{"@reboot", func(in *schedule.Input) { in.Cron = str("@reboot") }, "cron", "@reboot"},
		{"both days", func(in *schedule.Input) { in.Cron = str("0 9 1 * MON") }, "cron", "day-of-month and day-of-week"},
		{"minute out of range", func(in *schedule.Input) { in.Cron = str("61 * * * *") }, "cron", "out of range"},
		{"hour out of range", func(in *schedule.Input) { in.Cron = str("0 24 * * *") }, "cron", "out of range"},
		{"question mark", func(in *schedule.Input) { in.Cron = str("0 0 ? * *") }, "cron", "?"},
		{"L", func(in *schedule.Input) { in.Cron = str("0 0 L * *") }, "cron", "L"},
		{"hash", func(in *schedule.Input) { in.Cron = str("0 0 * * 1#2") }, "cron", "#"},
		{"never fires", func(in *schedule.Input) { in.Cron = str("0 0 30 2 *") }, "cron", "never"},
		{"april 31", func(in *schedule.Input) { in.Cron = str("0 0 31 4 *") }, "cron", "never"},
		{"too long", func(in *schedule.Input) { in.Cron = str(strings.Repeat("1,", 70) + "1 * * * *") }, "cron", "128"},
		{"empty cron", func(in *schedule.Input) { in.Cron = str("  ") }, "cron", "required"},
		{"unknown zone", func(in *schedule.Input) { in.Timezone = str("Mars/Base") }, "timezone", "Mars/Base"},
		{"zone too long", func(in *schedule.Input) { in.Timezone = str(strings.Repeat("A", 65)) }, "timezone", "64"},
		{"scalar payload", func(in *schedule.Input) { in.PayloadJSON = json.RawMessage(`42`) }, "payload_json", "object or array"},
		{"string payload", func(in *schedule.Input) { in.PayloadJSON = json.RawMessage(`"hello"`) }, "payload_json", "object or array"},
		{"JSON text in a string", func(in *schedule.Input) { in.PayloadJSON = json.RawMessage(`"{\"a\":1}"`) }, "payload_json", "not as a string"},
		{"not JSON", func(in *schedule.Input) { in.PayloadJSON = json.RawMessage(`{a:1}`) }, "payload_json", "not valid JSON"},
		{"array payload", func(in *schedule.Input) { in.PayloadJSON = json.RawMessage(`[1,2]`) }, "", ""},
		{"null payload", func(in *schedule.Input) { in.PayloadJSON = json.RawMessage(`null`) }, "", ""},
		{"oversized payload", func(in *schedule.Input) { in.PayloadJSON = json.RawMessage(big) }, "payload_json", "maximum is 100000"},
		{"name too long", func(in *schedule.Input) { in.Name = str(strings.Repeat("n", 129)) }, "name", "128"},
		{"not a uuid endpoint", func(in *schedule.Input) { in.EndpointID = str("nope") }, "endpoint_id", "Choose an endpoint"},
		{"unknown endpoint", func(in *schedule.Input) { in.EndpointID = str(uuid.NewString()) }, "endpoint_id", "does not belong"},
		{"PUT-less delete endpoint", func(in *schedule.Input) { in.EndpointID = str(e.ext.Endpoints["DELETE /cache"].String()) }, "endpoint_id", "cannot be scheduled"},
		{"path parameter endpoint", func(in *schedule.Input) { in.EndpointID = str(e.ext.Endpoints["GET /items/{id}"].String()) }, "endpoint_id", "cannot be scheduled"},
		{"bad overlap", func(in *schedule.Input) { in.OverlapPolicy = str("queue") }, "overlap_policy", "skip, buffer_one or allow"},
		{"bad catchup", func(in *schedule.Input) { in.CatchupPolicy = str("some") }, "catchup_policy", "latest, skip or all"},
		{"negative window", func(in *schedule.Input) { in.CatchupWindowSeconds = num(-1) }, "catchup_window_seconds", "0 to"},
		{"zero attempts", func(in *schedule.Input) { in.RetryMaxAttempts = num(0) }, "retry_max_attempts", "from 1"},
		{"too many attempts", func(in *schedule.Input) { in.RetryMaxAttempts = num(11) }, "retry_max_attempts", "10"},
		{"bad pause", func(in *schedule.Input) { in.PauseAfterFailures = num(-2) }, "pause_after_failures", "0 (never)"},
		{"missing cron", func(in *schedule.Input) { in.Cron = nil }, "cron", "required"},
		{"missing endpoint", func(in *schedule.Input) { in.EndpointID = nil }, "endpoint_id", "Choose the endpoint"},
	}
	for _, tc := range cases {
		in := e.input("0 9 * * *")
		tc.change(&in)
		_, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, in, "")
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", tc.name, err)
			}
			continue
		}
		fields := fieldErrors(t, err)
		if !strings.Contains(strings.ToLower(fields[tc.field]), strings.ToLower(tc.want)) {
			t.Errorf("%s: field %s = %q, want it to mention %q (all: %v)", tc.name, tc.field, fields[tc.field], tc.want, fields)
		}
	}
	// Only the valid cases were stored.
	rows, err := db.ListSchedules(context.Background(), e.conn, e.admin.TenantID, installID(t, e))
	if err != nil {
		t.Fatal(err)
	}
	valid := 0
	for _, tc := range cases {
		if tc.want == "" {
			valid++
		}
	}
	if len(rows) != valid {
		t.Fatalf("%d schedules stored, want %d (one per valid case)", len(rows), valid)
	}
}

func installID(t *testing.T, e *env) uuid.UUID {
	t.Helper()
	in, err := fixture.Installs(e.conn).Get(context.Background(), e.admin, e.ext.Slug)
	if err != nil {
		t.Fatal(err)
	}
	return in.InstallID
}

func TestLegacyZoneWarns(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	in := e.input("0 9 * * *")
	in.Timezone = str("Etc/GMT+5")
	v, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, in, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.Warnings["timezone"], "daylight saving") || !strings.Contains(v.Warnings["timezone"], "inverted") {
		t.Fatalf("warnings %v, want a DST warning for Etc/GMT+5", v.Warnings)
	}
}

func TestDuplicateNameRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	in := e.input("0 9 * * *")
	in.Name = str(" nightly ")
	if _, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, in, ""); err != nil {
		t.Fatal(err)
	}
	in.Name = str("nightly")
	_, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, in, "")
	if msg := fieldErrors(t, err)["name"]; !strings.Contains(msg, "already named") {
		t.Fatalf("name error %q, want 'already named'", msg)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	e := setup(t, func(l *schedule.Limits) { l.MaxPerInstall = 2; l.MaxPerTenant = 3 })
	for i := 0; i < 2; i++ {
		if _, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 9 * * *"), ""); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 9 * * *"), "")
	if !fault.Is(err, fault.Conflict) || !strings.Contains(err.Error(), "most allowed per extension") {
		t.Fatalf("third schedule in install: %v, want the per-install limit", err)
	}
	other := fixture.Publish(t, e.conn, "other", "1.0.0", fixture.DefaultEndpoints, nil)
	fixture.Install(t, e.conn, e.admin, other)
	in := schedule.Input{EndpointID: str(other.Endpoints["GET /refresh"].String()), Cron: str("0 1 * * *")}
	if _, err := e.svc.Create(context.Background(), e.admin, other.Slug, in, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Create(context.Background(), e.admin, other.Slug, in, "")
	if !fault.Is(err, fault.Conflict) || !strings.Contains(err.Error(), "tenant already has 3") {
		t.Fatalf("fourth schedule in tenant: %v, want the per-tenant limit", err)
	}
}

func TestTimezoneDefaultChain(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	create := func(actor account.Actor, browser string) string {
		in := e.input("0 9 * * *")
		in.Timezone = nil
		v, err := e.svc.Create(context.Background(), actor, e.ext.Slug, in, browser)
		if err != nil {
			t.Fatal(err)
		}
		return v.Timezone
	}
	if got := create(e.admin, ""); got != "UTC" {
		t.Errorf("no zone anywhere: %s, want UTC", got)
	}
	if got := create(e.admin, "America/Chicago"); got != "America/Chicago" {
		t.Errorf("browser zone: %s, want America/Chicago", got)
	}
	if _, err := e.conn.Exec(`UPDATE tenant SET default_timezone = 'Europe/Paris' WHERE id = $1`, e.admin.TenantID); err != nil {
		t.Fatal(err)
	}
	if got := create(e.admin, "America/Chicago"); got != "Europe/Paris" {
		t.Errorf("tenant default: %s, want Europe/Paris", got)
	}
	withProfile := e.admin
	withProfile.Timezone = "Asia/Tokyo"
	if got := create(withProfile, "America/Chicago"); got != "Asia/Tokyo" {
		t.Errorf("profile zone: %s, want Asia/Tokyo", got)
	}
}

func TestCreateSetsTimer(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	in := e.input("30 2 * * *")
	in.Timezone = str("America/New_York")
	v, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, in, "")
	if err != nil {
		t.Fatal(err)
	}
	wantKey := scheduler.Key(v.InstallID, v.ID)
	if v.RunnerScheduleID == nil || *v.RunnerScheduleID != wantKey {
		t.Fatalf("runner_schedule_id %v, want %s", v.RunnerScheduleID, wantKey)
	}
	// 10:00 UTC on June 1 is 06:00 EDT: next 02:30 EDT is June 2, 06:30 UTC.
	want := time.Date(2026, 6, 2, 6, 30, 0, 0, time.UTC)
	if v.NextRunAt == nil || !v.NextRunAt.Equal(want) {
		t.Fatalf("next_run_at %v, want %v", v.NextRunAt, want)
	}
	state, err := scheduler.NewPGJobRunner().Describe(context.Background(), e.conn, e.admin.TenantID, v.InstallID, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !state.Exists || state.Paused || !state.NextFireAt.Equal(want) {
		t.Fatalf("timer %+v, want live and due at %v", state, want)
	}
}

func TestTimerWriteFailureLeavesNoSchedule(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ok, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 9 * * *"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Make every timer write fail, in the database itself.
	_, err = e.conn.Exec(`
		CREATE FUNCTION fail_timer() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'timer store unavailable'; END $$;
		CREATE TRIGGER fail_timer BEFORE INSERT OR UPDATE OR DELETE ON scheduler_timer
		FOR EACH ROW EXECUTE FUNCTION fail_timer();`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 10 * * *"), ""); err == nil {
		t.Fatal("create succeeded although the timer write failed")
	}
	_, err = e.svc.Update(context.Background(), e.admin, e.ext.Slug, ok.ID.String(), schedule.Input{Revision: num(ok.Revision), Cron: str("0 11 * * *")})
	if err == nil {
		t.Fatal("update succeeded although the timer write failed")
	}
	rows, err := db.ListSchedules(context.Background(), e.conn, e.admin.TenantID, ok.InstallID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Cron != "0 9 * * *" || rows[0].Revision != ok.Revision {
		t.Fatalf("schedules after failed writes: %+v, want only the first, unchanged", rows)
	}
}

func TestUpdatePartialAndRevision(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	in := e.input("0 9 * * *")
	in.PayloadJSON = json.RawMessage(`{"a":1}`)
	v, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, in, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Update(context.Background(), e.admin, e.ext.Slug, v.ID.String(), schedule.Input{Cron: str("0 8 * * *")})
	if msg := fieldErrors(t, err)["revision"]; msg == "" {
		t.Fatal("update without revision accepted")
	}
	u, err := e.svc.Update(context.Background(), e.admin, e.ext.Slug, v.ID.String(), schedule.Input{Revision: num(v.Revision), Cron: str("0 8 * * *")})
	if err != nil {
		t.Fatal(err)
	}
	if u.Cron != "0 8 * * *" || !jsonEqual(u.PayloadJSON, `{"a":1}`) || u.Revision != v.Revision+1 || u.Timezone != "UTC" {
		t.Fatalf("after partial update: %+v", u)
	}
	_, err = e.svc.Update(context.Background(), e.admin, e.ext.Slug, v.ID.String(), schedule.Input{Revision: num(v.Revision), Cron: str("0 7 * * *")})
	fe, ok := fault.As(err)
	if !ok || fe.Code != fault.Conflict {
		t.Fatalf("stale revision: %v, want conflict", err)
	}
	if cur, ok := fe.Detail.(schedule.View); !ok || cur.Cron != "0 8 * * *" {
		t.Fatalf("stale revision detail %+v, want the current state", fe.Detail)
	}
}

func TestNoopUpdateKeepsNextRun(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	v, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 9 * * *"), "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Hour)
	u, err := e.svc.Update(context.Background(), e.admin, e.ext.Slug, v.ID.String(), schedule.Input{Revision: num(v.Revision), Cron: str("0 9 * * *")})
	if err != nil {
		t.Fatal(err)
	}
	if !u.NextRunAt.Equal(*v.NextRunAt) || u.Revision != v.Revision {
		t.Fatalf("no-op update moved next_run_at %v -> %v or revision %d -> %d", v.NextRunAt, u.NextRunAt, v.Revision, u.Revision)
	}
}

// Moving 0 23 to 0 5 at 10:00 fires nothing until 05:00 the next day.
func TestEditRecomputesFromNow(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	v, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 23 * * *"), "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.Update(context.Background(), e.admin, e.ext.Slug, v.ID.String(), schedule.Input{Revision: num(v.Revision), Cron: str("0 5 * * *")})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 6, 2, 5, 0, 0, 0, time.UTC)
	if !u.NextRunAt.Equal(want) {
		t.Fatalf("next_run_at %v, want %v", u.NextRunAt, want)
	}
}

func TestConcurrentUpdatesOneWins(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	v, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 9 * * *"), "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	crons := []string{"0 1 * * *", "0 2 * * *"}
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = e.svc.Update(context.Background(), e.admin, e.ext.Slug, v.ID.String(), schedule.Input{Revision: num(v.Revision), Cron: str(crons[i])})
		}(i)
	}
	wg.Wait()
	var okCount, conflicts int
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil:
			okCount++
			winner = crons[i]
		case fault.Is(err, fault.Conflict):
			conflicts++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if okCount != 1 || conflicts != 1 {
		t.Fatalf("%d succeeded and %d conflicted, want 1 and 1", okCount, conflicts)
	}
	got, err := e.svc.Get(context.Background(), e.admin, e.ext.Slug, v.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if got.Cron != winner || got.Revision != v.Revision+1 {
		t.Fatalf("stored cron %s rev %d, want the winner %s at rev %d", got.Cron, got.Revision, winner, v.Revision+1)
	}
}

func TestDisableRemovesTimerAndEnableRestoresIt(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	v, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 9 * * *"), "")
	if err != nil {
		t.Fatal(err)
	}
	off, err := e.svc.SetEnabled(context.Background(), e.admin, e.ext.Slug, v.ID.String(), false)
	if err != nil {
		t.Fatal(err)
	}
	state, _ := scheduler.NewPGJobRunner().Describe(context.Background(), e.conn, e.admin.TenantID, v.InstallID, v.ID)
	if off.Enabled || off.NextRunAt != nil || state.Exists {
		t.Fatalf("disabled: enabled=%v next=%v timer=%+v, want no timer", off.Enabled, off.NextRunAt, state)
	}
	e.clock.Advance(48 * time.Hour)
	on, err := e.svc.SetEnabled(context.Background(), e.admin, e.ext.Slug, v.ID.String(), true)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 6, 4, 9, 0, 0, 0, time.UTC)
	if !on.Enabled || on.NextRunAt == nil || !on.NextRunAt.Equal(want) {
		t.Fatalf("re-enabled: next %v, want the next future fire %v", on.NextRunAt, want)
	}
}

func TestDeleteRemovesScheduleTimerAndRuns(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	v, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 9 * * *"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.RunNow(context.Background(), e.admin, e.ext.Slug, v.ID.String(), "k1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(context.Background(), e.admin, e.ext.Slug, v.ID.String()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.conn.Get(&n, `SELECT (SELECT count(*) FROM tenant_extension_schedule WHERE id = $1)
		+ (SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1)
		+ (SELECT count(*) FROM tenant_extension_schedule_run WHERE schedule_id = $1)`, v.ID); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d rows of the deleted schedule remain", n)
	}
	if err := e.svc.Delete(context.Background(), e.admin, e.ext.Slug, v.ID.String()); !fault.Is(err, fault.NotFound) {
		t.Fatalf("second delete: %v, want not found", err)
	}
}

func TestViewerAndOtherTenant(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	v, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 9 * * *"), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := v.ID.String()
	if _, err := e.svc.Get(ctx, e.viewer, e.ext.Slug, id); err != nil {
		t.Fatalf("viewer read: %v", err)
	}
	mutations := map[string]func(a account.Actor) error{
		"create": func(a account.Actor) error {
			_, err := e.svc.Create(ctx, a, e.ext.Slug, e.input("0 9 * * *"), "")
			return err
		},
		"update": func(a account.Actor) error {
			_, err := e.svc.Update(ctx, a, e.ext.Slug, id, schedule.Input{Revision: num(1), Cron: str("0 1 * * *")})
			return err
		},
		"toggle":  func(a account.Actor) error { _, err := e.svc.SetEnabled(ctx, a, e.ext.Slug, id, false); return err },
		"delete":  func(a account.Actor) error { return e.svc.Delete(ctx, a, e.ext.Slug, id) },
		"run-now": func(a account.Actor) error { _, _, err := e.svc.RunNow(ctx, a, e.ext.Slug, id, ""); return err },
	}
	for name, do := range mutations {
		if err := do(e.viewer); !fault.Is(err, fault.Forbidden) {
			t.Errorf("viewer %s: %v, want forbidden", name, err)
		}
	}
	// Tenant B installs the same extension: A's schedule id is unknown to it.
	b := fixture.Tenant(t, e.conn, "")
	fixture.Install(t, e.conn, b, e.ext)
	if _, err := e.svc.Get(ctx, b, e.ext.Slug, id); !fault.Is(err, fault.NotFound) {
		t.Errorf("tenant B get: %v, want not found", err)
	}
	for name, do := range mutations {
		if name == "create" {
			continue
		}
		if err := do(b); !fault.Is(err, fault.NotFound) {
			t.Errorf("tenant B %s: %v, want not found", name, err)
		}
	}
	if _, err := e.svc.Get(ctx, e.admin, e.ext.Slug, id); err != nil {
		t.Fatalf("tenant A's schedule damaged: %v", err)
	}
}

func TestRunNowIdempotencyRateLimitAndOverlap(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	v, err := e.svc.Create(ctx, e.admin, e.ext.Slug, e.input("0 9 * * *"), "")
	if err != nil {
		t.Fatal(err)
	}
	id := v.ID.String()
	first, created, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, id, "click-1")
	if err != nil || !created || first.Status != "queued" || first.Trigger != "manual" {
		t.Fatalf("first run-now: %+v created=%v err=%v", first, created, err)
	}
	again, created, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, id, "click-1")
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("same key: %+v created=%v err=%v, want the first run", again, created, err)
	}
	// A new key within 10 s of the last run is rate limited.
	_, _, err = e.svc.RunNow(ctx, e.admin, e.ext.Slug, id, "click-2")
	fe, ok := fault.As(err)
	if !ok || fe.Code != fault.RateLimited || fe.RetryAfterSeconds < 1 || fe.RetryAfterSeconds > 10 {
		t.Fatalf("second key at once: %v, want 429 with Retry-After 1-10 s", err)
	}
	// After 10 s, the first run is still queued: skip refuses, naming it.
	e.clock.Advance(11 * time.Second)
	_, _, err = e.svc.RunNow(ctx, e.admin, e.ext.Slug, id, "click-3")
	if !fault.Is(err, fault.Conflict) || !strings.Contains(err.Error(), first.ID.String()) {
		t.Fatalf("run-now while a run is in flight: %v, want 409 naming %s", err, first.ID)
	}
	// After 10 minutes the key may be reused for a new run.
	if _, err := e.conn.Exec(`UPDATE tenant_extension_schedule_run SET status = 'success' WHERE id = $1`, first.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(11 * time.Minute)
	if _, err := e.conn.Exec(`UPDATE tenant_extension_schedule_run SET created_at = $2 WHERE id = $1`, first.ID, e.clock.Now().Add(-11*time.Minute)); err != nil {
		t.Fatal(err)
	}
	reused, created, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, id, "click-1")
	if err != nil || !created || reused.ID == first.ID {
		t.Fatalf("key after the window: %+v created=%v err=%v, want a new run", reused, created, err)
	}
}

func TestRunNowTenantRateLimit(t *testing.T) {
	t.Parallel()
	e := setup(t, func(l *schedule.Limits) { l.RunNowPerTenant = 2 })
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		in := e.input("0 9 * * *")
		in.OverlapPolicy = str("allow")
		v, err := e.svc.Create(ctx, e.admin, e.ext.Slug, in, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID.String())
	}
	for i := 0; i < 2; i++ {
		if _, _, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, ids[i], ""); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, ids[2], "")
	if !fault.Is(err, fault.RateLimited) {
		t.Fatalf("third run-now in a minute: %v, want rate limited", err)
	}
}

func TestRunNowRefusedWhenInstallDisabled(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	v, err := e.svc.Create(ctx, e.admin, e.ext.Slug, e.input("0 9 * * *"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fixture.Installs(e.conn).Disable(ctx, e.admin, e.ext.Slug); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, v.ID.String(), ""); !fault.Is(err, fault.Conflict) {
		t.Fatalf("run-now on a disabled install: %v, want conflict", err)
	}
	if _, err := e.svc.Create(ctx, e.admin, e.ext.Slug, e.input("0 9 * * *"), ""); !fault.Is(err, fault.Conflict) {
		t.Fatalf("create on a disabled install: %v, want conflict", err)
	}
}

func TestPreview(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	p, err := e.svc.Preview(context.Background(), e.viewer, schedule.PreviewInput{
		Cron: "30 2 * * *", Timezone: "America/New_York", From: "2026-03-07T12:00:00Z", Count: 3}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}
	for i, w := range want {
		if p.NextFireTimes[i].Format(time.RFC3339) != w {
			t.Fatalf("fire %d = %s, want %s (all %v)", i, p.NextFireTimes[i].Format(time.RFC3339), w, p.NextFireTimes)
		}
	}
	if p.Description == "" {
		t.Fatal("no description")
	}
	_, err = e.svc.Preview(context.Background(), e.viewer, schedule.PreviewInput{Cron: "*/1 * * * *", Timezone: "Nowhere/Land", Count: 50}, "")
	fields := fieldErrors(t, err)
	if fields["cron"] == "" || fields["timezone"] == "" || fields["count"] == "" {
		t.Fatalf("preview field errors %v, want cron, timezone and count", fields)
	}
	_, err = e.svc.Preview(context.Background(), e.viewer, schedule.PreviewInput{Cron: "0 9 * * *", From: "2026-03-07 12:00", Count: -1}, "")
	fields = fieldErrors(t, err)
	if !strings.Contains(fields["from"], "RFC 3339") || fields["count"] != "count must be from 1 to 20." || len(fields) != 2 {
		t.Fatalf("preview field errors %v, want from (RFC 3339) and count", fields)
	}
}

func TestListRunsRefusesUnknownFilters(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	v, err := e.svc.Create(context.Background(), e.admin, e.ext.Slug, e.input("0 9 * * *"), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.ListRuns(context.Background(), e.viewer, e.ext.Slug, v.ID.String(), schedule.RunQuery{Status: "done", Trigger: "cron"})
	fields := fieldErrors(t, err)
	if !strings.Contains(fields["status"], "success, failure") || !strings.Contains(fields["trigger"], "schedule, manual or catchup") {
		t.Fatalf("run filter errors %v, want status and trigger", fields)
	}
	page, err := e.svc.ListRuns(context.Background(), e.viewer, e.ext.Slug, v.ID.String(), schedule.RunQuery{Status: "failure", Trigger: "manual"})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("valid filters: %+v, %v", page, err)
	}
}

func jsonEqual(got json.RawMessage, want string) bool {
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Manual runs are told apart by their idempotency key, never by a time:
// two clicks with different keys in the same second are two runs, and a
// manual run at the very instant a fire time was recorded is a run of its
// own (the fire time's unique key covers scheduled runs only).
func TestManualRunsAreKeyedNotTimed(t *testing.T) {
	t.Parallel()
	e := setup(t, func(l *schedule.Limits) { l.RunNowPerSchedule = time.Millisecond })
	ctx := context.Background()
	in := e.input("0 9 * * *")
	in.OverlapPolicy = str("allow")
	v, err := e.svc.Create(ctx, e.admin, e.ext.Slug, in, "")
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	if _, err := e.conn.Exec(`
		INSERT INTO tenant_extension_schedule_run (tenant_id, id, schedule_id, install_id, trigger, scheduled_for,
			invocation_id, status, created_at)
		VALUES ($1, gen_random_uuid(), $2, $3, 'schedule', $4, gen_random_uuid(), 'success', $4)`,
		e.admin.TenantID, v.ID, v.InstallID, now); err != nil {
		t.Fatal(err)
	}
	first, created, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, v.ID.String(), "click-a")
	if err != nil || !created {
		t.Fatalf("run-now at a recorded fire time: %v created=%v", err, created)
	}
	e.clock.Advance(2 * time.Millisecond)
	second, created, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, v.ID.String(), "click-b")
	if err != nil || !created || second.ID == first.ID {
		t.Fatalf("second key in the same second: %+v created=%v err=%v, want a new run", second, created, err)
	}
	if first.ScheduledFor.Truncate(time.Second) != second.ScheduledFor.Truncate(time.Second) {
		t.Fatalf("runs for %s and %s: the test wants one second", first.ScheduledFor, second.ScheduledFor)
	}
	var manual, scheduled int
	if err := e.conn.QueryRow(`
		SELECT count(*) FILTER (WHERE trigger = 'manual'), count(*) FILTER (WHERE trigger = 'schedule')
		FROM tenant_extension_schedule_run WHERE schedule_id = $1`, v.ID).Scan(&manual, &scheduled); err != nil {
		t.Fatal(err)
	}
	if manual != 2 || scheduled != 1 {
		t.Fatalf("%d manual and %d scheduled runs, want 2 and 1", manual, scheduled)
	}
}
