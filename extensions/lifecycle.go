package extensions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/account"
	"extcron/db"
	"extcron/fault"
)

// ScheduleHooks keep an install's schedules and timers in step with the
// install, inside the install service's transaction. The schedule service
// implements them; without hooks an install has no schedules to keep.
type ScheduleHooks interface {
	// InstallToggled pauses (enabled=false) or resumes the timers of the
	// install's enabled schedules; resumed timers fire at the next future
	// fire time, never in a burst.
	InstallToggled(ctx context.Context, tx *sqlx.Tx, tenantID, installID uuid.UUID, enabled bool) error
	// Remap plans (apply=false) or applies the move of every schedule of
	// the install onto the target version's endpoints.
	Remap(ctx context.Context, tx *sqlx.Tx, actor account.Actor, install db.InstallDetail, target db.Version, targetEndpoints []Endpoint, disableMissing, apply bool) (RemapPlan, error)
}

// RemapPlan says what an update does to the install's schedules.
type RemapPlan struct {
	Remapped []RemappedSchedule `json:"remapped"`
	Missing  []MissingSchedule  `json:"missing"`
}

// RemappedSchedule is a schedule that finds its endpoint in the target.
type RemappedSchedule struct {
	ScheduleID    uuid.UUID `json:"schedule_id"`
	Name          *string   `json:"name"`
	Method        string    `json:"method"`
	Path          string    `json:"path"`
	Enabled       bool      `json:"enabled"`
	OldEndpointID uuid.UUID `json:"old_endpoint_id"`
	NewEndpointID uuid.UUID `json:"new_endpoint_id"`
}

// MissingSchedule is a schedule whose endpoint the target lacks.
type MissingSchedule struct {
	ScheduleID uuid.UUID `json:"schedule_id"`
	Name       *string   `json:"name"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
}

// UpdatePreview is the answer of a preview: the versions and the plan.
type UpdatePreview struct {
	FromVersion string    `json:"from_version"`
	ToVersion   string    `json:"to_version"`
	Blocked     bool      `json:"blocked"`
	Plan        RemapPlan `json:"plan"`
}

// SetHooks connects the schedule service. It is called once, at wiring.
func (s *Installs) SetHooks(h ScheduleHooks) { s.hooks = h }

// PreviewUpdate shows what updating to version would do, changing nothing.
func (s *Installs) PreviewUpdate(ctx context.Context, actor account.Actor, extRef, version string) (UpdatePreview, error) {
	if err := actor.Require(account.ExtensionRead); err != nil {
		return UpdatePreview{}, err
	}
	var out UpdatePreview
	err := db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		detail, target, eps, err := s.updateTarget(ctx, tx, actor, extRef, version)
		if err != nil {
			return err
		}
		plan, err := s.plan(ctx, tx, actor, detail, target, eps, false, false)
		if err != nil {
			return err
		}
		out = UpdatePreview{FromVersion: detail.Version, ToVersion: target.Version, Blocked: len(plan.Missing) > 0, Plan: plan}
		// A preview must not even keep a materialization it did.
		return errRollback
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	return out, err
}

var errRollback = errors.New("rollback")

// MissingPolicy says what a version update does with schedules whose
// endpoint the target version lacks.
type MissingPolicy struct {
	// Disable disables them (with the reason in last_error) instead of
	// refusing the update.
	Disable bool
	// Reviewed, when not nil, is the list of schedules the user agreed to
	// disable (those a preview showed). A schedule missing now but not in
	// it (created or changed after the review) refuses the update, as if
	// Disable were false: nothing is disabled that was not shown.
	Reviewed []uuid.UUID
}

// allows reports whether the policy lets these schedules be disabled.
func (p MissingPolicy) allows(missing []MissingSchedule) bool {
	if !p.Disable {
		return false
	}
	if p.Reviewed == nil {
		return true
	}
	reviewed := make(map[uuid.UUID]bool, len(p.Reviewed))
	for _, id := range p.Reviewed {
		reviewed[id] = true
	}
	for _, m := range missing {
		if !reviewed[m.ScheduleID] {
			return false
		}
	}
	return true
}

// UpdateVersion moves the install to another version (upgrade or rollback)
// and remaps every schedule by method and path, in one transaction with the
// timers. When a schedule's endpoint is missing in the target the update is
// refused with SCHEDULE_REMAP_FAILED listing them, unless the policy allows
// disabling them: then exactly those schedules are disabled and the rest
// remap.
func (s *Installs) UpdateVersion(ctx context.Context, actor account.Actor, extRef, version string, missing MissingPolicy) (Install, RemapPlan, error) {
	if err := actor.Require(account.ExtensionWrite); err != nil {
		return Install{}, RemapPlan{}, err
	}
	var out Install
	var plan RemapPlan
	err := db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		detail, target, eps, err := s.updateTarget(ctx, tx, actor, extRef, version)
		if err != nil {
			return err
		}
		if target.ID == detail.VersionID {
			return fault.New(fault.Conflict, "%s is already at version %s.", detail.Slug, target.Version)
		}
		plan, err = s.plan(ctx, tx, actor, detail, target, eps, missing.Disable, false)
		if err != nil {
			return err
		}
		if len(plan.Missing) > 0 && !missing.allows(plan.Missing) {
			msg := fmt.Sprintf("%d schedule(s) call endpoints that version %s does not have. Edit or disable them, or update with disable_missing_schedules.", len(plan.Missing), target.Version)
			if missing.Disable {
				msg = fmt.Sprintf("%d schedule(s) call endpoints that version %s does not have, and not all of them are among the schedules reviewed for disabling: review the update again.", len(plan.Missing), target.Version)
			}
			return &fault.Error{Code: fault.RemapFailed, Message: msg, Detail: plan.Missing}
		}
		if plan, err = s.plan(ctx, tx, actor, detail, target, eps, missing.Disable, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tenant_extension_install SET version_id = $3, updated_at = now()
			WHERE tenant_id = $1 AND id = $2`, actor.TenantID, detail.ID, target.ID); err != nil {
			return fmt.Errorf("move install to version: %w", err)
		}
		updated, err := db.FindInstall(ctx, tx, actor.TenantID, detail.ID)
		if err != nil {
			return err
		}
		m, err := ParseManifest(target.Manifest)
		if err != nil {
			return err
		}
		if out, err = s.view(ctx, tx, updated, &m); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "install.update", detail.ID,
			map[string]any{"version": detail.Version, "version_id": detail.VersionID},
			map[string]any{"version": target.Version, "version_id": target.ID, "remapped": len(plan.Remapped),
				"disabled": len(plan.Missing), "disable_missing_schedules": missing.Disable})
	})
	return out, plan, err
}

