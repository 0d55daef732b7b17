package scheduler_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"extcron/account"
	"extcron/db/dbtest/fixture"
	"extcron/runner"
	"extcron/scheduler"
)

// bulkSchedules inserts n enabled schedules of the actor's install of ext
// with their timers straight into the database (bypassing the per-install
// limits of the service), first firing at first.
func (e *env) bulkSchedules(actor account.Actor, ext fixture.Published, n int, cron string, first time.Time) []uuid.UUID {
	e.t.Helper()
	var installID uuid.UUID
	if err := e.conn.GetContext(context.Background(), &installID,
		`SELECT id FROM tenant_extension_install WHERE tenant_id = $1`, actor.TenantID); err != nil {
		e.t.Fatalf("find install: %v", err)
	}
	ids := make([]uuid.UUID, n)
	keys := make([]string, n)
	idStrs := make([]string, n)
	for i := range ids {
		ids[i] = uuid.New()
		keys[i] = scheduler.Key(installID, ids[i])
		idStrs[i] = ids[i].String()
	}
	e.exec(`
		INSERT INTO tenant_extension_schedule (tenant_id, id, install_id, endpoint_id, cron, timezone, overlap_policy)
		SELECT $1, x::uuid, $2, $3, $4, 'UTC', 'skip' FROM unnest($5::text[]) AS x`,
		actor.TenantID, installID, ext.Endpoints["POST /sync"], cron, pqArray(idStrs))
	e.exec(`
		INSERT INTO scheduler_timer (tenant_id, key, schedule_id, next_fire_at)
		SELECT $1, k, s::uuid, $2 FROM unnest($3::text[], $4::text[]) AS u(k, s)`,
		actor.TenantID, first, pqArray(keys), pqArray(idStrs))
	return ids
}

// tenants returns n tenants with an install of e.ext, the env's admin
// tenant first.
func (e *env) tenants(n int) []account.Actor {
	tenants := []account.Actor{e.admin}
	for len(tenants) < n {
		a := fixture.Tenant(e.t, e.conn, "")
		fixture.Install(e.t, e.conn, a, e.ext)
		tenants = append(tenants, a)
	}
	return tenants
}

// checkOneCallPerInvocation fails t if the runner was called twice for one
// invocation.
func (f *fakeRunner) checkOneCallPerInvocation(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, c := range f.calls {
		if seen[c.Req.Context.InvocationID] {
			t.Errorf("invocation %s called twice", c.Req.Context.InvocationID)
		}
		seen[c.Req.Context.InvocationID] = true
	}
}

// TestExactlyOnceAcrossThreeEngines: three engines on one database, a
// thousand schedules, several fire times: every (schedule, fire time) has
// exactly one run and the runner was called exactly once for it.
func TestExactlyOnceAcrossThreeEngines(t *testing.T) {
	t.Parallel()
	e := setup(t)
	schedules, fires := 1000, 5
	if testing.Short() {
		schedules, fires = 200, 3
	}
	first := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	tenants := e.tenants(4)
	for _, a := range tenants {
		e.bulkSchedules(a, e.ext, schedules/len(tenants), "*/5 * * * *", first)
	}
	for i := 0; i < 3; i++ {
		opts := e.options()
		opts.TenantConcurrency = 50
		opts.BatchSize = 100 // several claim transactions per fire time, interleaved across engines
		e.start(opts, nil)
	}
	for f := 0; f < fires; f++ {
		at := first.Add(time.Duration(f) * 5 * time.Minute)
		e.at(at.Add(time.Second))
		want := schedules * (f + 1)
		eventually(t, 90*time.Second, "every run of the fire time to finish", func() bool {
			return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'success'`) == want
		})
	}
	if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run`); n != schedules*fires {
		t.Fatalf("runs = %d, want %d", n, schedules*fires)
	}
	if n := e.count(`SELECT count(*) FROM (SELECT 1 FROM tenant_extension_schedule_run
		GROUP BY tenant_id, schedule_id, scheduled_for HAVING count(*) <> 1) d`); n != 0 {
		t.Fatalf("%d fire times with more than one run", n)
	}
	// Every schedule has every fire time.
	if n := e.count(`SELECT count(*) FROM (SELECT schedule_id FROM tenant_extension_schedule_run
		GROUP BY schedule_id HAVING count(DISTINCT scheduled_for) <> $1) d`, fires); n != 0 {
		t.Fatalf("%d schedules miss a fire time", n)
	}
	if got := e.runner.count(); got != schedules*fires {
		t.Fatalf("runner calls = %d, want %d (one per run)", got, schedules*fires)
	}
	e.runner.checkOneCallPerInvocation(t)
}

// TestFrequentRestartsNeitherLoseNorAddRuns: engines come and go between
// fire times (and one starts right on a due slot); each fire time runs
// once, and starting never fires anything by itself.
func TestFrequentRestartsNeitherLoseNorAddRuns(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ids := e.bulkSchedules(e.admin, e.ext, 20, "*/5 * * * *", time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC))
	for f := 0; f < 5; f++ {
		slot := time.Date(2026, 6, 1, 10, 5*(f+1), 1, 0, time.UTC)
		onSlot := f == 2 // this engine starts with its slot already due
		if onSlot {
			e.clock.Set(slot)
		}
		eng := scheduler.NewEngine(e.conn, e.client(5*time.Second, 0), e.options())
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
		if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run`); !onSlot && n != 20*f {
			t.Fatalf("start %d: %d runs, want %d (nothing on start)", f, n, 20*f)
		}
		e.clock.Set(slot)
		eng.Wake()
		eventually(t, 10*time.Second, "the slot's runs", func() bool {
			return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'success'`) == 20*(f+1)
		})
		eng.Stop()
	}
	for _, id := range ids {
		if rs := e.runs(e.admin.TenantID, id); len(rs) != 5 {
			t.Fatalf("schedule has %d runs, want 5: %s", len(rs), statuses(rs))
		}
	}
}

