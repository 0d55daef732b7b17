package scheduler_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"extcron/db/dbtest/fixture"
	"extcron/extensions"
	"extcron/runner"
	"extcron/schedule"
	"extcron/scheduler"
)

// TestKillSwitch: while a tenant is suspended none of its schedules call
// the runner (each fire time is recorded as refused) and other tenants
// keep firing; lifting it resumes from the next fire time.
func TestKillSwitch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	other := fixture.Tenant(t, e.conn, "")
	fixture.Install(t, e.conn, other, e.ext)
	suspended := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", nil)
	running := e.create(other, e.ext, "*/5 * * * *", "UTC", nil)
	e.exec(`UPDATE tenant SET schedules_suspended = true WHERE id = $1`, e.admin.TenantID)
	e.start(e.options(), nil)
	t0 := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	for i := 0; i < 2; i++ {
		e.at(t0.Add(time.Duration(i)*5*time.Minute + time.Second))
		eventually(t, 10*time.Second, "both fire times recorded", func() bool {
			return e.settled(e.admin.TenantID, suspended, i+1)() && e.settled(other.TenantID, running, i+1)()
		})
	}
	if n := len(e.runner.callsFor(suspended)); n != 0 {
		t.Fatalf("suspended tenant called the runner %d times", n)
	}
	for _, r := range e.runs(e.admin.TenantID, suspended) {
		if r.Status != "failure" || r.Error == nil || !strings.Contains(*r.Error, "kill switch") {
			t.Fatalf("suspended run %s %v", r.Status, r.Error)
		}
	}
	if n := e.statusCount(running, "success"); n != 2 {
		t.Fatalf("other tenant ran %d, want 2", n)
	}
	if s := e.schedule(e.admin.TenantID, suspended); s.ConsecutiveFailures != 0 || !s.Enabled {
		t.Fatalf("kill switch counted as failures (%d) or disabled the schedule", s.ConsecutiveFailures)
	}
	// A manual run is refused at run time too (the switch is checked when
	// the run executes, not only when it is queued).
	e.advance(30 * time.Second)
	if _, _, err := e.svc.RunNow(context.Background(), e.admin, e.ext.Slug, suspended.String(), "k"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "manual run refused", e.settled(e.admin.TenantID, suspended, 3))
	if n := len(e.runner.callsFor(suspended)); n != 0 {
		t.Fatalf("suspended tenant's manual run called the runner")
	}
	// Lifted: the next fire time runs, nothing is back-filled.
	e.exec(`UPDATE tenant SET schedules_suspended = false WHERE id = $1`, e.admin.TenantID)
	e.at(t0.Add(10*time.Minute + time.Second))
	eventually(t, 10*time.Second, "the next fire time to run", func() bool { return e.statusCount(suspended, "success") == 1 })
	if n := len(e.runs(e.admin.TenantID, suspended)); n != 4 {
		t.Fatalf("runs after lifting = %d, want 4", n)
	}
}

