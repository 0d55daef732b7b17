package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/scheduler/cron"
)

// WakeChannel is the LISTEN/NOTIFY channel that tells idle schedulers to
// look for due work sooner than they planned.
const WakeChannel = "extcron_wake"

// PGJobRunner keeps timers in the scheduler_timer table, inside the
// caller's transaction.
type PGJobRunner struct {
	minInterval time.Duration
}

// NewPGJobRunner builds the PostgreSQL job runner.
func NewPGJobRunner() *PGJobRunner { return &PGJobRunner{} }

var _ JobRunner = (*PGJobRunner)(nil)

// NextFire computes the first fire time of cron in zone strictly after
// now. It is the single place timers turn a cron into an instant.
func NextFire(expr, zone string, after time.Time) (time.Time, error) {
	e, err := cron.Parse(expr, 0)
	if err != nil {
		return time.Time{}, err
	}
	loc, _, err := cron.LoadZone(zone)
	if err != nil {
		return time.Time{}, err
	}
	next := e.Next(after, loc)
	if next.IsZero() {
		return time.Time{}, fmt.Errorf("cron %q never fires after %s", expr, after.Format(time.RFC3339))
	}
	return next, nil
}

// Create implements JobRunner.
func (r *PGJobRunner) Create(ctx context.Context, tx *sqlx.Tx, spec TimerSpec, now time.Time) (TimerState, error) {
	return r.upsert(ctx, tx, spec, now)
}

// Update implements JobRunner.
func (r *PGJobRunner) Update(ctx context.Context, tx *sqlx.Tx, spec TimerSpec, now time.Time) (TimerState, error) {
	return r.upsert(ctx, tx, spec, now)
}

// Resume implements JobRunner.
func (r *PGJobRunner) Resume(ctx context.Context, tx *sqlx.Tx, spec TimerSpec, now time.Time) (TimerState, error) {
	spec.Paused = false
	return r.upsert(ctx, tx, spec, now)
}

func (r *PGJobRunner) upsert(ctx context.Context, tx *sqlx.Tx, spec TimerSpec, now time.Time) (TimerState, error) {
	next, err := NextFire(spec.Cron, spec.Timezone, now)
	if err != nil {
		return TimerState{}, err
	}
	key := Key(spec.InstallID, spec.ScheduleID)
	_, err = tx.ExecContext(ctx, `
		INSERT INTO scheduler_timer (tenant_id, key, schedule_id, next_fire_at, paused)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id, key) DO UPDATE
		SET next_fire_at = EXCLUDED.next_fire_at, paused = EXCLUDED.paused`,
		spec.TenantID, key, spec.ScheduleID, next, spec.Paused)
	if err != nil {
		return TimerState{}, fmt.Errorf("write timer %s: %w", key, err)
	}
	if !spec.Paused {
		if err := notify(ctx, tx); err != nil {
			return TimerState{}, err
		}
	}
	return TimerState{Key: key, Exists: true, Paused: spec.Paused, NextFireAt: &next}, nil
}

// Pause implements JobRunner.
func (r *PGJobRunner) Pause(ctx context.Context, tx *sqlx.Tx, tenantID, installID, scheduleID uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE scheduler_timer SET paused = true WHERE tenant_id = $1 AND key = $2`,
		tenantID, Key(installID, scheduleID))
	if err != nil {
		return fmt.Errorf("pause timer: %w", err)
	}
	return nil
}

// Delete implements JobRunner.
func (r *PGJobRunner) Delete(ctx context.Context, tx *sqlx.Tx, tenantID, installID, scheduleID uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `
		DELETE FROM scheduler_timer WHERE tenant_id = $1 AND key = $2`,
		tenantID, Key(installID, scheduleID))
	if err != nil {
		return fmt.Errorf("delete timer: %w", err)
	}
	return nil
}

// TriggerNow implements JobRunner.
func (r *PGJobRunner) TriggerNow(ctx context.Context, tx *sqlx.Tx) error {
	return notify(ctx, tx)
}

// Describe implements JobRunner.
func (r *PGJobRunner) Describe(ctx context.Context, q sqlx.QueryerContext, tenantID, installID, scheduleID uuid.UUID) (TimerState, error) {
	key := Key(installID, scheduleID)
	var row struct {
		NextFireAt *time.Time `db:"next_fire_at"`
		Paused     bool       `db:"paused"`
	}
	err := sqlx.GetContext(ctx, q, &row, `
		SELECT next_fire_at, paused FROM scheduler_timer WHERE tenant_id = $1 AND key = $2`, tenantID, key)
	if errors.Is(err, sql.ErrNoRows) {
		return TimerState{Key: key}, nil
	}
	if err != nil {
		return TimerState{}, fmt.Errorf("describe timer: %w", err)
	}
	return TimerState{Key: key, Exists: true, Paused: row.Paused, NextFireAt: row.NextFireAt}, nil
}

// notify wakes idle schedulers when the transaction commits (PostgreSQL
// delivers NOTIFY only on commit, and folds duplicates).
func notify(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, WakeChannel); err != nil {
		return fmt.Errorf("notify schedulers: %w", err)
	}
	return nil
}
