package schedule

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/account"
	"extcron/db"
	"extcron/extensions"
	"extcron/scheduler"
)

var _ extensions.ScheduleHooks = (*Service)(nil)

// InstallToggled implements extensions.ScheduleHooks: disabling an install
// pauses the timers of its enabled schedules; enabling resumes them from the
// next future fire time (so nothing missed while disabled is back-filled).
// Schedules keep their own enabled flag.
func (svc *Service) InstallToggled(ctx context.Context, tx *sqlx.Tx, tenantID, installID uuid.UUID, enabled bool) error {
	tenant, err := db.FindTenant(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	rows, err := db.ListSchedules(ctx, tx, tenantID, installID)
	if err != nil {
		return err
	}
	for _, s := range rows {
		if !s.Enabled {
			continue
		}
		if !enabled || tenant.SchedulesSuspended {
			if err := svc.jobs.Pause(ctx, tx, tenantID, installID, s.ID); err != nil {
				return err
			}
			if err := db.SetScheduleTimer(ctx, tx, tenantID, s.ID, s.RunnerScheduleID, nil); err != nil {
				return err
			}
			continue
		}
		spec := scheduler.TimerSpec{TenantID: tenantID, InstallID: installID, ScheduleID: s.ID, Cron: s.Cron, Timezone: s.Timezone}
		state, err := svc.jobs.Resume(ctx, tx, spec, svc.now())
		if err != nil {
			return fmt.Errorf("resume timer of schedule %s: %w", s.ID, err)
		}
		if err := db.SetScheduleTimer(ctx, tx, tenantID, s.ID, &state.Key, state.NextFireAt); err != nil {
			return err
		}
	}
	return nil
}

// Remap implements extensions.ScheduleHooks: every schedule of the install
// (enabled or not) is matched to the target endpoint with the same method
// (case-insensitive) and normalized path. With apply, matched schedules
// point at the new endpoint ids (enabled state kept) and, with
// disableMissing, unmatched ones are disabled with the reason in last_error.
func (svc *Service) Remap(ctx context.Context, tx *sqlx.Tx, actor account.Actor, install db.InstallDetail, target db.Version, targetEndpoints []extensions.Endpoint, disableMissing, apply bool) (extensions.RemapPlan, error) {
	byRoute := make(map[string]extensions.Endpoint, len(targetEndpoints))
	for _, ep := range targetEndpoints {
		byRoute[routeKey(ep.Method, ep.Path)] = ep
	}
	rows, err := db.ListSchedules(ctx, tx, install.TenantID, install.ID)
	if err != nil {
		return extensions.RemapPlan{}, err
	}
	plan := extensions.RemapPlan{Remapped: []extensions.RemappedSchedule{}, Missing: []extensions.MissingSchedule{}}
	for _, s := range rows {
		ep, ok := byRoute[routeKey(s.EndpointMethod, s.EndpointPath)]
		if ok && s.EndpointMethod != "" {
			plan.Remapped = append(plan.Remapped, extensions.RemappedSchedule{ScheduleID: s.ID, Name: s.Name,
				Method: ep.Method, Path: ep.Path, Enabled: s.Enabled, OldEndpointID: s.EndpointID, NewEndpointID: ep.ID})
			continue
		}
		plan.Missing = append(plan.Missing, extensions.MissingSchedule{ScheduleID: s.ID, Name: s.Name,
			Method: s.EndpointMethod, Path: s.EndpointPath})
	}
	if !apply {
		return plan, nil
	}
	for _, r := range plan.Remapped {
		if _, err := tx.ExecContext(ctx, `
			UPDATE tenant_extension_schedule
			SET endpoint_id = $3, revision = revision + 1, updated_at = now(), updated_by = $4
			WHERE tenant_id = $1 AND id = $2`, install.TenantID, r.ScheduleID, r.NewEndpointID, actor.UserID); err != nil {
			return plan, fmt.Errorf("remap schedule %s: %w", r.ScheduleID, err)
		}
		if err := db.InsertAudit(ctx, tx, db.Audit{TenantID: install.TenantID, ActorID: &actor.UserID, Actor: actor.Label(),
			Action: "schedule.remap", TargetType: "schedule", TargetID: r.ScheduleID.String(),
			Before: map[string]any{"endpoint_id": r.OldEndpointID, "version": install.Version},
			After:  map[string]any{"endpoint_id": r.NewEndpointID, "version": target.Version}}); err != nil {
			return plan, err
		}
	}
	if !disableMissing {
		return plan, nil
	}
	for _, m := range plan.Missing {
		reason := fmt.Sprintf("disabled: endpoint %s %s is missing in version %s", m.Method, m.Path, target.Version)
		if _, err := tx.ExecContext(ctx, `
			UPDATE tenant_extension_schedule
			SET enabled = false, last_error = $3, next_run_at = NULL, runner_schedule_id = NULL,
			    revision = revision + 1, updated_at = now(), updated_by = $4
			WHERE tenant_id = $1 AND id = $2`, install.TenantID, m.ScheduleID, reason, actor.UserID); err != nil {
			return plan, fmt.Errorf("disable schedule %s: %w", m.ScheduleID, err)
		}
		if err := svc.jobs.Delete(ctx, tx, install.TenantID, install.ID, m.ScheduleID); err != nil {
			return plan, err
		}
		if err := db.InsertAudit(ctx, tx, db.Audit{TenantID: install.TenantID, ActorID: &actor.UserID, Actor: actor.Label(),
			Action: "schedule.disable_missing", TargetType: "schedule", TargetID: m.ScheduleID.String(),
			After: map[string]any{"enabled": false, "last_error": reason}}); err != nil {
			return plan, err
		}
	}
	return plan, nil
}

func routeKey(method, path string) string {
	return strings.ToUpper(strings.TrimSpace(method)) + " " + extensions.NormalizePath(path)
}
