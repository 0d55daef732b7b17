package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"extcron/db"
	"extcron/schedule"
	"extcron/scheduler"
)

// TestReconcile: a schedule without its timer gets one (audited), a timer
// without a schedule is removed, a schedule on a vanished endpoint is
// listed.
func TestReconcile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	lost := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) { in.Name = str("lost") })
	broken := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) { in.Name = str("broken") })
	e.exec(`DELETE FROM scheduler_timer WHERE schedule_id = $1`, lost)
	e.exec(`UPDATE tenant_extension_schedule SET endpoint_id = $2 WHERE id = $1`, broken, uuid.New())
	orphan := uuid.New()
	e.exec(`INSERT INTO scheduler_timer (tenant_id, key, schedule_id, next_fire_at) VALUES ($1, $2, $3, $4)`,
		e.admin.TenantID, scheduler.Key(uuid.New(), orphan), orphan, epoch)
	eng := scheduler.NewEngine(e.conn, e.client(time.Second, 0), e.options())
	rep, err := eng.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.TimersRepaired) != 1 || rep.TimersRepaired[0].ScheduleID != lost {
		t.Fatalf("repaired = %+v", rep.TimersRepaired)
	}
	if len(rep.TimersRemoved) != 1 || rep.TimersRemoved[0].ScheduleID != orphan {
		t.Fatalf("removed = %+v", rep.TimersRemoved)
	}
	if len(rep.BrokenEndpoints) != 1 || rep.BrokenEndpoints[0].ScheduleID != broken {
		t.Fatalf("broken = %+v", rep.BrokenEndpoints)
	}
	if n := e.count(`SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1 AND next_fire_at = $2 AND NOT paused`, lost,
		time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)); n != 1 {
		t.Fatalf("repaired timer missing or wrong")
	}
	if n := e.count(`SELECT count(*) FROM audit_event WHERE action = 'schedule.timer_repair' AND target_id = $1`, lost.String()); n != 1 {
		t.Fatalf("repair not audited")
	}
	again, err := eng.Reconcile(context.Background())
	if err != nil || len(again.TimersRepaired)+len(again.TimersRemoved) != 0 {
		t.Fatalf("second reconciliation changed things: %+v %v", again, err)
	}
}

// TestRetention: history beyond 1000 runs per schedule or 90 days is
// pruned; runs in flight never are.
func TestRetention(t *testing.T) {
	t.Parallel()
	e := setup(t)
	busy := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) { in.Name = str("busy") })
	old := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", func(in *schedule.Input) { in.Name = str("old") })
	insert := func(id uuid.UUID, n int, from time.Time, status string) {
		e.exec(`
			INSERT INTO tenant_extension_schedule_run (tenant_id, id, schedule_id, install_id, trigger, scheduled_for,
				invocation_id, status, created_at)
			SELECT s.tenant_id, gen_random_uuid(), s.id, s.install_id, 'schedule', $2::timestamptz + g * interval '5 minutes',
				gen_random_uuid(), $4::text, $2::timestamptz + g * interval '5 minutes'
			FROM tenant_extension_schedule s, generate_series(0, $3::int - 1) AS g
			WHERE s.id = $1`, id, from, n, status)
	}
	insert(busy, 1010, epoch.Add(-30*24*time.Hour), "success")
	insert(old, 5, epoch.Add(-100*24*time.Hour), "success")
	insert(old, 1, epoch.Add(-95*24*time.Hour), "queued")
	eng := scheduler.NewEngine(e.conn, e.client(time.Second, 0), e.options())
	rep, err := eng.Prune(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.ByAge != 5 || rep.ByCount != 10 {
		t.Fatalf("pruned %+v, want 5 by age and 10 by count", rep)
	}
	if n := len(e.runs(e.admin.TenantID, busy)); n != 1000 {
		t.Fatalf("busy keeps %d runs", n)
	}
	if n := len(e.runs(e.admin.TenantID, old)); n != 1 {
		t.Fatalf("old keeps %d runs, want the queued one", n)
	}
}

// TestBackgroundReconciliationIsKept: the background pass stores its
// report, which any process's health page reads.
func TestBackgroundReconciliationIsKept(t *testing.T) {
	t.Parallel()
	e := setup(t)
	lost := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", nil)
	e.exec(`DELETE FROM scheduler_timer WHERE schedule_id = $1`, lost)
	opts := e.options()
	opts.ReconcileInterval = 100 * time.Millisecond
	e.start(opts, nil)
	var rep scheduler.Report
	eventually(t, 10*time.Second, "a stored background report", func() bool {
		by, err := db.LastReconciliation(context.Background(), e.conn, &rep)
		return err == nil && by == scheduler.BackgroundReconciler
	})
	if !rep.CheckedAt.Equal(e.clock.Now()) {
		t.Fatalf("report checked at %s, want the engine's clock %s", rep.CheckedAt, e.clock.Now())
	}
	eventually(t, 10*time.Second, "the lost timer repaired", func() bool {
		return e.count(`SELECT count(*) FROM scheduler_timer WHERE schedule_id = $1`, lost) == 1
	})
}

// TestRetentionRunsInTheBackground: a running engine prunes history on its
// own, at its retention interval, with no one calling Prune.
func TestRetentionRunsInTheBackground(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", nil)
	e.exec(`
		INSERT INTO tenant_extension_schedule_run (tenant_id, id, schedule_id, install_id, trigger, scheduled_for,
			invocation_id, status, created_at)
		SELECT s.tenant_id, gen_random_uuid(), s.id, s.install_id, 'schedule', $2::timestamptz + g * interval '5 minutes',
			gen_random_uuid(), 'success', $2::timestamptz + g * interval '5 minutes'
		FROM tenant_extension_schedule s, generate_series(0, 24) AS g
		WHERE s.id = $1`, id, epoch.Add(-24*time.Hour))
	opts := e.options()
	opts.RetentionRuns = 10
	opts.RetentionInterval = 100 * time.Millisecond
	e.start(opts, nil)
	eventually(t, 10*time.Second, "history pruned to 10 runs", func() bool { return len(e.runs(e.admin.TenantID, id)) == 10 })
}
