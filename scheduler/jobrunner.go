package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// TimerSpec describes the durable recurring timer of one schedule.
type TimerSpec struct {
	TenantID   uuid.UUID
	InstallID  uuid.UUID
	ScheduleID uuid.UUID
	Cron       string
	Timezone   string
	// Paused timers keep their key but never fire.
	Paused bool
}

// TimerState is what a job runner knows about one timer.
type TimerState struct {
	Key        string
	Exists     bool
	Paused     bool
	NextFireAt *time.Time
}

// Key is the deterministic handle of a schedule's timer,
// extsched:<install_id>:<schedule_id>.
func Key(installID, scheduleID uuid.UUID) string {
	return fmt.Sprintf("extsched:%s:%s", installID, scheduleID)
}

// JobRunner keeps one durable recurring timer per schedule. The schedule
// service talks only to this interface. Every mutating method takes the
// caller's transaction, so an implementation that lives in the same
// database changes a schedule row and its timer atomically; one that does
// not (a Temporal implementation) must make its calls idempotent by key.
type JobRunner interface {
	// Create adds the timer for spec; its first fire time is the first one
	// strictly after now.
	Create(ctx context.Context, tx *sqlx.Tx, spec TimerSpec, now time.Time) (TimerState, error)
	// Update replaces cron, zone and paused state, recomputing the next
	// fire time from now (never back-filling the past).
	Update(ctx context.Context, tx *sqlx.Tx, spec TimerSpec, now time.Time) (TimerState, error)
	// Pause stops the timer from firing; Resume starts it again from the
	// next fire time after now, so a resumed schedule never bursts.
	Pause(ctx context.Context, tx *sqlx.Tx, tenantID, installID, scheduleID uuid.UUID) error
	Resume(ctx context.Context, tx *sqlx.Tx, spec TimerSpec, now time.Time) (TimerState, error)
	// Delete removes the timer; deleting a missing timer is not an error.
	Delete(ctx context.Context, tx *sqlx.Tx, tenantID, installID, scheduleID uuid.UUID) error
	// TriggerNow wakes the schedulers: a manual run has been queued.
	TriggerNow(ctx context.Context, tx *sqlx.Tx) error
	// Describe reports the timer's state.
	Describe(ctx context.Context, q sqlx.QueryerContext, tenantID, installID, scheduleID uuid.UUID) (TimerState, error)
}
