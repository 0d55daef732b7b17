// Package schedule is the schedule service: the only code that creates,
// changes and deletes schedules. Each operation checks the actor's
// permission and tenant, validates with the rules of SPEC §4, changes the
// schedule row and its durable timer in one transaction, and writes an
// audit event.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/account"
	"extcron/db"
	"extcron/fault"
	"extcron/scheduler"
	"extcron/scheduler/cron"
)

// Service is the schedule service.
type Service struct {
	conn   *sqlx.DB
	jobs   scheduler.JobRunner
	limits Limits
	rules  *fault.Rules
	logger *slog.Logger
	now    func() time.Time
}

// NewService builds the schedule service. now is the clock (time.Now in
// production).
func NewService(conn *sqlx.DB, jobs scheduler.JobRunner, limits Limits, logger *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{conn: conn, jobs: jobs, limits: limits, rules: fault.NewRules(), logger: logger, now: now}
}

// Limits returns the service's limits (the UI shows some of them).
func (svc *Service) Limits() Limits { return svc.limits }

// target is an install resolved from an extension reference.
type target struct {
	install db.InstallDetail
	tenant  db.Tenant
}

// resolve finds the actor's install of the extension (id or slug). An
// extension the tenant has not installed is not found.
func (svc *Service) resolve(ctx context.Context, q db.Queryer, actor account.Actor, extRef string, forUpdate bool) (target, error) {
	ext, err := db.FindExtensionBySlugOrID(ctx, q, strings.TrimSpace(extRef))
	if errors.Is(err, db.ErrNotFound) {
		return target{}, fault.NotFoundf("extension")
	}
	if err != nil {
		return target{}, err
	}
	inst, err := db.FindInstallByExtension(ctx, q, actor.TenantID, ext.ID, forUpdate)
	if errors.Is(err, db.ErrNotFound) {
		return target{}, fault.New(fault.NotFound, "%s is not installed", ext.Slug)
	}
	if err != nil {
		return target{}, err
	}
	tenant, err := db.FindTenant(ctx, q, actor.TenantID)
	if err != nil {
		return target{}, err
	}
	return target{install: inst, tenant: tenant}, nil
}

// loadSchedule finds a schedule of the target install; another install's
// or tenant's schedule is not found, exactly like an unknown id.
func loadSchedule(ctx context.Context, q db.Queryer, t target, id string, forUpdate bool) (db.Schedule, error) {
	sid, err := uuid.Parse(strings.TrimSpace(id))
	if err != nil {
		return db.Schedule{}, fault.NotFoundf("schedule")
	}
	find := db.FindSchedule
	if forUpdate {
		find = db.FindScheduleForUpdate
	}
	s, err := find(ctx, q, t.install.TenantID, sid)
	if errors.Is(err, db.ErrNotFound) || (err == nil && s.InstallID != t.install.ID) {
		return db.Schedule{}, fault.NotFoundf("schedule")
	}
	return s, err
}

// DefaultZone applies the default chain of SPEC §4: the user's profile
// zone, the tenant's default, the browser's zone, UTC. Unknown zones in
// the chain are skipped.
func DefaultZone(actor account.Actor, tenant db.Tenant, browser string) string {
	candidates := []string{actor.Timezone}
	if tenant.DefaultTimezone != nil {
		candidates = append(candidates, *tenant.DefaultTimezone)
	}
	candidates = append(candidates, strings.TrimSpace(browser))
	for _, z := range candidates {
		if z == "" {
			continue
		}
		if _, _, err := cron.LoadZone(z); err == nil {
			return z
		}
	}
	return "UTC"
}

// DefaultZoneFor is DefaultZone for the actor's tenant.
func (svc *Service) DefaultZoneFor(ctx context.Context, actor account.Actor, browser string) (string, error) {
	tenant, err := db.FindTenant(ctx, svc.conn, actor.TenantID)
	if err != nil {
		return "", err
	}
	return DefaultZone(actor, tenant, browser), nil
}

// List returns the install's schedules.
func (svc *Service) List(ctx context.Context, actor account.Actor, extRef string) ([]View, error) {
	if err := actor.Require(account.ExtensionRead); err != nil {
		return nil, err
	}
	t, err := svc.resolve(ctx, svc.conn, actor, extRef, false)
	if err != nil {
		return nil, err
	}
	rows, err := db.ListSchedules(ctx, svc.conn, actor.TenantID, t.install.ID)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(rows))
	for _, r := range rows {
		out = append(out, viewOf(r))
	}
	return out, nil
}

// Get returns one schedule.
func (svc *Service) Get(ctx context.Context, actor account.Actor, extRef, id string) (View, error) {
	if err := actor.Require(account.ExtensionRead); err != nil {
		return View{}, err
	}
	t, err := svc.resolve(ctx, svc.conn, actor, extRef, false)
	if err != nil {
		return View{}, err
	}
	s, err := loadSchedule(ctx, svc.conn, t, id, false)
	if err != nil {
		return View{}, err
	}
	return viewOf(s), nil
}

