package db

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Run is a row of tenant_extension_schedule_run.
type Run struct {
	TenantID        uuid.UUID  `db:"tenant_id"`
	ID              uuid.UUID  `db:"id"`
	ScheduleID      uuid.UUID  `db:"schedule_id"`
	InstallID       uuid.UUID  `db:"install_id"`
	Trigger         string     `db:"trigger"`
	ScheduledFor    time.Time  `db:"scheduled_for"`
	InvocationID    uuid.UUID  `db:"invocation_id"`
	Attempt         int        `db:"attempt"`
	Status          string     `db:"status"`
	IdempotencyKey  *string    `db:"idempotency_key"`
	StartedAt       *time.Time `db:"started_at"`
	FinishedAt      *time.Time `db:"finished_at"`
	DurationMS      *int       `db:"duration_ms"`
	HTTPStatus      *int       `db:"http_status"`
	ResponseExcerpt *string    `db:"response_excerpt"`
	Error           *string    `db:"error"`
	VersionID       *uuid.UUID `db:"version_id"`
	ContentHash     *string    `db:"content_hash"`
	CreatedAt       time.Time  `db:"created_at"`
}

const runColumns = `tenant_id, id, schedule_id, install_id, trigger, scheduled_for, invocation_id, attempt,
	status, idempotency_key, started_at, finished_at, duration_ms, http_status, response_excerpt,
	error, version_id, content_hash, created_at`

// InsertManualRun queues a run-now. When a run with the same idempotency
// key exists for the schedule, it returns that run and created=false.
func InsertManualRun(ctx context.Context, q Queryer, r Run) (Run, bool, error) {
	var out Run
	err := q.GetContext(ctx, &out, `
		INSERT INTO tenant_extension_schedule_run (
			tenant_id, id, schedule_id, install_id, trigger, scheduled_for, invocation_id, attempt, status,
			idempotency_key, created_at)
		VALUES ($1, $2, $3, $4, 'manual', $5, $6, 0, 'queued', $7, $5)
		ON CONFLICT (tenant_id, schedule_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
		RETURNING `+runColumns,
		r.TenantID, r.ID, r.ScheduleID, r.InstallID, r.ScheduledFor, r.InvocationID, r.IdempotencyKey)
	if err == nil {
		return out, true, nil
	}
	if err = notFound(err); err != ErrNotFound {
		return Run{}, false, fmt.Errorf("insert manual run: %w", err)
	}
	err = q.GetContext(ctx, &out, `SELECT `+runColumns+` FROM tenant_extension_schedule_run
		WHERE tenant_id = $1 AND schedule_id = $2 AND idempotency_key = $3`, r.TenantID, r.ScheduleID, r.IdempotencyKey)
	if err != nil {
		return Run{}, false, fmt.Errorf("find run by idempotency key: %w", err)
	}
	return out, false, nil
}

// FindRunByIdempotencyKey returns the manual run created with key, if any,
// no older than since.
func FindRunByIdempotencyKey(ctx context.Context, q Queryer, tenantID, scheduleID uuid.UUID, key string, since time.Time) (Run, error) {
	var out Run
	err := q.GetContext(ctx, &out, `SELECT `+runColumns+` FROM tenant_extension_schedule_run
		WHERE tenant_id = $1 AND schedule_id = $2 AND idempotency_key = $3 AND created_at >= $4`,
		tenantID, scheduleID, key, since)
	return out, notFound(err)
}

// ForgetIdempotencyKey releases a key older than the idempotency window so
// it can be used again.
func ForgetIdempotencyKey(ctx context.Context, q Queryer, tenantID, scheduleID uuid.UUID, key string, before time.Time) error {
	_, err := q.ExecContext(ctx, `
		UPDATE tenant_extension_schedule_run SET idempotency_key = NULL
		WHERE tenant_id = $1 AND schedule_id = $2 AND idempotency_key = $3 AND created_at < $4`,
		tenantID, scheduleID, key, before)
	if err != nil {
		return fmt.Errorf("forget idempotency key: %w", err)
	}
	return nil
}

// CountManualRunsSince counts a tenant's manual runs created after since,
// in the tenant and for one schedule (for the run-now rate limits).
func CountManualRunsSince(ctx context.Context, q Queryer, tenantID, scheduleID uuid.UUID, tenantSince, scheduleSince time.Time) (inTenant int, lastForSchedule *time.Time, err error) {
	var row struct {
		InTenant int        `db:"in_tenant"`
		Last     *time.Time `db:"last_for_schedule"`
	}
	err = q.GetContext(ctx, &row, `
		SELECT count(*) FILTER (WHERE created_at >= $3) AS in_tenant,
		       max(created_at) FILTER (WHERE schedule_id = $2 AND created_at >= $4) AS last_for_schedule
		FROM tenant_extension_schedule_run
		WHERE tenant_id = $1 AND trigger = 'manual' AND created_at >= least($3, $4)`,
		tenantID, scheduleID, tenantSince, scheduleSince)
	if err != nil {
		return 0, nil, fmt.Errorf("count manual runs: %w", err)
	}
	return row.InTenant, row.Last, nil
}

// FindActiveRun returns a queued or running run of the schedule, if any.
func FindActiveRun(ctx context.Context, q Queryer, tenantID, scheduleID uuid.UUID) (Run, error) {
	var out Run
	err := q.GetContext(ctx, &out, `SELECT `+runColumns+` FROM tenant_extension_schedule_run
		WHERE tenant_id = $1 AND schedule_id = $2 AND status IN ('queued', 'running')
		ORDER BY created_at LIMIT 1`, tenantID, scheduleID)
	return out, notFound(err)
}

// RunFilter narrows a run listing.
type RunFilter struct {
	Status  string
	Trigger string
	// Before is the cursor: runs created strictly before (CreatedAt, ID).
	BeforeTime *time.Time
	BeforeID   *uuid.UUID
	Limit      int
}

// ListRuns returns a schedule's runs, newest first.
func ListRuns(ctx context.Context, q Queryer, tenantID, scheduleID uuid.UUID, f RunFilter) ([]Run, error) {
	var out []Run
	err := q.SelectContext(ctx, &out, `SELECT `+runColumns+` FROM tenant_extension_schedule_run
		WHERE tenant_id = $1 AND schedule_id = $2
		  AND ($3 = '' OR status = $3)
		  AND ($4 = '' OR trigger = $4)
		  AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
		ORDER BY created_at DESC, id DESC
		LIMIT $7`, tenantID, scheduleID, f.Status, f.Trigger, f.BeforeTime, f.BeforeID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}
