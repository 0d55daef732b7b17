package scheduler_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"extcron/db"
	"extcron/runner"
	"extcron/schedule"
)

// gate makes the runner hang per schedule until released.
type gate struct {
	mu sync.Mutex
	ch map[uuid.UUID]chan struct{}
}

func newGate(e *env) *gate {
	g := &gate{ch: map[uuid.UUID]chan struct{}{}}
	e.runner.setRespond(func(req runner.Request) answer {
		g.mu.Lock()
		defer g.mu.Unlock()
		if c, ok := g.ch[uuid.MustParse(req.Context.ScheduleID)]; ok {
			return answer{Hang: c}
		}
		return answer{}
	})
	e.t.Cleanup(func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, c := range g.ch {
			select {
			case <-c:
			default:
				close(c)
			}
		}
	})
	return g
}

func (g *gate) hold(id uuid.UUID) {
	g.mu.Lock()
	g.ch[id] = make(chan struct{})
	g.mu.Unlock()
}

func (g *gate) release(id uuid.UUID) {
	g.mu.Lock()
	close(g.ch[id])
	delete(g.ch, id)
	g.mu.Unlock()
}

func (e *env) statusCount(id uuid.UUID, status string) int {
	return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE schedule_id = $1 AND status = $2`, id, status)
}

// TestOverlapPolicies: a 5-minute schedule whose call outlasts two fire
// times. skip records skipped slots and never has a twin in flight;
// buffer_one runs one follow-up right after; allow runs them side by side.
func TestOverlapPolicies(t *testing.T) {
	t.Parallel()
	e := setup(t)
	g := newGate(e)
	ids := map[string]uuid.UUID{}
	for _, p := range []string{"skip", "buffer_one", "allow"} {
		p := p
		ids[p] = e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) {
			in.Name = str(p)
			in.OverlapPolicy = &p
		})
		g.hold(ids[p])
	}
	e.start(e.options(), nil)
	t0 := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	e.at(t0.Add(time.Second))
	eventually(t, 10*time.Second, "three runs in flight", func() bool {
		return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'running'`) == 3
	})
	e.at(t0.Add(5*time.Minute + time.Second))
	eventually(t, 10*time.Second, "second fire time recorded", func() bool {
		return len(e.runs(e.admin.TenantID, ids["skip"])) == 2 && len(e.runs(e.admin.TenantID, ids["buffer_one"])) == 2 &&
			e.statusCount(ids["allow"], "running") == 2
	})
	e.at(t0.Add(10*time.Minute + time.Second))
	eventually(t, 10*time.Second, "third fire time recorded", func() bool {
		return len(e.runs(e.admin.TenantID, ids["skip"])) == 3 && len(e.runs(e.admin.TenantID, ids["buffer_one"])) == 3 &&
			e.statusCount(ids["allow"], "running") == 3
	})
	// skip: the in-flight run has no twin; both later slots are skipped
	// with the reason.
	rs := e.runs(e.admin.TenantID, ids["skip"])
	if got := statuses(rs); got != "running@06-01T10:05,skipped@06-01T10:10,skipped@06-01T10:15" {
		t.Fatalf("skip runs = %s", got)
	}
	if !strings.Contains(*rs[1].Error, "still in flight") || !strings.Contains(*rs[1].Error, rs[0].ID.String()) {
		t.Fatalf("skip reason %q", *rs[1].Error)
	}
	// buffer_one: one follow-up is held, the next slot skipped.
	if got := statuses(e.runs(e.admin.TenantID, ids["buffer_one"])); got != "running@06-01T10:05,queued@06-01T10:10,skipped@06-01T10:15" {
		t.Fatalf("buffer_one runs = %s", got)
	}
	if cs := e.runner.callsFor(ids["buffer_one"]); len(cs) != 1 {
		for _, c := range cs {
			t.Logf("call %+v at %s", c.Req.Context, c.Arrived)
		}
		t.Fatalf("buffer_one calls while the first runs = %d, want 1", len(cs))
	}
	for _, p := range []string{"skip", "buffer_one", "allow"} {
		g.release(ids[p])
	}
	eventually(t, 10*time.Second, "buffer_one's follow-up to run after the first", e.settled(e.admin.TenantID, ids["buffer_one"], 3))
	eventually(t, 10*time.Second, "allow's runs to end", e.settled(e.admin.TenantID, ids["allow"], 3))
	bo := e.runs(e.admin.TenantID, ids["buffer_one"])
	if got := statuses(bo); got != "success@06-01T10:05,success@06-01T10:10,skipped@06-01T10:15" {
		t.Fatalf("buffer_one runs after release = %s", got)
	}
	calls := e.runner.callsFor(ids["buffer_one"])
	if len(calls) != 2 || calls[1].Req.Context.ScheduledFor != "2026-06-01T10:10:00Z" {
		t.Fatalf("buffer_one calls = %d", len(calls))
	}
	if got := statuses(e.runs(e.admin.TenantID, ids["allow"])); got != "success@06-01T10:05,success@06-01T10:10,success@06-01T10:15" {
		t.Fatalf("allow runs = %s", got)
	}
	// skip after the long run: the next fire time runs normally.
	e.at(t0.Add(15*time.Minute + time.Second))
	eventually(t, 10*time.Second, "skip's next slot to run", e.settled(e.admin.TenantID, ids["skip"], 4))
	if got := statuses(e.runs(e.admin.TenantID, ids["skip"])); !strings.HasSuffix(got, "success@06-01T10:20") {
		t.Fatalf("skip runs = %s", got)
	}
}

