package scheduler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// TestFireStartsOnlyWhatHasRoom: a fire cycle writes a tenant's runs
// straight as running up to its cap; the timers beyond it stay due, with no
// row, and fire with their nominal time as room frees up.
func TestFireStartsOnlyWhatHasRoom(t *testing.T) {
	t.Parallel()
	e := setup(t)
	g := newGate(e)
	due := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	ids := e.bulkSchedules(e.admin, e.ext, 6, "*/5 * * * *", due)
	for _, id := range ids {
		g.hold(id)
	}
	opts := e.options()
	opts.TenantConcurrency = 2
	e.start(opts, nil)
	e.at(due.Add(time.Second))
	eventually(t, 10*time.Second, "two calls in flight", func() bool { return e.runner.count() == 2 })
	time.Sleep(150 * time.Millisecond) // give a wrong engine the time to start more
	if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE tenant_id = $1`, e.admin.TenantID); n != 2 {
		t.Fatalf("%d run rows, want the 2 started (no queued rows)", n)
	}
	if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'running' AND attempt = 1 AND lease_owner IS NOT NULL`); n != 2 {
		t.Fatalf("%d runs running under a lease as attempt 1, want 2", n)
	}
	if n := e.count(`SELECT count(*) FROM scheduler_timer WHERE tenant_id = $1 AND next_fire_at = $2`, e.admin.TenantID, due); n != 4 {
		t.Fatalf("%d timers still due at their fire time, want 4", n)
	}
	for _, id := range ids {
		g.release(id)
	}
	eventually(t, 10*time.Second, "all six runs", func() bool {
		return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'success'`) == 6
	})
	if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run
		WHERE scheduled_for = $1 AND trigger = 'schedule' AND started_at > scheduled_for`, due); n != 6 {
		t.Fatalf("%d runs kept their nominal fire time and trigger, want 6", n)
	}
}

// TestTimerQueuesAfterWaiting: a due timer that finds no room waits in its
// timer for QueueAfter, then is recorded as a queued run (visible in the
// history) and runs as soon as room frees up, still as an on-time fire.
func TestTimerQueuesAfterWaiting(t *testing.T) {
	t.Parallel()
	e := setup(t)
	g := newGate(e)
	due := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	ids := e.bulkSchedules(e.admin, e.ext, 3, "*/5 * * * *", due)
	for _, id := range ids {
		g.hold(id)
	}
	opts := e.options()
	opts.TenantConcurrency = 1
	opts.QueueAfter = 10 * time.Second
	e.start(opts, nil)
	e.at(due.Add(time.Second))
	eventually(t, 10*time.Second, "one call in flight", func() bool { return e.runner.count() == 1 })
	if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'queued'`); n != 0 {
		t.Fatalf("%d queued before QueueAfter, want 0", n)
	}
	e.at(due.Add(12 * time.Second))
	eventually(t, 10*time.Second, "the two waiting fire times queued", func() bool {
		return e.count(`SELECT count(*) FROM tenant_extension_schedule_run
			WHERE status = 'queued' AND trigger = 'schedule' AND scheduled_for = $1`, due) == 2
	})
	if n := e.runner.count(); n != 1 {
		t.Fatalf("%d calls, want the cap's 1", n)
	}
	for _, id := range ids {
		g.release(id)
	}
	eventually(t, 10*time.Second, "all three runs", func() bool {
		return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'success'`) == 3
	})
	if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'missed'`); n != 0 {
		t.Fatalf("%d fire times recorded missed", n)
	}
}

// TestNextRunAtWhileRunning: while a fire time's run is in flight the
// schedule already shows the following fire time (read from its timer),
// and the stored column has it once the result is written.
func TestNextRunAtWhileRunning(t *testing.T) {
	t.Parallel()
	e := setup(t)
	g := newGate(e)
	id := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", nil)
	g.hold(id)
	e.start(e.options(), nil)
	e.at(time.Date(2026, 6, 1, 10, 5, 1, 0, time.UTC))
	eventually(t, 10*time.Second, "the call in flight", func() bool { return len(e.runner.callsFor(id)) == 1 })
	next := time.Date(2026, 6, 1, 10, 10, 0, 0, time.UTC)
	if s := e.schedule(e.admin.TenantID, id); s.NextRunAt == nil || !s.NextRunAt.Equal(next) {
		t.Fatalf("next_run_at while running = %v, want %s", s.NextRunAt, next)
	}
	g.release(id)
	eventually(t, 10*time.Second, "the run", e.settled(e.admin.TenantID, id, 1))
	var stored time.Time
	if err := e.conn.GetContext(context.Background(), &stored,
		`SELECT next_run_at FROM tenant_extension_schedule WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if !stored.Equal(next) {
		t.Fatalf("stored next_run_at = %s, want %s", stored, next)
	}
}

// TestLeaseOwnerMeansRunning: the check constraint the finish fence
// relies on refuses a lease owner on a run that is not running, and a
// running run without one.
func TestLeaseOwnerMeansRunning(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", nil)
	s := e.schedule(e.admin.TenantID, id)
	for _, c := range []struct {
		status string
		owner  *string
	}{{"queued", str("someone")}, {"success", str("someone")}, {"running", nil}} {
		_, err := e.conn.ExecContext(context.Background(), `
			INSERT INTO tenant_extension_schedule_run (tenant_id, id, schedule_id, install_id, trigger, scheduled_for,
				invocation_id, status, lease_owner)
			VALUES ($1, $2, $3, $4, 'manual', now(), $2, $5, $6)`,
			s.TenantID, uuid.New(), s.ID, s.InstallID, c.status, c.owner)
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "23514" {
			t.Fatalf("status %s with owner %v: err %v, want a check violation", c.status, c.owner, err)
		}
	}
}
