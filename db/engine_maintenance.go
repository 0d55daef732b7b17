package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// reconcileLockKey serializes reconciliation across processes (an
// arbitrary constant: "extcron reconcile").
const reconcileLockKey = 0x65787463726f6e01

// TryReconcileLock takes the transaction-scoped reconciliation lock; false
// means another process is reconciling right now.
func TryReconcileLock(ctx context.Context, q Queryer) (bool, error) {
	var ok bool
	if err := q.GetContext(ctx, &ok, `SELECT pg_try_advisory_xact_lock($1)`, int64(reconcileLockKey)); err != nil {
		return false, fmt.Errorf("reconcile lock: %w", err)
	}
	return ok, nil
}

// TimerlessSchedule is an enabled schedule of an enabled install whose
// timer is missing, errored (no next fire time) or paused for no reason.
type TimerlessSchedule struct {
	TenantID        uuid.UUID `db:"tenant_id"`
	ID              uuid.UUID `db:"id"`
	InstallID       uuid.UUID `db:"install_id"`
	Cron            string    `db:"cron"`
	Timezone        string    `db:"timezone"`
	TenantSuspended bool      `db:"tenant_suspended"`
	TimerExists     bool      `db:"timer_exists"`
}

// ListTimerlessSchedules finds schedules that should fire but have no live
// timer.
func ListTimerlessSchedules(ctx context.Context, q Queryer, limit int) ([]TimerlessSchedule, error) {
	var out []TimerlessSchedule
	err := q.SelectContext(ctx, &out, `
		SELECT s.tenant_id, s.id, s.install_id, s.cron, s.timezone, t.schedules_suspended AS tenant_suspended,
		       tm.key IS NOT NULL AS timer_exists
		FROM tenant_extension_schedule s
		JOIN tenant_extension_install i ON i.tenant_id = s.tenant_id AND i.id = s.install_id
		JOIN tenant t ON t.id = s.tenant_id
		LEFT JOIN scheduler_timer tm ON tm.tenant_id = s.tenant_id AND tm.schedule_id = s.id
		WHERE s.enabled AND i.enabled
		  AND (tm.key IS NULL OR tm.next_fire_at IS NULL OR (tm.paused AND NOT t.schedules_suspended))
		ORDER BY s.tenant_id, s.id
		LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list schedules without timers: %w", err)
	}
	return out, nil
}

// UpsertTimer writes a schedule's timer and its next_run_at.
func UpsertTimer(ctx context.Context, q Queryer, tenantID, scheduleID uuid.UUID, key string, next time.Time, paused bool) error {
	if _, err := q.ExecContext(ctx, `
		INSERT INTO scheduler_timer (tenant_id, key, schedule_id, next_fire_at, paused)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id, key) DO UPDATE SET next_fire_at = EXCLUDED.next_fire_at, paused = EXCLUDED.paused`,
		tenantID, key, scheduleID, next, paused); err != nil {
		return fmt.Errorf("repair timer: %w", err)
	}
	var nextRun *time.Time
	if !paused {
		nextRun = &next
	}
	if _, err := q.ExecContext(ctx, `
		UPDATE tenant_extension_schedule SET runner_schedule_id = $3, next_run_at = $4
		WHERE tenant_id = $1 AND id = $2`, tenantID, scheduleID, key, nextRun); err != nil {
		return fmt.Errorf("repair timer: %w", err)
	}
	return nil
}

// SetScheduleError records why a schedule cannot fire.
func SetScheduleError(ctx context.Context, q Queryer, tenantID, id uuid.UUID, reason string) error {
	_, err := q.ExecContext(ctx, `
		UPDATE tenant_extension_schedule SET last_error = $3, next_run_at = NULL
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, reason)
	if err != nil {
		return fmt.Errorf("set schedule error: %w", err)
	}
	return nil
}

// OrphanTimer is a timer whose schedule is gone or disabled.
type OrphanTimer struct {
	TenantID   uuid.UUID `db:"tenant_id"`
	Key        string    `db:"key"`
	ScheduleID uuid.UUID `db:"schedule_id"`
}

// DeleteOrphanTimers removes timers without an enabled schedule and
// returns them.
func DeleteOrphanTimers(ctx context.Context, q Queryer) ([]OrphanTimer, error) {
	var out []OrphanTimer
	err := q.SelectContext(ctx, &out, `
		DELETE FROM scheduler_timer tm
		WHERE NOT EXISTS (
			SELECT 1 FROM tenant_extension_schedule s
			WHERE s.tenant_id = tm.tenant_id AND s.id = tm.schedule_id AND s.enabled)
		RETURNING tm.tenant_id, tm.key, tm.schedule_id`)
	if err != nil {
		return nil, fmt.Errorf("delete orphan timers: %w", err)
	}
	return out, nil
}

// BrokenEndpointSchedule is a schedule whose endpoint row is missing or
// not in its install's current version.
type BrokenEndpointSchedule struct {
	TenantID   uuid.UUID `db:"tenant_id"`
	ID         uuid.UUID `db:"id"`
	EndpointID uuid.UUID `db:"endpoint_id"`
	Enabled    bool      `db:"enabled"`
	Missing    bool      `db:"missing"`
}

