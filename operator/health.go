package operator

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"extcron/account"
	"extcron/db"
	"extcron/fault"
	"extcron/scheduler"
)

// findingLimit bounds each list of the health report.
const findingLimit = 500

// Finding is one problem the health report sees right now.
type Finding struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	TenantName string    `json:"tenant_name"`
	ScheduleID uuid.UUID `json:"schedule_id"`
	// Key is the timer key, when the finding is about a timer.
	Key    string `json:"key,omitempty"`
	Detail string `json:"detail"`
}

// Health is the operator health report: what is wrong now (read without
// changing anything) and what the last reconciliation run from this
// process found and fixed.
type Health struct {
	CheckedAt time.Time `json:"checked_at"`
	// MissingTimers: enabled schedules of enabled installs without a live
	// timer (reconciliation creates or resumes one).
	MissingTimers []Finding `json:"missing_timers"`
	// OrphanTimers: timers whose schedule is gone or disabled
	// (reconciliation removes them).
	OrphanTimers []Finding `json:"orphan_timers"`
	// BrokenEndpoints: schedules whose endpoint row is missing or not in
	// the install's current version (listed, never changed automatically).
	BrokenEndpoints []Finding `json:"broken_endpoints"`
	// SuspendedTenants are the tenants whose kill switch is on.
	SuspendedTenants []string `json:"suspended_tenants"`
	// Backlog is the due and in-flight work.
	Backlog Backlog `json:"backlog"`
	// LastReconciliation is the last on-demand reconciliation, nil when
	// none ran since this process started.
	LastReconciliation *Reconciliation `json:"last_reconciliation"`
	// TenantNames maps tenant ids to names for the report's items.
	TenantNames map[uuid.UUID]string `json:"-"`
}

// Backlog is the scheduler's due and in-flight work.
type Backlog struct {
	DueTimers int        `json:"due_timers"`
	OldestDue *time.Time `json:"oldest_due"`
	Running   int        `json:"running_runs"`
	Queued    int        `json:"queued_runs"`
}

// Reconciliation is one reconciliation's report with who asked for it.
type Reconciliation struct {
	scheduler.Report
	By string `json:"by"`
}

// Healthy reports whether nothing needs attention.
func (h Health) Healthy() bool {
	return len(h.MissingTimers) == 0 && len(h.OrphanTimers) == 0 && len(h.BrokenEndpoints) == 0
}

// Health reads the current findings. It changes nothing.
func (s *Service) Health(ctx context.Context, actor account.Actor) (Health, error) {
	if err := actor.RequireOperator(); err != nil {
		return Health{}, err
	}
	now := s.now()
	h := Health{CheckedAt: now.UTC(), MissingTimers: []Finding{}, OrphanTimers: []Finding{}, BrokenEndpoints: []Finding{},
		SuspendedTenants: []string{}, TenantNames: map[uuid.UUID]string{}}
	tenants, err := db.ListTenants(ctx, s.conn)
	if err != nil {
		return Health{}, err
	}
	for _, t := range tenants {
		h.TenantNames[t.ID] = t.Name
		if t.SchedulesSuspended {
			h.SuspendedTenants = append(h.SuspendedTenants, t.Name)
		}
	}
	missing, err := db.ListTimerlessSchedules(ctx, s.conn, findingLimit)
	if err != nil {
		return Health{}, err
	}
	for _, m := range missing {
		detail := "no timer"
		if m.TimerExists {
			detail = "timer paused or without a next fire time"
		}
		h.MissingTimers = append(h.MissingTimers, Finding{TenantID: m.TenantID, TenantName: h.TenantNames[m.TenantID],
			ScheduleID: m.ID, Key: scheduler.Key(m.InstallID, m.ID), Detail: detail})
	}
	orphans, err := db.ListOrphanTimers(ctx, s.conn, findingLimit)
	if err != nil {
		return Health{}, err
	}
	for _, o := range orphans {
		h.OrphanTimers = append(h.OrphanTimers, Finding{TenantID: o.TenantID, TenantName: h.TenantNames[o.TenantID],
			ScheduleID: o.ScheduleID, Key: o.Key, Detail: "the schedule is gone or disabled"})
	}
	broken, err := db.ListBrokenEndpointSchedules(ctx, s.conn, findingLimit)
	if err != nil {
		return Health{}, err
	}
	for _, b := range broken {
		detail := "endpoint " + b.EndpointID.String() + " is not in the installed version"
		if b.Missing {
			detail = "endpoint " + b.EndpointID.String() + " no longer exists"
		}
		h.BrokenEndpoints = append(h.BrokenEndpoints, Finding{TenantID: b.TenantID, TenantName: h.TenantNames[b.TenantID],
			ScheduleID: b.ID, Detail: detail})
	}
	backlog, err := db.FindSchedulerBacklog(ctx, s.conn, now)
	if err != nil {
		return Health{}, err
	}
	h.Backlog = Backlog{DueTimers: backlog.Due, OldestDue: utc(backlog.OldestDue), Running: backlog.Running, Queued: backlog.Queued}
	var last Reconciliation
	by, err := db.LastReconciliation(ctx, s.conn, &last.Report)
	switch {
	case err == nil:
		last.By = by
		h.LastReconciliation = &last
	case !errors.Is(err, db.ErrNotFound):
		return Health{}, err
	}
	return h, nil
}

// Reconcile runs a reconciliation now and keeps its report for the
// health page (of every process: it is stored).
func (s *Service) Reconcile(ctx context.Context, actor account.Actor) (Reconciliation, error) {
	if err := actor.RequireOperator(); err != nil {
		return Reconciliation{}, err
	}
	if s.reconciler == nil {
		return Reconciliation{}, fault.New(fault.Conflict, "Reconciliation is not available in this process.")
	}
	rep, err := s.reconciler.Reconcile(ctx)
	if err != nil {
		return Reconciliation{}, err
	}
	rep.CheckedAt = rep.CheckedAt.UTC()
	out := Reconciliation{Report: rep, By: actor.Label()}
	if !rep.Skipped {
		if err := db.SaveReconciliation(ctx, s.conn, rep.CheckedAt, out.By, rep); err != nil {
			return Reconciliation{}, err
		}
	}
	s.logger.InfoContext(ctx, "operator ran reconciliation", "operator", actor.Label(), "skipped", rep.Skipped,
		"repaired", len(rep.TimersRepaired), "removed", len(rep.TimersRemoved), "broken_endpoints", len(rep.BrokenEndpoints))
	return out, nil
}
