package operator_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"extcron/account"
	"extcron/db/dbtest"
	"extcron/db/dbtest/fixture"
	"extcron/extensions"
	"extcron/operator"
	"extcron/runner"
	"extcron/schedule"
	"extcron/scheduler"
)

// clock is the injected clock shared by the engine and the services.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingRunner answers every call with an extension 200 and counts the
// calls per schedule.
type countingRunner struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

func newCountingRunner(t *testing.T) *countingRunner {
	r := &countingRunner{calls: map[string]int{}}
	ok := `{"status":200,"body_b64":"` + base64.StdEncoding.EncodeToString([]byte(`{"ok":true}`)) + `"}`
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var body runner.Request
		_ = json.Unmarshal(raw, &body)
		r.mu.Lock()
		r.calls[body.Context.ScheduleID]++
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, ok)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *countingRunner) callsFor(id uuid.UUID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id.String()]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKillSwitchWithEngine drives the real engine across several fire
// times: while the operator has tenant A suspended, none of A's schedules
// produces a run or a runner call, tenant B keeps firing, and resuming
// continues from the next fire time with no burst of the missed ones.
func TestKillSwitchWithEngine(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 6, 1, 10, 0, 30, 0, time.UTC)}
	quiet := fixture.Quiet()
	jobs := scheduler.NewPGJobRunner()
	schedules := schedule.NewService(d.DB, jobs, schedule.DefaultLimits(), quiet, clk.Now)
	ext := fixture.Publish(t, d.DB, "ticks", "1.0.0", fixture.DefaultEndpoints, nil)
	a := fixture.Tenant(t, d.DB, "")
	b := fixture.Tenant(t, d.DB, "")
	create := func(actor account.Actor) uuid.UUID {
		fixture.Install(t, d.DB, actor, ext)
		ep, cron, zone := ext.Endpoints["POST /sync"].String(), "*/5 * * * *", "UTC"
		v, err := schedules.Create(ctx, actor, ext.Slug, schedule.Input{EndpointID: &ep, Cron: &cron, Timezone: &zone}, "")
		if err != nil {
			t.Fatal(err)
		}
		return v.ID
	}
	schedA, schedB := create(a), create(b)

	run := newCountingRunner(t)
	eng := scheduler.NewEngine(d.DB, runner.NewClient(run.URL, 5*time.Second, 0, nil), scheduler.Options{
		Now: clk.Now, PollInterval: 20 * time.Millisecond, ReconcileInterval: -1, LeaseDuration: 48 * time.Hour,
		Workers: 8, StopGrace: 2 * time.Second, Logger: quiet})
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := eng.Start(startCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Stop)
	ops := operator.NewService(d.DB, jobs, extensions.NewRegistry(d.DB, quiet), eng, quiet, clk.Now)
	op := account.Actor{TenantID: uuid.New(), UserID: uuid.New(), Email: "op@test.example", Operator: true}

	runs := func(tenant account.Actor, id uuid.UUID, status string) int {
		var n int
		if err := d.DB.Get(&n, `SELECT count(*) FROM tenant_extension_schedule_run WHERE tenant_id = $1 AND schedule_id = $2
			AND ($3 = '' OR status = $3)`, tenant.TenantID, id, status); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if _, err := ops.SuspendTenant(ctx, op, a.TenantID.String()); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ { // 10:05, 10:10, 10:15
		clk.Add(5 * time.Minute)
		eng.Wake()
		waitFor(t, "tenant B's run", func() bool { return runs(b, schedB, "success") == i })
		if n := runs(a, schedA, ""); n != 0 {
			t.Fatalf("after %d fire times the suspended tenant has %d runs, want none", i, n)
		}
	}
	if n := run.callsFor(schedA); n != 0 {
		t.Fatalf("the suspended tenant's schedule called the runner %d times", n)
	}

	clk.Add(time.Minute) // 10:16:30
	if _, err := ops.ResumeTenant(ctx, op, a.TenantID.String()); err != nil {
		t.Fatal(err)
	}
	var next time.Time
	if err := d.DB.Get(&next, `SELECT next_run_at FROM tenant_extension_schedule WHERE tenant_id = $1 AND id = $2`, a.TenantID, schedA); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 6, 1, 10, 20, 0, 0, time.UTC); !next.Equal(want) {
		t.Fatalf("next run after resume %s, want %s (the next fire time, not a missed one)", next.UTC(), want)
	}
	clk.Add(4 * time.Minute) // 10:20:30
	eng.Wake()
	waitFor(t, "both tenants' 10:20 runs", func() bool {
		return runs(a, schedA, "success") == 1 && runs(b, schedB, "success") == 4
	})
	var scheduledFor time.Time
	if err := d.DB.Get(&scheduledFor, `SELECT scheduled_for FROM tenant_extension_schedule_run WHERE tenant_id = $1 AND schedule_id = $2`,
		a.TenantID, schedA); err != nil {
		t.Fatal(err)
	}
	if !scheduledFor.Equal(next) || runs(a, schedA, "") != 1 || run.callsFor(schedA) != 1 {
		t.Fatalf("after resume: %d runs (%d calls) for %s; want exactly one, for %s", runs(a, schedA, ""), run.callsFor(schedA), scheduledFor, next)
	}
}