// ListBrokenEndpointSchedules lists schedules pointing at endpoints that
// are missing or belong to another version than the install's.
func ListBrokenEndpointSchedules(ctx context.Context, q Queryer, limit int) ([]BrokenEndpointSchedule, error) {
	var out []BrokenEndpointSchedule
	err := q.SelectContext(ctx, &out, `
		SELECT s.tenant_id, s.id, s.endpoint_id, s.enabled, e.id IS NULL AS missing
		FROM tenant_extension_schedule s
		JOIN tenant_extension_install i ON i.tenant_id = s.tenant_id AND i.id = s.install_id
		LEFT JOIN extension_api_endpoint e ON e.id = s.endpoint_id
		WHERE e.id IS NULL OR e.version_id <> i.version_id
		ORDER BY s.tenant_id, s.id
		LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list schedules with broken endpoints: %w", err)
	}
	return out, nil
}

// ReleaseStrandedHeldRuns lets held runs start when nothing of their
// schedule is in flight any more (the run they waited for was deleted).
func ReleaseStrandedHeldRuns(ctx context.Context, q Queryer, now time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `
		UPDATE tenant_extension_schedule_run r SET next_attempt_at = $1
		FROM (
			SELECT DISTINCT ON (h.tenant_id, h.schedule_id) h.tenant_id, h.id
			FROM tenant_extension_schedule_run h
			WHERE h.status = 'queued' AND h.next_attempt_at = 'infinity'
			  AND NOT EXISTS (
				SELECT 1 FROM tenant_extension_schedule_run o
				WHERE o.tenant_id = h.tenant_id AND o.schedule_id = h.schedule_id
				  AND (o.status = 'running' OR (o.status = 'queued' AND o.next_attempt_at <> 'infinity')))
			ORDER BY h.tenant_id, h.schedule_id, h.scheduled_for, h.created_at
		) p
		WHERE r.tenant_id = p.tenant_id AND r.id = p.id`, now)
	if err != nil {
		return 0, fmt.Errorf("release stranded held runs: %w", err)
	}
	return res.RowsAffected()
}

// PruneRunsByAge deletes up to limit finished runs created before cutoff.
func PruneRunsByAge(ctx context.Context, q Queryer, cutoff time.Time, limit int) (int64, error) {
	res, err := q.ExecContext(ctx, `
		DELETE FROM tenant_extension_schedule_run r
		USING (SELECT tenant_id, id FROM tenant_extension_schedule_run
		       WHERE created_at < $1 AND status NOT IN ('queued', 'running')
		       LIMIT $2) d
		WHERE r.tenant_id = d.tenant_id AND r.id = d.id`, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("prune old runs: %w", err)
	}
	return res.RowsAffected()
}

// PruneRunsByCount keeps the newest keep runs of every schedule (runs in
// flight are never deleted).
func PruneRunsByCount(ctx context.Context, q Queryer, keep int) (int64, error) {
	res, err := q.ExecContext(ctx, `
		DELETE FROM tenant_extension_schedule_run r
		USING (
			SELECT tenant_id, id FROM (
				SELECT x.tenant_id, x.id, x.status,
				       row_number() OVER (PARTITION BY x.tenant_id, x.schedule_id ORDER BY x.created_at DESC, x.id DESC) AS rn
				FROM tenant_extension_schedule_run x
				WHERE (x.tenant_id, x.schedule_id) IN (
					SELECT tenant_id, schedule_id FROM tenant_extension_schedule_run
					GROUP BY tenant_id, schedule_id HAVING count(*) > $1)
			) ranked
			WHERE rn > $1 AND status NOT IN ('queued', 'running')
		) d
		WHERE r.tenant_id = d.tenant_id AND r.id = d.id`, keep)
	if err != nil {
		return 0, fmt.Errorf("prune runs beyond the per-schedule limit: %w", err)
	}
	return res.RowsAffected()
}

// SaveReconciliation keeps report (JSON) as the last reconciliation, run
// by by at checkedAt, replacing the previous one.
func SaveReconciliation(ctx context.Context, q Queryer, checkedAt time.Time, by string, report any) error {
	doc, err := json.Marshal(report)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `
		INSERT INTO scheduler_reconciliation (singleton, checked_at, run_by, report) VALUES (true, $1, $2, $3)
		ON CONFLICT (singleton) DO UPDATE SET checked_at = $1, run_by = $2, report = $3`, checkedAt, by, string(doc))
	if err != nil {
		return fmt.Errorf("save reconciliation report: %w", err)
	}
	return nil
}

// LastReconciliation loads the last reconciliation's report into report
// and says who ran it; ErrNotFound before the first.
func LastReconciliation(ctx context.Context, q Queryer, report any) (by string, err error) {
	var row struct {
		By     string `db:"run_by"`
		Report []byte `db:"report"`
	}
	if err := q.GetContext(ctx, &row, `SELECT run_by, report FROM scheduler_reconciliation`); err != nil {
		return "", notFound(err)
	}
	if err := json.Unmarshal(row.Report, report); err != nil {
		return "", fmt.Errorf("read reconciliation report: %w", err)
	}
	return row.By, nil
}
