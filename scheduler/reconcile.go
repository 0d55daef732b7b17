package scheduler

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/db"
)

// ReportItem is one finding of a reconciliation.
type ReportItem struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	ScheduleID uuid.UUID `json:"schedule_id"`
	Detail     string    `json:"detail"`
}

// Report is what a reconciliation found and fixed, for the operator
// health page.
type Report struct {
	CheckedAt time.Time `json:"checked_at"`
	// Skipped: another process was reconciling at the same moment.
	Skipped bool `json:"skipped"`
	// TimersRepaired: enabled schedules of enabled installs that had no
	// live timer and got one (audited).
	TimersRepaired []ReportItem `json:"timers_repaired"`
	// TimersRemoved: timers whose schedule is gone or disabled.
	TimersRemoved []ReportItem `json:"timers_removed"`
	// Errored: schedules whose next fire time cannot be computed.
	Errored []ReportItem `json:"errored"`
	// BrokenEndpoints: schedules pointing at a missing endpoint or at one
	// not in the installed version (listed, not changed).
	BrokenEndpoints []ReportItem `json:"broken_endpoints"`
	// HeldRunsReleased: buffered follow-ups whose predecessor vanished.
	HeldRunsReleased int64 `json:"held_runs_released"`
}

// reconcileLimit bounds one reconciliation's repairs; the next one
// continues.
const reconcileLimit = 10000

// Reconcile compares timers with schedules (SPEC §6) and repairs what it
// can, in one transaction guarded by an advisory lock so two processes do
// not repair the same thing twice.
func (e *Engine) Reconcile(ctx context.Context) (Report, error) {
	now := e.now()
	rep := Report{CheckedAt: now}
	err := db.WithTx(ctx, e.conn, func(tx *sqlx.Tx) error {
		rep = Report{CheckedAt: now}
		ok, err := db.TryReconcileLock(ctx, tx)
		if err != nil {
			return err
		}
		if !ok {
			rep.Skipped = true
			return nil
		}
		removed, err := db.DeleteOrphanTimers(ctx, tx)
		if err != nil {
			return err
		}
		for _, t := range removed {
			rep.TimersRemoved = append(rep.TimersRemoved, ReportItem{TenantID: t.TenantID, ScheduleID: t.ScheduleID,
				Detail: "timer " + t.Key + " had no enabled schedule"})
		}
		missing, err := db.ListTimerlessSchedules(ctx, tx, reconcileLimit)
		if err != nil {
			return err
		}
		repaired := false
		for _, s := range missing {
			next, err := NextFire(s.Cron, s.Timezone, now)
			if err != nil {
				reason := "errored: the next fire time cannot be computed: " + err.Error()
				rep.Errored = append(rep.Errored, ReportItem{TenantID: s.TenantID, ScheduleID: s.ID, Detail: reason})
				if err := db.SetScheduleError(ctx, tx, s.TenantID, s.ID, reason); err != nil {
					return err
				}
				continue
			}
			key := Key(s.InstallID, s.ID)
			if err := db.UpsertTimer(ctx, tx, s.TenantID, s.ID, key, next, s.TenantSuspended); err != nil {
				return err
			}
			detail := "timer created"
			if s.TimerExists {
				detail = "timer resumed"
			}
			rep.TimersRepaired = append(rep.TimersRepaired, ReportItem{TenantID: s.TenantID, ScheduleID: s.ID, Detail: detail})
			if err := db.InsertAudit(ctx, tx, db.Audit{TenantID: s.TenantID, Actor: "scheduler",
				Action: "schedule.timer_repair", TargetType: "schedule", TargetID: s.ID.String(),
				After: map[string]any{"timer": key, "next_fire_at": next, "detail": detail}}); err != nil {
				return err
			}
			repaired = true
		}
		broken, err := db.ListBrokenEndpointSchedules(ctx, tx, reconcileLimit)
		if err != nil {
			return err
		}
		for _, b := range broken {
			detail := "endpoint " + b.EndpointID.String() + " is not in the installed version"
			if b.Missing {
				detail = "endpoint " + b.EndpointID.String() + " no longer exists"
			}
			rep.BrokenEndpoints = append(rep.BrokenEndpoints, ReportItem{TenantID: b.TenantID, ScheduleID: b.ID, Detail: detail})
		}
		if rep.HeldRunsReleased, err = db.ReleaseStrandedHeldRuns(ctx, tx, now); err != nil {
			return err
		}
		if repaired || rep.HeldRunsReleased > 0 {
			return notify(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	if len(rep.TimersRepaired)+len(rep.TimersRemoved)+len(rep.Errored) > 0 || rep.HeldRunsReleased > 0 {
		e.log.Warn("reconciliation repaired timers", "repaired", len(rep.TimersRepaired), "removed", len(rep.TimersRemoved),
			"errored", len(rep.Errored), "broken_endpoints", len(rep.BrokenEndpoints), "held_released", rep.HeldRunsReleased)
	}
	return rep, nil
}
