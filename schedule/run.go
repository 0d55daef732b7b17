package schedule

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/account"
	"extcron/db"
	"extcron/fault"
)

// RunNow queues a manual run of the schedule. A repeated idempotency key
// within the window returns the first run (created=false). Then the rate
// limits apply (429 with Retry-After), then the overlap policy: with skip,
// a run already in flight answers 409 naming it.
func (svc *Service) RunNow(ctx context.Context, actor account.Actor, extRef, id, idempotencyKey string) (RunView, bool, error) {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return RunView{}, false, err
	}
	key := strings.TrimSpace(idempotencyKey)
	if len(key) > 200 {
		return RunView{}, false, fault.New(fault.BadRequest, "Idempotency-Key is longer than 200 characters.")
	}
	var out RunView
	var created bool
	err := db.WithTx(ctx, svc.conn, func(tx *sqlx.Tx) error {
		t, err := svc.resolve(ctx, tx, actor, extRef, false)
		if err != nil {
			return err
		}
		s, err := loadSchedule(ctx, tx, t, id, true)
		if err != nil {
			return err
		}
		now := svc.now()
		if key != "" {
			prev, err := db.FindRunByIdempotencyKey(ctx, tx, s.TenantID, s.ID, key, now.Add(-svc.limits.IdempotencyWindow))
			if err == nil {
				out = runViewOf(prev)
				return nil
			}
			if !errors.Is(err, db.ErrNotFound) {
				return err
			}
			// A key older than the window may be used again.
			if err := db.ForgetIdempotencyKey(ctx, tx, s.TenantID, s.ID, key, now.Add(-svc.limits.IdempotencyWindow)); err != nil {
				return err
			}
		}
		if !t.install.Enabled {
			return fault.New(fault.Conflict, "%s is disabled; enable it to run its schedules.", t.install.DisplayName)
		}
		if err := svc.checkRunNowRate(ctx, tx, s, now); err != nil {
			return err
		}
		if s.OverlapPolicy == "skip" {
			active, err := db.FindActiveRun(ctx, tx, s.TenantID, s.ID)
			if err == nil {
				return &fault.Error{Code: fault.Conflict,
					Message: "A run of this schedule is already in flight (run " + active.ID.String() + ", " + active.Status + "); its overlap policy is skip.",
					Detail:  runViewOf(active)}
			}
			if !errors.Is(err, db.ErrNotFound) {
				return err
			}
		}
		run := db.Run{TenantID: s.TenantID, ID: uuid.New(), ScheduleID: s.ID, InstallID: s.InstallID,
			ScheduledFor: now, InvocationID: uuid.New()}
		if key != "" {
			run.IdempotencyKey = &key
		}
		stored, isNew, err := db.InsertManualRun(ctx, tx, run)
		if err != nil {
			return err
		}
		out, created = runViewOf(stored), isNew
		if !isNew {
			return nil
		}
		if err := svc.jobs.TriggerNow(ctx, tx); err != nil {
			return err
		}
		return db.InsertAudit(ctx, tx, db.Audit{TenantID: actor.TenantID, ActorID: &actor.UserID, Actor: actor.Label(),
			Action: "schedule.run_now", TargetType: "schedule", TargetID: s.ID.String(),
			After: map[string]string{"run_id": stored.ID.String(), "idempotency_key": key}})
	})
	return out, created, err
}

// checkRunNowRate enforces the per-tenant and per-schedule limits. The
// tenant row lock serializes concurrent run-now requests of one tenant so
// the count cannot be raced.
func (svc *Service) checkRunNowRate(ctx context.Context, tx *sqlx.Tx, s db.Schedule, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM tenant WHERE id = $1 FOR UPDATE`, s.TenantID); err != nil {
		return err
	}
	inTenant, last, err := db.CountManualRunsSince(ctx, tx, s.TenantID, s.ID, now.Add(-time.Minute), now.Add(-svc.limits.RunNowPerSchedule))
	if err != nil {
		return err
	}
	if last != nil {
		wait := last.Add(svc.limits.RunNowPerSchedule).Sub(now)
		return &fault.Error{Code: fault.RateLimited, RetryAfterSeconds: ceilSeconds(wait),
			Message: "This schedule was run moments ago; wait a few seconds before running it again."}
	}
	if inTenant >= svc.limits.RunNowPerTenant {
		return &fault.Error{Code: fault.RateLimited, RetryAfterSeconds: 60,
			Message: "Too many manual runs in your tenant in the last minute; try again shortly."}
	}
	return nil
}

func ceilSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}

// RunPage is one page of a schedule's runs.
type RunPage struct {
	Items      []RunView `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// RunQuery filters and pages a run listing.
type RunQuery struct {
	Status  string `json:"status" validate:"omitempty,oneof=queued running success failure timeout skipped missed" msg:"Status must be one of queued, running, success, failure, timeout, skipped, missed."`
	Trigger string `json:"trigger" validate:"omitempty,oneof=schedule manual catchup" msg:"Trigger must be schedule, manual or catchup."`
	Cursor  string `json:"cursor"`
	Limit   int    `json:"limit"`
}

// ListRuns returns a page of a schedule's runs, newest first.
func (svc *Service) ListRuns(ctx context.Context, actor account.Actor, extRef, id string, q RunQuery) (RunPage, error) {
	if err := actor.Require(account.ExtensionRead); err != nil {
		return RunPage{}, err
	}
	fields := fault.Fields{}
	svc.rules.Check(q, fields)
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	f := db.RunFilter{Status: q.Status, Trigger: q.Trigger, Limit: q.Limit + 1}
	if q.Cursor != "" {
		ts, idPart, ok := strings.Cut(q.Cursor, "_")
		nanos, err1 := parseInt(ts)
		rid, err2 := uuid.Parse(idPart)
		if !ok || err1 != nil || err2 != nil {
			fields.Add("cursor", "The cursor is not valid; use next_cursor from the previous page.")
		} else {
			t := time.Unix(0, nanos)
			f.BeforeTime, f.BeforeID = &t, &rid
		}
	}
	if err := fields.Err(); err != nil {
		return RunPage{}, err
	}
	t, err := svc.resolve(ctx, svc.conn, actor, extRef, false)
	if err != nil {
		return RunPage{}, err
	}
	s, err := loadSchedule(ctx, svc.conn, t, id, false)
	if err != nil {
		return RunPage{}, err
	}
	rows, err := db.ListRuns(ctx, svc.conn, s.TenantID, s.ID, f)
	if err != nil {
		return RunPage{}, err
	}
	page := RunPage{Items: make([]RunView, 0, len(rows))}
	for i, r := range rows {
		if i == q.Limit {
			last := rows[i-1]
			page.NextCursor = formatInt(last.CreatedAt.UnixNano()) + "_" + last.ID.String()
			break
		}
		page.Items = append(page.Items, runViewOf(r))
	}
	return page, nil
}