// TestRunTimeChecks: each §5 run-time check is a failed run with its
// reason and the runner is not called; a missing endpoint also disables
// the schedule; a disabled install pauses the timer without a run.
func TestRunTimeChecks(t *testing.T) {
	t.Parallel()
	e := setup(t)
	v2 := fixture.Publish(t, e.conn, "tasks", "2.0.0", fixture.DefaultEndpoints, nil)
	missing := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) { in.Name = str("missing") })
	wrongVersion := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) {
		in.Name = str("wrong version")
		in.EndpointID = str(e.ext.Endpoints["GET /refresh"].String())
	})
	healthy := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) { in.Name = str("healthy") })
	// An endpoint row that vanished, and one of a version not installed.
	ghost := uuid.New()
	e.exec(`UPDATE tenant_extension_schedule SET endpoint_id = $2 WHERE id = $1`, missing, ghost)
	e.exec(`UPDATE tenant_extension_schedule SET endpoint_id = $2 WHERE id = $1`, wrongVersion, v2.Endpoints["GET /refresh"])
	opts := e.options()
	opts.Secrets = fixture.Installs(e.conn)
	e.start(opts, nil)
	t0 := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	e.at(t0.Add(time.Second))
	for _, id := range []uuid.UUID{missing, wrongVersion, healthy} {
		eventually(t, 10*time.Second, "runs to settle", e.settled(e.admin.TenantID, id, 1))
	}
	check := func(id uuid.UUID, want string) {
		t.Helper()
		r := e.runs(e.admin.TenantID, id)[0]
		if r.Status != "failure" || r.Error == nil || !strings.Contains(*r.Error, want) {
			t.Fatalf("run %s %v, want failure containing %q", r.Status, r.Error, want)
		}
		if n := len(e.runner.callsFor(id)); n != 0 {
			t.Fatalf("runner called %d times", n)
		}
	}
	check(missing, "no longer exists")
	check(wrongVersion, "is not in the installed version 1.0.0")
	s := e.schedule(e.admin.TenantID, missing)
	if s.Enabled || s.LastError == nil || !strings.Contains(*s.LastError, "disabled: endpoint "+ghost.String()) {
		t.Fatalf("missing endpoint: enabled %v last error %v", s.Enabled, s.LastError)
	}
	if n := e.count(`SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1`, missing); n != 0 {
		t.Fatalf("timer of the disabled schedule still there")
	}
	if e.statusCount(healthy, "success") != 1 {
		t.Fatalf("healthy schedule did not run")
	}

	// Unreadable secrets.
	e.exec(`UPDATE tenant_extension_install SET secrets_ciphertext = '\x0102030405' WHERE tenant_id = $1`, e.admin.TenantID)
	e.at(t0.Add(5*time.Minute + time.Second))
	eventually(t, 10*time.Second, "healthy's second run", e.settled(e.admin.TenantID, healthy, 2))
	r := e.runs(e.admin.TenantID, healthy)[1]
	if r.Status != "failure" || r.Error == nil || !strings.Contains(*r.Error, "secrets cannot be read") {
		t.Fatalf("secrets: run %s %v", r.Status, r.Error)
	}
	if n := len(e.runner.callsFor(healthy)); n != 1 {
		t.Fatalf("runner called with unreadable secrets")
	}

	// Disabled install: no run at all, the timer pauses.
	e.exec(`UPDATE tenant_extension_install SET secrets_ciphertext = NULL, enabled = false WHERE tenant_id = $1`, e.admin.TenantID)
	e.at(t0.Add(10*time.Minute + time.Second))
	eventually(t, 10*time.Second, "the timer to pause", func() bool {
		return e.count(`SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1 AND paused`, healthy) == 1
	})
	if n := len(e.runs(e.admin.TenantID, healthy)); n != 2 {
		t.Fatalf("disabled install produced a run")
	}
}

// TestSecretsTravelSealed: an install with readable secrets sends the
// envelope, never the plain values.
func TestSecretsTravelSealed(t *testing.T) {
	t.Parallel()
	e := setup(t)
	installs := fixture.Installs(e.conn)
	// Sealed as the install service seals them (same fixture key).
	sealer, err := extensions.SealerFromSecret("fixture secret key that is long enough to use")
	if err != nil {
		t.Fatal(err)
	}
	var installID uuid.UUID
	if err := e.conn.Get(&installID, `SELECT id FROM tenant_extension_install WHERE tenant_id = $1`, e.admin.TenantID); err != nil {
		t.Fatal(err)
	}
	ct, err := sealer.Seal([]byte(`{"token":"s3cret"}`), []byte("install-secrets:"+e.admin.TenantID.String()+":"+installID.String()))
	if err != nil {
		t.Fatal(err)
	}
	e.exec(`UPDATE tenant_extension_install SET secrets_ciphertext = $2 WHERE tenant_id = $1`, e.admin.TenantID, ct)
	if _, err := installs.DecryptSecrets(context.Background(), e.admin.TenantID, installID); err != nil {
		t.Fatalf("fixture secrets do not open: %v", err)
	}
	id := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", nil)
	opts := e.options()
	opts.Secrets = installs
	e.start(opts, nil)
	e.at(time.Date(2026, 6, 1, 10, 5, 1, 0, time.UTC))
	eventually(t, 10*time.Second, "the run", e.settled(e.admin.TenantID, id, 1))
	calls := e.runner.callsFor(id)
	if len(calls) != 1 || calls[0].Req.SecretEnvelope == nil || calls[0].Req.SecretEnvelope.CiphertextB64 == "" {
		t.Fatalf("no secret envelope")
	}
	if strings.Contains(calls[0].Req.SecretEnvelope.CiphertextB64, "s3cret") {
		t.Fatalf("secret sent in clear")
	}
}

