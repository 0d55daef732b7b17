package schedule_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"extcron/db"
	"extcron/db/dbtest/fixture"
	"extcron/extensions"
	"extcron/fault"
	"extcron/schedule"
	"extcron/scheduler"
)

var (
	v1Endpoints = []fixture.Endpoint{fixture.E("POST", "/sync", "sync"), fixture.E("GET", "/refresh", "refresh"), fixture.E("POST", "/reminders", "remind")}
	v2Endpoints = []fixture.Endpoint{fixture.E("post", "//sync", "sync2"), fixture.E("get", " refresh", "refresh"), fixture.E("POST", "/digest", "digest")}
)

type lifecycle struct {
	*env
	installs *extensions.Installs
	v1, v2   fixture.Published
}

func lifecycleSetup(t *testing.T) *lifecycle {
	t.Helper()
	e := setup(t, nil)
	l := &lifecycle{env: e, installs: fixture.Installs(e.conn)}
	l.installs.SetHooks(e.svc)
	l.v1 = fixture.Publish(t, e.conn, "crm", "1.0.0", v1Endpoints, nil)
	l.v2 = fixture.Publish(t, e.conn, "crm", "2.0.0", v2Endpoints, nil)
	if _, err := l.installs.Install(context.Background(), e.admin, l.v1.Slug, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *lifecycle) create(t *testing.T, route, name string) schedule.View {
	t.Helper()
	in := schedule.Input{EndpointID: str(l.v1.Endpoints[route].String()), Cron: str("0 9 * * *"), Name: str(name)}
	v, err := l.svc.Create(context.Background(), l.admin, l.v1.Slug, in, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (l *lifecycle) get(t *testing.T, id uuid.UUID) schedule.View {
	t.Helper()
	v, err := l.svc.Get(context.Background(), l.admin, l.v1.Slug, id.String())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUpdateRemapsAndRollsBack(t *testing.T) {
	t.Parallel()
	l := lifecycleSetup(t)
	ctx := context.Background()
	sync := l.create(t, "POST /sync", "sync")
	refresh := l.create(t, "GET /refresh", "refresh")
	off, err := l.svc.SetEnabled(ctx, l.admin, l.v1.Slug, refresh.ID.String(), false)
	if err != nil {
		t.Fatal(err)
	}
	in, plan, err := l.installs.UpdateVersion(ctx, l.admin, l.v1.Slug, "2.0.0", extensions.MissingPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != "2.0.0" || len(plan.Remapped) != 2 || len(plan.Missing) != 0 {
		t.Fatalf("update: version %s, plan %+v", in.Version, plan)
	}
	if got := l.get(t, sync.ID); got.EndpointID != l.v2.Endpoints["POST /sync"] || !got.Enabled || got.NextRunAt == nil {
		t.Fatalf("sync after upgrade: %+v, want v2's POST /sync, enabled, with a next run", got)
	}
	if got := l.get(t, refresh.ID); got.EndpointID != l.v2.Endpoints["GET /refresh"] || got.Enabled || off.Enabled {
		t.Fatalf("refresh after upgrade: endpoint %s enabled %v, want v2's GET /refresh and still disabled", got.EndpointID, got.Enabled)
	}
	// Rollback.
	if _, _, err := l.installs.UpdateVersion(ctx, l.admin, l.v1.Slug, "1.0.0", extensions.MissingPolicy{}); err != nil {
		t.Fatal(err)
	}
	if got := l.get(t, sync.ID); got.EndpointID != l.v1.Endpoints["POST /sync"] || !got.Enabled {
		t.Fatalf("sync after rollback: %+v", got)
	}
	state, err := scheduler.NewPGJobRunner().Describe(ctx, l.conn, l.admin.TenantID, sync.InstallID, sync.ID)
	if err != nil || !state.Exists || state.Paused {
		t.Fatalf("timer after rollback: %+v %v, want live", state, err)
	}
}

func TestUpdateBlockedChangesNothing(t *testing.T) {
	t.Parallel()
	l := lifecycleSetup(t)
	ctx := context.Background()
	sync := l.create(t, "POST /sync", "sync")
	remind := l.create(t, "POST /reminders", "remind")
	before := l.get(t, remind.ID)
	_, _, err := l.installs.UpdateVersion(ctx, l.admin, l.v1.Slug, "2.0.0", extensions.MissingPolicy{})
	fe, ok := fault.As(err)
	if !ok || fe.Code != fault.RemapFailed {
		t.Fatalf("update: %v, want SCHEDULE_REMAP_FAILED", err)
	}
	missing, _ := fe.Detail.([]extensions.MissingSchedule)
	if len(missing) != 1 || missing[0].ScheduleID != remind.ID || missing[0].Method != "POST" || missing[0].Path != "/reminders" || *missing[0].Name != "remind" {
		t.Fatalf("missing %+v, want exactly the reminders schedule", fe.Detail)
	}
	in, err := l.installs.Get(ctx, l.admin, l.v1.Slug)
	if err != nil || in.Version != "1.0.0" {
		t.Fatalf("install moved to %s (%v)", in.Version, err)
	}
	if got := l.get(t, sync.ID); got.EndpointID != sync.EndpointID || got.Revision != sync.Revision {
		t.Fatalf("sync changed: %+v", got)
	}
	if got := l.get(t, remind.ID); !got.Enabled || got.Revision != before.Revision || !got.NextRunAt.Equal(*before.NextRunAt) {
		t.Fatalf("remind changed: %+v", got)
	}
	preview, err := l.installs.PreviewUpdate(ctx, l.viewer, l.v1.Slug, "2.0.0")
	if err != nil || !preview.Blocked || len(preview.Plan.Missing) != 1 || len(preview.Plan.Remapped) != 1 {
		t.Fatalf("preview %+v %v, want blocked with 1 missing and 1 remapped", preview, err)
	}
}

func TestUpdateDisablingMissing(t *testing.T) {
	t.Parallel()
	l := lifecycleSetup(t)
	ctx := context.Background()
	sync := l.create(t, "POST /sync", "sync")
	remind := l.create(t, "POST /reminders", "remind")
	if _, _, err := l.installs.UpdateVersion(ctx, l.admin, l.v1.Slug, "2.0.0", extensions.MissingPolicy{Disable: true}); err != nil {
		t.Fatal(err)
	}
	got := l.get(t, remind.ID)
	want := "disabled: endpoint POST /reminders is missing in version 2.0.0"
	if got.Enabled || got.LastError == nil || *got.LastError != want || got.NextRunAt != nil {
		t.Fatalf("remind after override: enabled %v last_error %v next %v, want disabled with %q", got.Enabled, got.LastError, got.NextRunAt, want)
	}
	state, _ := scheduler.NewPGJobRunner().Describe(ctx, l.conn, l.admin.TenantID, remind.InstallID, remind.ID)
	if state.Exists {
		t.Fatal("the disabled schedule kept its timer")
	}
	if s := l.get(t, sync.ID); !s.Enabled || s.EndpointID != l.v2.Endpoints["POST /sync"] {
		t.Fatalf("sync after override: %+v", s)
	}
	var actions []string
	if err := l.conn.Select(&actions, `SELECT action FROM audit_event WHERE tenant_id = $1 AND action IN ('install.update', 'schedule.remap', 'schedule.disable_missing') ORDER BY action`, l.admin.TenantID); err != nil {
		t.Fatal(err)
	}
	if strings.Join(actions, ",") != "install.update,schedule.disable_missing,schedule.remap" {
		t.Fatalf("audit actions %v", actions)
	}
}

// Disabling is limited to the schedules the user reviewed: one that became
// missing after the review (here, created after it) refuses the update and
// changes nothing; with both reviewed it goes through.
func TestUpdateDisablesOnlyReviewed(t *testing.T) {
	t.Parallel()
	l := lifecycleSetup(t)
	ctx := context.Background()
	remind := l.create(t, "POST /reminders", "remind")
	preview, err := l.installs.PreviewUpdate(ctx, l.admin, l.v1.Slug, "2.0.0")
	if err != nil || len(preview.Plan.Missing) != 1 {
		t.Fatalf("preview %+v %v", preview, err)
	}
	reviewed := []uuid.UUID{preview.Plan.Missing[0].ScheduleID}
	later := l.create(t, "POST /reminders", "created after the review")
	_, _, err = l.installs.UpdateVersion(ctx, l.admin, l.v1.Slug, "2.0.0",
		extensions.MissingPolicy{Disable: true, Reviewed: reviewed})
	fe, ok := fault.As(err)
	if !ok || fe.Code != fault.RemapFailed {
		t.Fatalf("update: %v, want SCHEDULE_REMAP_FAILED", err)
	}
	if missing, _ := fe.Detail.([]extensions.MissingSchedule); len(missing) != 2 {
		t.Fatalf("missing %+v, want both schedules", fe.Detail)
	}
	for _, id := range []uuid.UUID{remind.ID, later.ID} {
		if got := l.get(t, id); !got.Enabled {
			t.Fatalf("schedule %s disabled by a refused update", id)
		}
	}
	if in, _ := l.installs.Get(ctx, l.admin, l.v1.Slug); in.Version != "1.0.0" {
		t.Fatalf("install moved to %s", in.Version)
	}
	_, plan, err := l.installs.UpdateVersion(ctx, l.admin, l.v1.Slug, "2.0.0",
		extensions.MissingPolicy{Disable: true, Reviewed: []uuid.UUID{remind.ID, later.ID}})
	if err != nil || len(plan.Missing) != 2 {
		t.Fatalf("update with both reviewed: %v, %d disabled", err, len(plan.Missing))
	}
	if got := l.get(t, later.ID); got.Enabled {
		t.Fatal("the reviewed schedule stayed enabled")
	}
}

// A failure half-way (after the schedules were remapped, when the install
// row moves) leaves everything as before.
func TestUpdateIsAtomic(t *testing.T) {
	t.Parallel()
	l := lifecycleSetup(t)
	ctx := context.Background()
	sync := l.create(t, "POST /sync", "sync")
	remind := l.create(t, "POST /reminders", "remind")
	_, err := l.conn.Exec(`
		CREATE FUNCTION fail_version_move() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.version_id <> OLD.version_id THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER fail_version_move BEFORE UPDATE ON tenant_extension_install
		FOR EACH ROW EXECUTE FUNCTION fail_version_move();`)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.installs.UpdateVersion(ctx, l.admin, l.v1.Slug, "2.0.0", extensions.MissingPolicy{Disable: true}); err == nil {
		t.Fatal("update succeeded despite the injected failure")
	}
	if got := l.get(t, sync.ID); got.EndpointID != sync.EndpointID || got.Revision != sync.Revision {
		t.Fatalf("sync changed by a failed update: %+v", got)
	}
	if got := l.get(t, remind.ID); !got.Enabled || got.LastError != nil {
		t.Fatalf("remind changed by a failed update: %+v", got)
	}
	state, _ := scheduler.NewPGJobRunner().Describe(ctx, l.conn, l.admin.TenantID, remind.InstallID, remind.ID)
	if !state.Exists {
		t.Fatal("a failed update removed a timer")
	}
}

func TestInstallTogglePausesAndResumesTimers(t *testing.T) {
	t.Parallel()
	l := lifecycleSetup(t)
	ctx := context.Background()
	sync := l.create(t, "POST /sync", "sync")
	refresh := l.create(t, "GET /refresh", "refresh")
	if _, err := l.svc.SetEnabled(ctx, l.admin, l.v1.Slug, refresh.ID.String(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.installs.Disable(ctx, l.admin, l.v1.Slug); err != nil {
		t.Fatal(err)
	}
	jobs := scheduler.NewPGJobRunner()
	state, _ := jobs.Describe(ctx, l.conn, l.admin.TenantID, sync.InstallID, sync.ID)
	if !state.Exists || !state.Paused || l.get(t, sync.ID).NextRunAt != nil || !l.get(t, sync.ID).Enabled {
		t.Fatalf("after disabling the install: timer %+v, schedule %+v; want a paused timer and the schedule still enabled", state, l.get(t, sync.ID))
	}
	l.clock.Advance(72 * time.Hour)
	if _, err := l.installs.Enable(ctx, l.admin, l.v1.Slug); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC) // clock is June 4, 10:00
	got := l.get(t, sync.ID)
	if got.NextRunAt == nil || !got.NextRunAt.Equal(want) {
		t.Fatalf("after enabling: next %v, want the next future fire %v", got.NextRunAt, want)
	}
	if r := l.get(t, refresh.ID); r.Enabled || r.NextRunAt != nil {
		t.Fatalf("the disabled schedule came back: %+v", r)
	}
	var n int
	if err := l.conn.Get(&n, `SELECT count(*) FROM scheduler_timer WHERE tenant_id = $1 AND paused`, l.admin.TenantID); err != nil || n != 0 {
		t.Fatalf("%d paused timers remain (%v)", n, err)
	}
}

func TestUninstallLeavesNothing(t *testing.T) {
	t.Parallel()
	l := lifecycleSetup(t)
	ctx := context.Background()
	sync := l.create(t, "POST /sync", "sync")
	if _, _, err := l.svc.RunNow(ctx, l.admin, l.v1.Slug, sync.ID.String(), "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.installs.Uninstall(ctx, l.admin, l.v1.Slug); err != nil {
		t.Fatal(err)
	}
	var n int
	err := l.conn.Get(&n, `SELECT (SELECT count(*) FROM tenant_extension_schedule WHERE install_id = $1)
		+ (SELECT count(*) FROM tenant_extension_schedule_run WHERE install_id = $1)
		+ (SELECT count(*) FROM scheduler_timer WHERE schedule_id = $2)
		+ (SELECT count(*) FROM tenant_extension_install WHERE id = $1)`, sync.InstallID, sync.ID)
	if err != nil || n != 0 {
		t.Fatalf("%d rows of the install remain (%v)", n, err)
	}
	if _, err := db.FindVersion(ctx, l.conn, l.v1.VersionID); err != nil {
		t.Fatalf("registry row gone: %v", err)
	}
	if _, err := l.installs.Uninstall(ctx, l.admin, l.v1.Slug); !fault.Is(err, fault.NotFound) {
		t.Fatalf("second uninstall: %v, want not found", err)
	}
}

// An uninstall interrupted before its last step (the install row) leaves
// everything in place, and repeating it finishes the job.
func TestInterruptedUninstallFinishesWhenRepeated(t *testing.T) {
	t.Parallel()
	l := lifecycleSetup(t)
	ctx := context.Background()
	sync := l.create(t, "POST /sync", "sync")
	if _, _, err := l.svc.RunNow(ctx, l.admin, l.v1.Slug, sync.ID.String(), "k"); err != nil {
		t.Fatal(err)
	}
	_, err := l.conn.Exec(`
		CREATE FUNCTION fail_install_delete() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'interrupted'; END $$;
		CREATE TRIGGER fail_install_delete BEFORE DELETE ON tenant_extension_install
		FOR EACH ROW EXECUTE FUNCTION fail_install_delete();`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.installs.Uninstall(ctx, l.admin, l.v1.Slug); err == nil {
		t.Fatal("uninstall succeeded despite the interruption")
	}
	count := func() int {
		var n int
		if err := l.conn.Get(&n, `SELECT (SELECT count(*) FROM tenant_extension_schedule WHERE install_id = $1)
			+ (SELECT count(*) FROM tenant_extension_schedule_run WHERE install_id = $1)
			+ (SELECT count(*) FROM scheduler_timer WHERE schedule_id = $2)
			+ (SELECT count(*) FROM tenant_extension_install WHERE id = $1)`, sync.InstallID, sync.ID); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 4 {
		t.Fatalf("after the interrupted uninstall %d rows remain, want all 4 (schedule, run, timer, install)", n)
	}
	if _, err := l.conn.Exec(`DROP TRIGGER fail_install_delete ON tenant_extension_install`); err != nil {
		t.Fatal(err)
	}
	if _, err := l.installs.Uninstall(ctx, l.admin, l.v1.Slug); err != nil {
		t.Fatalf("repeated uninstall: %v", err)
	}
	if n := count(); n != 0 {
		t.Fatalf("after the repeated uninstall %d rows remain", n)
	}
}