// Create validates and stores a new schedule with its timer.
func (svc *Service) Create(ctx context.Context, actor account.Actor, extRef string, in Input, browserZone string) (View, error) {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return View{}, err
	}
	var out View
	err := db.WithTx(ctx, svc.conn, func(tx *sqlx.Tx) error {
		t, err := svc.resolve(ctx, tx, actor, extRef, true)
		if err != nil {
			return err
		}
		s := db.Schedule{TenantID: actor.TenantID, ID: uuid.New(), InstallID: t.install.ID, Enabled: true,
			OverlapPolicy: "skip", CatchupPolicy: "latest", CatchupWindowSeconds: 3600, RetryMaxAttempts: 3,
			CreatedBy: &actor.UserID}
		fields := fault.Fields{}
		if in.EndpointID == nil {
			fields.Add("endpoint_id", "Choose the endpoint to call.")
		}
		if in.Cron == nil {
			fields.Add("cron", "Cron is required: five fields (minute hour day-of-month month day-of-week), e.g. 0 9 * * 1-5.")
		}
		if in.Revision != nil {
			fields.Add("revision", "revision is set by the server on create; leave it out.")
		}
		warnings, err := svc.apply(ctx, tx, &s, in, t.install, func() string { return DefaultZone(actor, t.tenant, browserZone) }, fields)
		if err != nil {
			return err
		}
		if err := fields.Err(); err != nil {
			return err
		}
		if s.Enabled && !t.install.Enabled {
			return fault.New(fault.Conflict, "%s is disabled; enable the extension before creating enabled schedules.", t.install.DisplayName)
		}
		inInstall, inTenant, err := db.CountSchedules(ctx, tx, actor.TenantID, t.install.ID)
		if err != nil {
			return err
		}
		if inInstall >= svc.limits.MaxPerInstall {
			return fault.New(fault.Conflict, "This extension already has %d schedules, the most allowed per extension. Delete one first.", inInstall)
		}
		if inTenant >= svc.limits.MaxPerTenant {
			return fault.New(fault.Conflict, "Your tenant already has %d schedules, the most allowed. Delete one first.", inTenant)
		}
		if err := insertSchedule(ctx, tx, s); err != nil {
			return err
		}
		if err := svc.syncTimer(ctx, tx, t, &s); err != nil {
			return err
		}
		stored, err := db.FindSchedule(ctx, tx, actor.TenantID, s.ID)
		if err != nil {
			return err
		}
		out = viewOf(stored)
		out.Warnings = nonEmpty(warnings)
		return audit(ctx, tx, actor, "schedule.create", stored.ID, nil, out)
	})
	return out, err
}

func insertSchedule(ctx context.Context, tx *sqlx.Tx, s db.Schedule) error {
	err := db.InsertSchedule(ctx, tx, s)
	if errors.Is(err, db.ErrDuplicate) {
		return &fault.Error{Code: fault.Invalid, Message: "Some fields are not valid.",
			Fields: map[string]string{"name": "Another schedule of this extension is already named " + quote(s.Name) + "; choose another name."}}
	}
	return err
}

// Update applies a partial change. Revision is required: a stale one
// answers 409 with the current state.
func (svc *Service) Update(ctx context.Context, actor account.Actor, extRef, id string, in Input) (View, error) {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return View{}, err
	}
	if in.Revision == nil {
		return View{}, &fault.Error{Code: fault.Invalid, Message: "Some fields are not valid.",
			Fields: map[string]string{"revision": "revision is required: send the revision you last read."}}
	}
	return svc.change(ctx, actor, extRef, id, "schedule.update", func(t target, s *db.Schedule) (map[string]string, error) {
		if s.Revision != *in.Revision {
			return nil, staleError(*s)
		}
		fields := fault.Fields{}
		warnings, err := svc.apply(ctx, svc.conn, s, in, t.install, func() string { return s.Timezone }, fields)
		if err != nil {
			return nil, err
		}
		return warnings, fields.Err()
	})
}

// SetEnabled turns a schedule on or off (the toggle); no revision needed.
func (svc *Service) SetEnabled(ctx context.Context, actor account.Actor, extRef, id string, enabled bool) (View, error) {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return View{}, err
	}
	action := "schedule.disable"
	if enabled {
		action = "schedule.enable"
	}
	return svc.change(ctx, actor, extRef, id, action, func(t target, s *db.Schedule) (map[string]string, error) {
		s.Enabled = enabled
		return nil, nil
	})
}