// TestUnknownZoneDoesNotStallOthers: a zone the tz database does not know,
// written straight into the database, marks that schedule errored; every
// other schedule keeps firing.
func TestUnknownZoneDoesNotStallOthers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	bad := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) { in.Name = str("bad") })
	good := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) { in.Name = str("good") })
	e.exec(`UPDATE tenant_extension_schedule SET timezone = 'Mars/Olympus_Mons' WHERE id = $1`, bad)
	e.start(e.options(), nil)
	t0 := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		e.at(t0.Add(time.Duration(i)*5*time.Minute + time.Second))
		eventually(t, 10*time.Second, "good to fire", e.settled(e.admin.TenantID, good, i+1))
	}
	s := e.schedule(e.admin.TenantID, bad)
	if s.LastError == nil || !strings.Contains(*s.LastError, "errored") || s.NextRunAt != nil {
		t.Fatalf("bad schedule: last error %v next %v", s.LastError, s.NextRunAt)
	}
	if n := e.count(`SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1 AND next_fire_at IS NULL`, bad); n != 1 {
		t.Fatalf("errored timer not parked")
	}
	if n := len(e.runs(e.admin.TenantID, bad)); n > 1 {
		t.Fatalf("bad schedule produced %d runs", n)
	}
	// Reconciliation reports it.
	eng := e.start(e.options(), nil)
	rep, err := eng.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errored) != 1 || rep.Errored[0].ScheduleID != bad {
		t.Fatalf("report errored = %+v", rep.Errored)
	}
}