func (s *Installs) plan(ctx context.Context, tx *sqlx.Tx, actor account.Actor, detail db.InstallDetail, target db.Version, eps []Endpoint, disableMissing, apply bool) (RemapPlan, error) {
	if s.hooks == nil {
		return RemapPlan{}, nil
	}
	return s.hooks.Remap(ctx, tx, actor, detail, target, eps, disableMissing, apply)
}

// updateTarget locks the install and materializes the target version's
// endpoints (they may be missing on an old version).
func (s *Installs) updateTarget(ctx context.Context, tx *sqlx.Tx, actor account.Actor, extRef, version string) (db.InstallDetail, db.Version, []Endpoint, error) {
	detail, _, _, err := loadInstall(ctx, tx, actor.TenantID, extRef, true)
	if err != nil {
		return db.InstallDetail{}, db.Version{}, nil, err
	}
	version = strings.TrimSpace(version)
	if version == "" {
		return db.InstallDetail{}, db.Version{}, nil, &fault.Error{Code: fault.Invalid, Message: "Choose a version.",
			Fields: map[string]string{"version": "Choose the version to update to."}}
	}
	target, err := db.FindVersionByNumber(ctx, tx, detail.ExtensionID, version)
	if errors.Is(err, db.ErrNotFound) {
		return db.InstallDetail{}, db.Version{}, nil, &fault.Error{Code: fault.Invalid, Message: "Unknown version.",
			Fields: map[string]string{"version": "Version " + version + " of " + detail.Slug + " is not published."}}
	}
	if err != nil {
		return db.InstallDetail{}, db.Version{}, nil, err
	}
	entries, err := manifestEndpoints(target.Manifest)
	if err != nil {
		return db.InstallDetail{}, db.Version{}, nil, err
	}
	eps, _ := MaterializeEndpoints(target.ID, entries)
	if err := db.MaterializeEndpoints(ctx, tx, target.ID, toRows(eps)); err != nil {
		return db.InstallDetail{}, db.Version{}, nil, err
	}
	return detail, target, eps, nil
}

func toRows(eps []Endpoint) []db.Endpoint {
	rows := make([]db.Endpoint, 0, len(eps))
	for _, e := range eps {
		rows = append(rows, db.Endpoint{ID: e.ID, VersionID: e.VersionID, Method: e.Method, Path: e.Path, Handler: e.Handler})
	}
	return rows
}