// change is the shared shape of every update: lock, mutate, validate,
// write the row and its timer only when something changed, audit.
func (svc *Service) change(ctx context.Context, actor account.Actor, extRef, id, action string, mutate func(target, *db.Schedule) (map[string]string, error)) (View, error) {
	var out View
	err := db.WithTx(ctx, svc.conn, func(tx *sqlx.Tx) error {
		t, err := svc.resolve(ctx, tx, actor, extRef, false)
		if err != nil {
			return err
		}
		before, err := loadSchedule(ctx, tx, t, id, true)
		if err != nil {
			return err
		}
		after := before
		warnings, err := mutate(t, &after)
		if err != nil {
			return err
		}
		if after.Enabled && !before.Enabled && !t.install.Enabled {
			return fault.New(fault.Conflict, "%s is disabled; enable the extension before enabling its schedules.", t.install.DisplayName)
		}
		if sameEditable(before, after) {
			out = viewOf(before)
			out.Warnings = nonEmpty(warnings)
			return nil
		}
		timing := before.Cron != after.Cron || before.Timezone != after.Timezone || before.Enabled != after.Enabled
		if after.Enabled && !before.Enabled {
			// A re-enabled schedule starts afresh.
			after.ConsecutiveFailures = 0
			after.LastError = nil
		}
		after.UpdatedBy = &actor.UserID
		err = db.UpdateSchedule(ctx, tx, after)
		if errors.Is(err, db.ErrDuplicate) {
			return &fault.Error{Code: fault.Invalid, Message: "Some fields are not valid.",
				Fields: map[string]string{"name": "Another schedule of this extension is already named " + quote(after.Name) + "; choose another name."}}
		}
		if errors.Is(err, db.ErrStale) {
			return staleError(before)
		}
		if err != nil {
			return err
		}
		if timing {
			if err := svc.syncTimer(ctx, tx, t, &after); err != nil {
				return err
			}
		}
		stored, err := db.FindSchedule(ctx, tx, actor.TenantID, after.ID)
		if err != nil {
			return err
		}
		out = viewOf(stored)
		out.Warnings = nonEmpty(warnings)
		return audit(ctx, tx, actor, action, stored.ID, viewOf(before), out)
	})
	return out, err
}

// syncTimer makes the timer match the schedule: enabled schedules have a
// live timer (paused while the install is disabled or the tenant is
// suspended); disabled schedules have none. The schedule row records the
// handle and next fire time.
func (svc *Service) syncTimer(ctx context.Context, tx *sqlx.Tx, t target, s *db.Schedule) error {
	if !s.Enabled {
		if err := svc.jobs.Delete(ctx, tx, s.TenantID, s.InstallID, s.ID); err != nil {
			return err
		}
		return db.SetScheduleTimer(ctx, tx, s.TenantID, s.ID, nil, nil)
	}
	spec := scheduler.TimerSpec{TenantID: s.TenantID, InstallID: s.InstallID, ScheduleID: s.ID, Cron: s.Cron,
		Timezone: s.Timezone, Paused: !t.install.Enabled || t.tenant.SchedulesSuspended}
	state, err := svc.jobs.Update(ctx, tx, spec, svc.now())
	if err != nil {
		return err
	}
	next := state.NextFireAt
	if state.Paused {
		next = nil
	}
	return db.SetScheduleTimer(ctx, tx, s.TenantID, s.ID, &state.Key, next)
}

// Delete removes a schedule, its timer and its run history.
func (svc *Service) Delete(ctx context.Context, actor account.Actor, extRef, id string) error {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return err
	}
	return db.WithTx(ctx, svc.conn, func(tx *sqlx.Tx) error {
		t, err := svc.resolve(ctx, tx, actor, extRef, false)
		if err != nil {
			return err
		}
		s, err := loadSchedule(ctx, tx, t, id, true)
		if err != nil {
			return err
		}
		if err := svc.jobs.Delete(ctx, tx, s.TenantID, s.InstallID, s.ID); err != nil {
			return err
		}
		if err := db.DeleteSchedule(ctx, tx, s.TenantID, s.ID); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "schedule.delete", s.ID, viewOf(s), nil)
	})
}

func staleError(current db.Schedule) error {
	return &fault.Error{Code: fault.Conflict,
		Message: "This schedule was changed by someone else. Review the current values and apply your change again.",
		Detail:  viewOf(current)}
}

// sameEditable reports whether no user-editable field differs.
func sameEditable(a, b db.Schedule) bool {
	return a.EndpointID == b.EndpointID && strPtrEq(a.Name, b.Name) && a.Cron == b.Cron && a.Timezone == b.Timezone &&
		a.Enabled == b.Enabled && jsonEq(a.PayloadJSON, b.PayloadJSON) && a.OverlapPolicy == b.OverlapPolicy &&
		a.CatchupPolicy == b.CatchupPolicy && a.CatchupWindowSeconds == b.CatchupWindowSeconds &&
		a.RetryMaxAttempts == b.RetryMaxAttempts && a.PauseAfterFailures == b.PauseAfterFailures
}

func strPtrEq(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func jsonEq(a, b []byte) bool {
	norm := func(x []byte) string {
		s := strings.TrimSpace(string(x))
		if s == "null" {
			return ""
		}
		return s
	}
	return norm(a) == norm(b)
}

func audit(ctx context.Context, tx *sqlx.Tx, actor account.Actor, action string, id uuid.UUID, before, after any) error {
	if b, ok := before.(View); ok {
		before = &b
	}
	if a, ok := after.(View); ok {
		after = &a
	}
	return db.InsertAudit(ctx, tx, db.Audit{TenantID: actor.TenantID, ActorID: &actor.UserID, Actor: actor.Label(),
		Action: action, TargetType: "schedule", TargetID: id.String(), Before: before, After: after})
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func quote(s *string) string {
	if s == nil {
		return `""`
	}
	return fmt.Sprintf("%q", *s)
}