// TestEditAndResumeNeverFireByThemselves: moving 0 23 * * * to 0 5 * * *
// at 10:00 fires nothing until 05:00 the next day; a schedule re-enabled
// after hours of being off does not back-fill.
func TestEditAndResumeNeverFireByThemselves(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.create(e.admin, e.ext, "0 23 * * *", "UTC", nil)
	e.start(e.options(), nil)
	v, err := e.svc.Get(context.Background(), e.admin, e.ext.Slug, id.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Update(context.Background(), e.admin, e.ext.Slug, id.String(), schedule.Input{Cron: str("0 5 * * *"), Revision: num(v.Revision)}); err != nil {
		t.Fatal(err)
	}
	e.at(time.Date(2026, 6, 2, 4, 59, 0, 0, time.UTC))
	time.Sleep(150 * time.Millisecond)
	if n := len(e.runs(e.admin.TenantID, id)); n != 0 {
		t.Fatalf("edit fired %d runs before 05:00", n)
	}
	e.at(time.Date(2026, 6, 2, 5, 0, 1, 0, time.UTC))
	eventually(t, 10*time.Second, "05:00 run", e.settled(e.admin.TenantID, id, 1))

	if _, err := e.svc.SetEnabled(context.Background(), e.admin, e.ext.Slug, id.String(), false); err != nil {
		t.Fatal(err)
	}
	e.at(time.Date(2026, 6, 4, 12, 0, 0, 0, time.UTC)) // two 05:00 slots pass while disabled
	if _, err := e.svc.SetEnabled(context.Background(), e.admin, e.ext.Slug, id.String(), true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if n := len(e.runs(e.admin.TenantID, id)); n != 1 {
		t.Fatalf("resume back-filled: %d runs", n)
	}
	e.at(time.Date(2026, 6, 5, 5, 0, 1, 0, time.UTC))
	eventually(t, 10*time.Second, "the first run after resume", e.settled(e.admin.TenantID, id, 2))
	if r := e.runs(e.admin.TenantID, id)[1]; !r.ScheduledFor.Equal(time.Date(2026, 6, 5, 5, 0, 0, 0, time.UTC)) {
		t.Fatalf("first run after resume for %s", r.ScheduledFor)
	}
}

// TestTenantConcurrencyCap: one tenant's slow runs never exceed the cap
// and never hold up another tenant.
func TestTenantConcurrencyCap(t *testing.T) {
	t.Parallel()
	e := setup(t)
	g := newGate(e)
	other := fixture.Tenant(t, e.conn, "")
	fixture.Install(t, e.conn, other, e.ext)
	slow := e.bulkSchedules(e.admin, e.ext, 15, "*/5 * * * *", time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC))
	for _, id := range slow {
		g.hold(id)
	}
	fast := e.create(other, e.ext, "*/5 * * * *", "UTC", nil)
	opts := e.options()
	opts.TenantConcurrency = 4
	e.start(opts, nil)
	e.at(time.Date(2026, 6, 1, 10, 5, 1, 0, time.UTC))
	eventually(t, 10*time.Second, "the other tenant's run", e.settled(other.TenantID, fast, 1))
	eventually(t, 10*time.Second, "the slow tenant at its cap", func() bool {
		return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE tenant_id = $1 AND status = 'running'`, e.admin.TenantID) == 4
	})
	time.Sleep(150 * time.Millisecond)
	if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE tenant_id = $1 AND status = 'running'`, e.admin.TenantID); n != 4 {
		t.Fatalf("running = %d, want the cap 4", n)
	}
	for _, id := range slow {
		g.release(id)
	}
	eventually(t, 20*time.Second, "all slow runs", func() bool {
		return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE tenant_id = $1 AND status = 'success'`, e.admin.TenantID) == 15
	})
}

// TestLateResultIsDiscarded: engine A's lease expires mid-call (by B's
// clock); B recovers the run as attempt 2 with the same invocation id and
// finishes it; A's late answer changes nothing.
func TestLateResultIsDiscarded(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hang := make(chan struct{})
	first := true
	var mu sync.Mutex
	e.runner.setRespond(func(req runner.Request) answer {
		mu.Lock()
		defer mu.Unlock()
		if first {
			first = false
			return answer{Hang: hang, Body: ext(500, "late")}
		}
		return answer{}
	})
	id := e.create(e.admin, e.ext, "0 3 * * *", "UTC", nil)
	optsA := e.options()
	optsA.LeaseDuration = time.Minute
	optsA.ProcessID = "engine-a"
	a := e.start(optsA, e.client(20*time.Second, 0))
	e.at(time.Date(2026, 6, 2, 3, 0, 1, 0, time.UTC))
	eventually(t, 10*time.Second, "A's call in flight", func() bool { return len(e.runner.callsFor(id)) == 1 })
	// B lives two minutes ahead: A's lease has expired for it.
	bClock := &clock{t: e.clock.Now().Add(2 * time.Minute)}
	optsB := e.options()
	optsB.Now = bClock.Now
	optsB.ProcessID = "engine-b"
	b := scheduler.NewEngine(e.conn, e.client(5*time.Second, 0), optsB)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	eventually(t, 10*time.Second, "B to finish attempt 2", e.settled(e.admin.TenantID, id, 1))
	close(hang) // A's late, failed answer arrives
	a.Stop()
	r := e.runs(e.admin.TenantID, id)[0]
	if r.Status != "success" || r.Attempt != 2 {
		t.Fatalf("run %s attempt %d, want success attempt 2", r.Status, r.Attempt)
	}
	cs := e.runner.callsFor(id)
	if len(cs) != 2 || cs[0].Req.Context.InvocationID != cs[1].Req.Context.InvocationID || cs[1].Req.Context.Attempt != 2 {
		t.Fatalf("calls %d", len(cs))
	}
	// The recovered attempt is the same run to the extension: same key,
	// same fire time.
	key := cs[0].Header.Get(runner.HeaderIdempotencyKey)
	if key == "" || cs[1].Header.Get(runner.HeaderIdempotencyKey) != key ||
		cs[1].Req.Context.ScheduledFor != cs[0].Req.Context.ScheduledFor {
		t.Fatalf("recovered attempt: key %q → %q, scheduled_for %v → %v", key, cs[1].Header.Get(runner.HeaderIdempotencyKey),
			cs[0].Req.Context.ScheduledFor, cs[1].Req.Context.ScheduledFor)
	}
	if s := e.schedule(e.admin.TenantID, id); *s.LastRunStatus != "success" || s.ConsecutiveFailures != 0 {
		t.Fatalf("schedule took A's late result: %s %d", *s.LastRunStatus, s.ConsecutiveFailures)
	}
}

// A call that outlasts the lease many times over is not taken for a dead
// one while its holder lives: the holder renews the lease, and another
// process, on the same clock and watching for expired leases, leaves the
// run alone. Both engines' clock follows real time here, so the lease
// (900 ms) would expire four times over during the 3.5 s call without
// renewal.
func TestLeaseIsRenewedWhileTheCallRuns(t *testing.T) {
	t.Parallel()
	e := setup(t)
	release := make(chan struct{})
	e.runner.setRespond(func(req runner.Request) answer { return answer{Hang: release} })
	id := e.create(e.admin, e.ext, "0 3 * * *", "UTC", nil)
	fire := time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC)
	e.clock.Set(fire)
	stop := make(chan struct{})
	go func() {
		// The shared clock follows real time from the fire time on.
		began := time.Now()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				e.clock.Set(fire.Add(time.Since(began)))
			}
		}
	}()
	defer close(stop)
	for _, name := range []string{"engine-a", "engine-b"} {
		opts := e.options()
		opts.LeaseDuration = 900 * time.Millisecond
		opts.ProcessID = name
		e.start(opts, e.client(20*time.Second, 0))
	}
	e.at(e.clock.Now())
	eventually(t, 10*time.Second, "the call in flight", func() bool { return len(e.runner.callsFor(id)) == 1 })
	time.Sleep(3500 * time.Millisecond)
	if n := len(e.runner.callsFor(id)); n != 1 {
		t.Fatalf("%d calls while the first was still running; its lease was not renewed", n)
	}
	r := e.runs(e.admin.TenantID, id)
	if len(r) != 1 || r[0].Status != "running" || r[0].Attempt != 1 {
		t.Fatalf("runs %s, want one running attempt 1", statuses(r))
	}
	close(release)
	eventually(t, 10*time.Second, "the run to finish", e.settled(e.admin.TenantID, id, 1))
	r = e.runs(e.admin.TenantID, id)
	if r[0].Status != "success" || r[0].Attempt != 1 || len(e.runner.callsFor(id)) != 1 {
		t.Fatalf("run %s attempt %d after %d calls, want success attempt 1 after one call",
			r[0].Status, r[0].Attempt, len(e.runner.callsFor(id)))
	}
}

// TestTenantCapHoldsAcrossEngines: three engines (each with two fire loops
// and a run loop claiming at once) fire one tenant's due schedules; the
// tenant never has more calls in flight than its cap, counted at the
// runner, and every fire time still runs.
func TestTenantCapHoldsAcrossEngines(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const capN = 3
	var mu sync.Mutex
	inFlight, peak := 0, 0
	e.runner.setRespond(func(req runner.Request) answer {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(time.Duration(10+rand.IntN(20)) * time.Millisecond)
		mu.Lock()
		inFlight-- // before the answer leaves, so the next call cannot look concurrent
		mu.Unlock()
		return answer{}
	})
	const schedules, fires = 250, 2
	first := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	e.bulkSchedules(e.admin, e.ext, schedules, "*/5 * * * *", first)
	for i := 0; i < 3; i++ {
		opts := e.options()
		opts.TenantConcurrency = capN
		e.start(opts, nil)
	}
	for f := 0; f < fires; f++ {
		e.at(first.Add(time.Duration(f)*5*time.Minute + time.Second))
		eventually(t, 30*time.Second, "the fire time's runs", func() bool {
			return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'success'`) == schedules*(f+1)
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if peak > capN {
		t.Fatalf("%d calls of one tenant in flight at once; the cap is %d", peak, capN)
	}
	if peak < capN {
		t.Fatalf("at most %d calls in flight; the test wants the cap (%d) reached to prove anything", peak, capN)
	}
}