// TestExactlyOnceWhileFireTimesOverlap: three engines, hundreds of
// every-minute schedules and 30 fire times, with the clock moving on
// while calls are still in flight (calls take up to 30 ms; a minute passes
// every 80 ms, about what three engines need for 300 calls). Whatever each fire time becomes — a run, a skip because
// the last call is still running, a miss — it is recorded exactly once,
// none is lost, and every call made was made once.
func TestExactlyOnceWhileFireTimesOverlap(t *testing.T) {
	t.Parallel()
	e := setup(t)
	schedules, fires := 300, 30
	if testing.Short() {
		schedules, fires = 100, 10
	}
	e.runner.setRespond(func(runner.Request) answer {
		return answer{Sleep: time.Duration(rand.Int64N(int64(30 * time.Millisecond)))}
	})
	first := time.Date(2026, 6, 1, 10, 1, 0, 0, time.UTC)
	tenants := e.tenants(3)
	for _, a := range tenants {
		e.bulkSchedules(a, e.ext, schedules/len(tenants), "* * * * *", first)
	}
	for i := 0; i < 3; i++ {
		opts := e.options()
		opts.TenantConcurrency = 100
		opts.BatchSize = 50
		e.start(opts, nil)
	}
	for f := 0; f < fires; f++ {
		e.at(first.Add(time.Duration(f) * time.Minute))
		time.Sleep(80 * time.Millisecond)
	}
	last := first.Add(time.Duration(fires-1) * time.Minute)
	e.at(last.Add(30 * time.Second))
	eventually(t, 120*time.Second, "every fire time recorded and settled", func() bool {
		return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status NOT IN ('queued', 'running')`) ==
			schedules*fires
	})
	if n := e.count(`SELECT count(*) FROM (SELECT 1 FROM tenant_extension_schedule_run
		GROUP BY tenant_id, schedule_id, scheduled_for HAVING count(*) <> 1) d`); n != 0 {
		t.Fatalf("%d fire times recorded more than once", n)
	}
	if n := e.count(`SELECT count(*) FROM (SELECT schedule_id FROM tenant_extension_schedule_run
		WHERE scheduled_for BETWEEN $1 AND $2
		GROUP BY schedule_id HAVING count(DISTINCT scheduled_for) <> $3) d`, first, last, fires); n != 0 {
		t.Fatalf("%d schedules lack a fire time", n)
	}
	calls := e.runner.count()
	if ran := e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'success'`); ran != calls {
		t.Fatalf("%d runs succeeded after %d runner calls, want one call each", ran, calls)
	}
	e.runner.checkOneCallPerInvocation(t)
	var byStatus []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := e.conn.Select(&byStatus, `SELECT status, count(*) AS n FROM tenant_extension_schedule_run GROUP BY status ORDER BY status`); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d fire times over 3 engines: %+v", schedules*fires, byStatus)
}