// TestCatchUpAfterADayDown: the engine is down for 24 hours. latest runs
// the most recent slot (within its window) and records the rest missed;
// skip runs none; all runs at most its cap, oldest first, each with its
// own scheduled_for, one after the other. Startup stays fast.
func TestCatchUpAfterADayDown(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ids := map[string]uuid.UUID{}
	for _, p := range []string{"latest", "skip", "all"} {
		p := p
		cron := "0 * * * *"
		if p == "all" {
			cron = "*/5 * * * *"
		}
		ids[p] = e.create(e.admin, e.ext, cron, "UTC", func(in *schedule.Input) {
			in.Name = str(p)
			in.CatchupPolicy = &p
		})
	}
	// Down from 10:00:30 until 10:30 the next day.
	e.clock.Set(epoch.Add(24*time.Hour + 29*time.Minute))
	start := time.Now()
	e.start(e.options(), nil)
	eventually(t, 20*time.Second, "latest to settle", func() bool {
		return e.statusCount(ids["latest"], "success") == 1 && e.statusCount(ids["latest"], "missed") == 23
	})
	eventually(t, 20*time.Second, "all to run its cap", func() bool { return e.statusCount(ids["all"], "success") == 10 })
	if time.Since(start) > 15*time.Second {
		t.Errorf("catch-up took %s", time.Since(start))
	}
	latest := e.runs(e.admin.TenantID, ids["latest"])
	last := latest[len(latest)-1]
	if last.Status != "success" || last.Trigger != "catchup" || !last.ScheduledFor.Equal(time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("latest ran %s %s for %s", last.Status, last.Trigger, last.ScheduledFor)
	}
	if n := e.statusCount(ids["skip"], "missed"); n != 24 || len(e.runner.callsFor(ids["skip"])) != 0 {
		t.Fatalf("skip: %d missed, %d calls; want 24 and 0", n, len(e.runner.callsFor(ids["skip"])))
	}
	all := e.runs(e.admin.TenantID, ids["all"])
	var ran []db.Run
	for _, r := range all {
		if r.Status == "success" {
			ran = append(ran, r)
		}
	}
	// Window 1h back from 10:29:30: slots 09:30 … 10:25 = 12, cap 10 → the
	// newest ten, 09:40 … 10:25.
	if !ran[0].ScheduledFor.Equal(time.Date(2026, 6, 2, 9, 40, 0, 0, time.UTC)) || !ran[9].ScheduledFor.Equal(time.Date(2026, 6, 2, 10, 25, 0, 0, time.UTC)) {
		t.Fatalf("all ran %s … %s", ran[0].ScheduledFor, ran[9].ScheduledFor)
	}
	calls := e.runner.callsFor(ids["all"])
	for i := 1; i < len(calls); i++ {
		if calls[i].Req.Context.ScheduledFor <= calls[i-1].Req.Context.ScheduledFor {
			t.Fatalf("catch-up calls out of order: %s after %s", calls[i].Req.Context.ScheduledFor, calls[i-1].Req.Context.ScheduledFor)
		}
	}
	if n := len(all) - len(ran); n != e.statusCount(ids["all"], "missed") {
		t.Fatalf("all: %d rows neither run nor missed", n)
	}
	if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status IN ('queued', 'running')`); n != 0 {
		t.Fatalf("%d runs still in flight", n)
	}
}

// TestPauseAfterFailures: after N consecutive failed runs the schedule is
// disabled with a visible reason, its timer removed, and audited.
func TestPauseAfterFailures(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.runner.setRespond(func(runner.Request) answer { return answer{Body: ext(400, "no")} })
	id := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) { in.PauseAfterFailures = num(2) })
	e.start(e.options(), nil)
	t0 := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	e.at(t0.Add(time.Second))
	eventually(t, 10*time.Second, "first failure", e.settled(e.admin.TenantID, id, 1))
	if s := e.schedule(e.admin.TenantID, id); !s.Enabled || s.ConsecutiveFailures != 1 {
		t.Fatalf("after one failure: enabled %v failures %d", s.Enabled, s.ConsecutiveFailures)
	}
	e.at(t0.Add(5*time.Minute + time.Second))
	eventually(t, 10*time.Second, "second failure", e.settled(e.admin.TenantID, id, 2))
	eventually(t, 5*time.Second, "the schedule to be disabled", func() bool { return !e.schedule(e.admin.TenantID, id).Enabled })
	s := e.schedule(e.admin.TenantID, id)
	if s.LastError == nil || !strings.Contains(*s.LastError, "disabled after 2 consecutive failed runs") || s.NextRunAt != nil {
		t.Fatalf("last error %v next %v", s.LastError, s.NextRunAt)
	}
	if n := e.count(`SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1`, id); n != 0 {
		t.Fatalf("timer still there")
	}
	if n := e.count(`SELECT count(*) FROM audit_event WHERE target_id = $1 AND action = 'schedule.disable' AND actor = 'scheduler'`, id.String()); n != 1 {
		t.Fatalf("audit events = %d", n)
	}
	e.at(t0.Add(10*time.Minute + time.Second))
	time.Sleep(100 * time.Millisecond)
	if n := len(e.runs(e.admin.TenantID, id)); n != 2 {
		t.Fatalf("runs after pause = %d, want 2", n)
	}
}

// TestRetriesNeverRunIntoTheNextFireTime: a run waiting for its retry
// holds the schedule, so the next fire time is skipped, not doubled.
func TestRetriesNeverRunIntoTheNextFireTime(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var mu sync.Mutex
	n := 0
	e.runner.setRespond(func(runner.Request) answer {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 1 {
			return answer{Status: 503}
		}
		return answer{}
	})
	id := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", nil)
	opts := e.options()
	opts.RetryBase = 7 * time.Minute
	opts.RetryMax = 7 * time.Minute
	e.start(opts, nil)
	t0 := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	e.at(t0.Add(time.Second))
	eventually(t, 10*time.Second, "retry queued", func() bool {
		rs := e.runs(e.admin.TenantID, id)
		return len(rs) == 1 && rs[0].Status == "queued" && rs[0].Attempt == 1
	})
	e.at(t0.Add(5*time.Minute + time.Second))
	eventually(t, 10*time.Second, "next slot skipped", func() bool { return e.statusCount(id, "skipped") == 1 })
	e.at(t0.Add(9 * time.Minute))
	eventually(t, 10*time.Second, "retry to succeed", func() bool { return e.statusCount(id, "success") == 1 })
	r := e.runs(e.admin.TenantID, id)[0]
	if r.Attempt != 2 || !r.ScheduledFor.Equal(t0) {
		t.Fatalf("run attempt %d for %s", r.Attempt, r.ScheduledFor)
	}
	calls := e.runner.callsFor(id)
	if len(calls) != 2 || calls[0].Req.Context.InvocationID != calls[1].Req.Context.InvocationID {
		t.Fatalf("calls %d with invocation ids differing", len(calls))
	}
}

// TestDSTThroughTheEngine: the §5 rules hold end to end.
func TestDSTThroughTheEngine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, cron, zone string
		from, to         time.Time
		want             []string // UTC fire times (or a count)
		count            int
	}{
		{"spring-forward gap fires at the end of the gap", "30 2 * * *", "America/New_York",
			time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC),
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}, 0},
		{"fall-back repeated time fires once", "30 1 * * *", "America/New_York",
			time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 4, 0, 0, 0, time.UTC),
			[]string{"2026-11-01T05:30:00Z"}, 0},
		{"Cairo midnight gap", "0 0 * * *", "Africa/Cairo",
			time.Date(2026, 4, 23, 12, 0, 0, 0, time.UTC), time.Date(2026, 4, 24, 12, 0, 0, 0, time.UTC),
			[]string{"2026-04-23T22:00:00Z"}, 0},
		{"hourly on the long day runs 25 times", "0 * * * *", "America/New_York",
			time.Date(2026, 11, 1, 3, 30, 0, 0, time.UTC), time.Date(2026, 11, 2, 4, 30, 0, 0, time.UTC), nil, 25},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.clock.Set(c.from)
			id := e.create(e.admin, e.ext, c.cron, c.zone, nil)
			e.start(e.options(), nil)
			// Step the clock to each next fire time, as real time would.
			for i := 0; i < 40; i++ {
				var next *time.Time
				_ = e.conn.GetContext(context.Background(), &next, `SELECT next_fire_at FROM scheduler_timer WHERE schedule_id = $1`, id)
				if next == nil || next.After(c.to) {
					break
				}
				n := len(e.runs(e.admin.TenantID, id))
				e.at(next.Add(time.Second))
				eventually(t, 10*time.Second, "the run at "+next.String(), e.settled(e.admin.TenantID, id, n+1))
			}
			rs := e.runs(e.admin.TenantID, id)
			if c.count > 0 {
				if len(rs) != c.count {
					t.Fatalf("runs = %d, want %d", len(rs), c.count)
				}
				for i := 1; i < len(rs); i++ {
					if d := rs[i].ScheduledFor.Sub(rs[i-1].ScheduledFor); d != time.Hour {
						t.Fatalf("gap %s between %s and %s", d, rs[i-1].ScheduledFor, rs[i].ScheduledFor)
					}
				}
				return
			}
			var got []string
			for _, r := range rs {
				if r.Status != "success" {
					t.Fatalf("run %s", r.Status)
				}
				got = append(got, r.ScheduledFor.UTC().Format(time.RFC3339))
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("fired at %v, want %v", got, c.want)
			}
		})
	}
}
