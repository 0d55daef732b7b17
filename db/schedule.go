package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Schedule is a row of tenant_extension_schedule.
type Schedule struct {
	TenantID             uuid.UUID       `db:"tenant_id"`
	ID                   uuid.UUID       `db:"id"`
	InstallID            uuid.UUID       `db:"install_id"`
	EndpointID           uuid.UUID       `db:"endpoint_id"`
	Name                 *string         `db:"name"`
	Cron                 string          `db:"cron"`
	Timezone             string          `db:"timezone"`
	Enabled              bool            `db:"enabled"`
	PayloadJSON          json.RawMessage `db:"payload_json"`
	OverlapPolicy        string          `db:"overlap_policy"`
	CatchupPolicy        string          `db:"catchup_policy"`
	CatchupWindowSeconds int             `db:"catchup_window_seconds"`
	RetryMaxAttempts     int             `db:"retry_max_attempts"`
	PauseAfterFailures   int             `db:"pause_after_failures"`
	Revision             int             `db:"revision"`
	RunnerScheduleID     *string         `db:"runner_schedule_id"`
	NextRunAt            *time.Time      `db:"next_run_at"`
	LastRunAt            *time.Time      `db:"last_run_at"`
	LastRunStatus        *string         `db:"last_run_status"`
	LastError            *string         `db:"last_error"`
	LastSuccessAt        *time.Time      `db:"last_success_at"`
	ConsecutiveFailures  int             `db:"consecutive_failures"`
	CreatedBy            *uuid.UUID      `db:"created_by"`
	UpdatedBy            *uuid.UUID      `db:"updated_by"`
	CreatedAt            time.Time       `db:"created_at"`
	UpdatedAt            time.Time       `db:"updated_at"`
	// Joined from the endpoint (empty when the endpoint row is missing).
	EndpointMethod string `db:"endpoint_method"`
	EndpointPath   string `db:"endpoint_path"`
}

const scheduleSelect = `
	SELECT s.tenant_id, s.id, s.install_id, s.endpoint_id, s.name, s.cron, s.timezone, s.enabled,
	       coalesce(s.payload_json, 'null') AS payload_json, s.overlap_policy, s.catchup_policy, s.catchup_window_seconds,
	       s.retry_max_attempts, s.pause_after_failures, s.revision, s.runner_schedule_id,
	       ` + nextRunAt + ` AS next_run_at, s.last_run_at, s.last_run_status, s.last_error, s.last_success_at,
	       s.consecutive_failures, s.created_by, s.updated_by, s.created_at, s.updated_at,
	       coalesce(e.method, '') AS endpoint_method, coalesce(e.path, '') AS endpoint_path
	FROM tenant_extension_schedule s
	LEFT JOIN extension_api_endpoint e ON e.id = s.endpoint_id
	LEFT JOIN scheduler_timer tm ON tm.tenant_id = s.tenant_id AND tm.schedule_id = s.id`

// nextRunAt reads a schedule's next fire time from its live timer, which
// the engine advances at every fire, falling back to the stored column
// (written with each run's result, and by the schedule service) when the
// timer is paused or gone. The column alone lags while a fire time's run
// is in flight. Queries using it join scheduler_timer as tm.
const nextRunAt = `coalesce(CASE WHEN NOT tm.paused THEN tm.next_fire_at END, s.next_run_at)`

// InsertSchedule stores a new schedule. ErrDuplicate means the name is
// taken in the install.
func InsertSchedule(ctx context.Context, q Queryer, s Schedule) error {
	_, err := q.ExecContext(ctx, `
		INSERT INTO tenant_extension_schedule (
			tenant_id, id, install_id, endpoint_id, name, cron, timezone, enabled, payload_json,
			overlap_policy, catchup_policy, catchup_window_seconds, retry_max_attempts,
			pause_after_failures, revision, runner_schedule_id, next_run_at, created_by, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $16, $17, $17)`,
		s.TenantID, s.ID, s.InstallID, s.EndpointID, s.Name, s.Cron, s.Timezone, s.Enabled, nullJSON(s.PayloadJSON),
		s.OverlapPolicy, s.CatchupPolicy, s.CatchupWindowSeconds, s.RetryMaxAttempts,
		s.PauseAfterFailures, s.RunnerScheduleID, s.NextRunAt, s.CreatedBy)
	if isUniqueViolation(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("insert schedule: %w", err)
	}
	return nil
}

// UpdateSchedule writes the editable fields when the stored revision still
// equals s.Revision, and bumps it. ErrStale means someone else changed the
// row first; ErrDuplicate means the new name is taken.
func UpdateSchedule(ctx context.Context, q Queryer, s Schedule) error {
	res, err := q.ExecContext(ctx, `
		UPDATE tenant_extension_schedule
		SET endpoint_id = $4, name = $5, cron = $6, timezone = $7, enabled = $8, payload_json = $9,
		    overlap_policy = $10, catchup_policy = $11, catchup_window_seconds = $12,
		    retry_max_attempts = $13, pause_after_failures = $14, runner_schedule_id = $15,
		    next_run_at = $16, last_error = $17, consecutive_failures = $18, updated_by = $19,
		    revision = revision + 1, updated_at = now()
		WHERE tenant_id = $1 AND id = $2 AND revision = $3`,
		s.TenantID, s.ID, s.Revision, s.EndpointID, s.Name, s.Cron, s.Timezone, s.Enabled, nullJSON(s.PayloadJSON),
		s.OverlapPolicy, s.CatchupPolicy, s.CatchupWindowSeconds, s.RetryMaxAttempts,
		s.PauseAfterFailures, s.RunnerScheduleID, s.NextRunAt, s.LastError, s.ConsecutiveFailures, s.UpdatedBy)
	if isUniqueViolation(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("update schedule: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrStale
	}
	return nil
}

// ErrStale is returned when an optimistic update lost the race.
var ErrStale = fmt.Errorf("stale revision")

// FindSchedule loads one schedule of a tenant.
func FindSchedule(ctx context.Context, q Queryer, tenantID, id uuid.UUID) (Schedule, error) {
	var s Schedule
	err := q.GetContext(ctx, &s, scheduleSelect+` WHERE s.tenant_id = $1 AND s.id = $2`, tenantID, id)
	return s, notFound(err)
}

// FindScheduleForUpdate loads and row-locks a schedule.
func FindScheduleForUpdate(ctx context.Context, q Queryer, tenantID, id uuid.UUID) (Schedule, error) {
	var s Schedule
	err := q.GetContext(ctx, &s, scheduleSelect+` WHERE s.tenant_id = $1 AND s.id = $2 FOR UPDATE OF s`, tenantID, id)
	return s, notFound(err)
}

// ListSchedules returns an install's schedules, oldest first.
func ListSchedules(ctx context.Context, q Queryer, tenantID, installID uuid.UUID) ([]Schedule, error) {
	var out []Schedule
	err := q.SelectContext(ctx, &out, scheduleSelect+`
		WHERE s.tenant_id = $1 AND s.install_id = $2
		ORDER BY s.created_at, s.id`, tenantID, installID)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return out, nil
}

// CountSchedules counts a tenant's schedules, in total and in one install.
func CountSchedules(ctx context.Context, q Queryer, tenantID, installID uuid.UUID) (inInstall, inTenant int, err error) {
	var row struct {
		InInstall int `db:"in_install"`
		InTenant  int `db:"in_tenant"`
	}
	err = q.GetContext(ctx, &row, `
		SELECT count(*) FILTER (WHERE install_id = $2) AS in_install, count(*) AS in_tenant
		FROM tenant_extension_schedule WHERE tenant_id = $1`, tenantID, installID)
	if err != nil {
		return 0, 0, fmt.Errorf("count schedules: %w", err)
	}
	return row.InInstall, row.InTenant, nil
}

// DeleteSchedule removes a schedule and its run history (runs first: no
// cascades).
func DeleteSchedule(ctx context.Context, q Queryer, tenantID, id uuid.UUID) error {
	if _, err := q.ExecContext(ctx, `
		DELETE FROM tenant_extension_schedule_run WHERE tenant_id = $1 AND schedule_id = $2`, tenantID, id); err != nil {
		return fmt.Errorf("delete runs of schedule: %w", err)
	}
	res, err := q.ExecContext(ctx, `DELETE FROM tenant_extension_schedule WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return fmt.Errorf("delete schedule: %w", err)
	}
	return expectOne(res)
}

// SetScheduleTimer records the timer handle and next fire time.
func SetScheduleTimer(ctx context.Context, q Queryer, tenantID, id uuid.UUID, handle *string, next *time.Time) error {
	_, err := q.ExecContext(ctx, `
		UPDATE tenant_extension_schedule SET runner_schedule_id = $3, next_run_at = $4
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, handle, next)
	if err != nil {
		return fmt.Errorf("set schedule timer: %w", err)
	}
	return nil
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return []byte(b)
}
