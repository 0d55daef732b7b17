package db

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// The queries of the operator tools (SPEC §8). They are the only
// repository functions that read across tenants on purpose; the operator
// service checks the actor's operator flag before calling any of them.

// TenantSummary is a tenant with the counts the operator tenants list shows.
type TenantSummary struct {
	Tenant
	Installs         int `db:"installs"`
	Schedules        int `db:"schedules"`
	EnabledSchedules int `db:"enabled_schedules"`
}

// ListTenantSummaries returns every tenant with its install and schedule
// counts, by name.
func ListTenantSummaries(ctx context.Context, q Queryer) ([]TenantSummary, error) {
	var out []TenantSummary
	err := q.SelectContext(ctx, &out, `
		SELECT t.id, t.name, t.default_timezone, t.schedules_suspended, t.created_at,
		       (SELECT count(*) FROM tenant_extension_install i WHERE i.tenant_id = t.id) AS installs,
		       (SELECT count(*) FROM tenant_extension_schedule s WHERE s.tenant_id = t.id) AS schedules,
		       (SELECT count(*) FROM tenant_extension_schedule s WHERE s.tenant_id = t.id AND s.enabled) AS enabled_schedules
		FROM tenant t
		ORDER BY t.name`)
	if err != nil {
		return nil, fmt.Errorf("list tenant summaries: %w", err)
	}
	return out, nil
}

// FindTenantForUpdate loads and row-locks a tenant, so two kill-switch
// changes of one tenant run one after the other.
func FindTenantForUpdate(ctx context.Context, q Queryer, id uuid.UUID) (Tenant, error) {
	var t Tenant
	err := q.GetContext(ctx, &t, `
		SELECT id, name, default_timezone, schedules_suspended, created_at
		FROM tenant WHERE id = $1 FOR UPDATE`, id)
	return t, notFound(err)
}

// SetTenantSuspended flips a tenant's kill switch.
func SetTenantSuspended(ctx context.Context, q Queryer, id uuid.UUID, suspended bool) error {
	res, err := q.ExecContext(ctx, `UPDATE tenant SET schedules_suspended = $2 WHERE id = $1`, id, suspended)
	if err != nil {
		return fmt.Errorf("set tenant suspended: %w", err)
	}
	return expectOne(res)
}

// LiveSchedule is an enabled schedule of an enabled install: one whose
// timer the kill switch pauses and resumes.
type LiveSchedule struct {
	TenantID         uuid.UUID `db:"tenant_id"`
	ID               uuid.UUID `db:"id"`
	InstallID        uuid.UUID `db:"install_id"`
	Cron             string    `db:"cron"`
	Timezone         string    `db:"timezone"`
	RunnerScheduleID *string   `db:"runner_schedule_id"`
}

// ListLiveSchedules returns a tenant's enabled schedules of enabled
// installs, locking them so a concurrent edit waits for the kill switch.
func ListLiveSchedules(ctx context.Context, q Queryer, tenantID uuid.UUID) ([]LiveSchedule, error) {
	var out []LiveSchedule
	err := q.SelectContext(ctx, &out, `
		SELECT s.tenant_id, s.id, s.install_id, s.cron, s.timezone, s.runner_schedule_id
		FROM tenant_extension_schedule s
		JOIN tenant_extension_install i ON i.tenant_id = s.tenant_id AND i.id = s.install_id
		WHERE s.tenant_id = $1 AND s.enabled AND i.enabled
		ORDER BY s.id
		FOR UPDATE OF s`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list live schedules: %w", err)
	}
	return out, nil
}

// ScheduleSearch filters the cross-tenant schedule search. Empty fields
// match everything.
type ScheduleSearch struct {
	TenantID    *uuid.UUID
	TenantName  string // case-insensitive substring
	InstallID   *uuid.UUID
	ExtensionID *uuid.UUID
	Extension   string // case-insensitive substring of the slug
	Limit       int
}

// ScheduleHit is one schedule found by the operator search, with the
// tenant and extension it belongs to.
type ScheduleHit struct {
	Schedule
	TenantName       string    `db:"tenant_name"`
	TenantSuspended  bool      `db:"tenant_suspended"`
	ExtensionID      uuid.UUID `db:"extension_id"`
	ExtensionSlug    string    `db:"extension_slug"`
	InstallEnabled   bool      `db:"install_enabled"`
	InstallVersionID uuid.UUID `db:"install_version_id"`
	TimerExists      bool      `db:"timer_exists"`
	TimerPaused      bool      `db:"timer_paused"`
}

// SearchSchedules finds schedules across tenants, newest first.
func SearchSchedules(ctx context.Context, q Queryer, f ScheduleSearch) ([]ScheduleHit, error) {
	if f.Limit <= 0 {
		f.Limit = 200
	}
	var out []ScheduleHit
	err := q.SelectContext(ctx, &out, `
		SELECT s.tenant_id, s.id, s.install_id, s.endpoint_id, s.name, s.cron, s.timezone, s.enabled,
		       coalesce(s.payload_json, 'null') AS payload_json, s.overlap_policy, s.catchup_policy, s.catchup_window_seconds,
		       s.retry_max_attempts, s.pause_after_failures, s.revision, s.runner_schedule_id,
		       `+nextRunAt+` AS next_run_at, s.last_run_at, s.last_run_status, s.last_error, s.last_success_at,
		       s.consecutive_failures, s.created_by, s.updated_by, s.created_at, s.updated_at,
		       coalesce(e.method, '') AS endpoint_method, coalesce(e.path, '') AS endpoint_path,
		       t.name AS tenant_name, t.schedules_suspended AS tenant_suspended,
		       x.id AS extension_id, x.slug AS extension_slug,
		       i.enabled AS install_enabled, i.version_id AS install_version_id,
		       tm.key IS NOT NULL AS timer_exists, coalesce(tm.paused, false) AS timer_paused
		FROM tenant_extension_schedule s
		JOIN tenant t ON t.id = s.tenant_id
		JOIN tenant_extension_install i ON i.tenant_id = s.tenant_id AND i.id = s.install_id
		JOIN extension x ON x.id = i.extension_id
		LEFT JOIN extension_api_endpoint e ON e.id = s.endpoint_id
		LEFT JOIN scheduler_timer tm ON tm.tenant_id = s.tenant_id AND tm.schedule_id = s.id
		WHERE ($1::uuid IS NULL OR s.tenant_id = $1)
		  AND ($2 = '' OR t.name ILIKE '%' || $2 || '%')
		  AND ($3::uuid IS NULL OR s.install_id = $3)
		  AND ($4::uuid IS NULL OR i.extension_id = $4)
		  AND ($5 = '' OR x.slug ILIKE '%' || $5 || '%')
		ORDER BY t.name, x.slug, s.created_at, s.id
		LIMIT $6`,
		f.TenantID, escapeLike(f.TenantName), f.InstallID, f.ExtensionID, escapeLike(f.Extension), f.Limit)
	if err != nil {
		return nil, fmt.Errorf("search schedules: %w", err)
	}
	return out, nil
}

// escapeLike makes user text match literally inside ILIKE.
func escapeLike(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '%' || r == '_' || r == '\\' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}

// FindScheduleAnyTenant finds a schedule by id whatever its tenant and
// row-locks it. The id alone is not indexed (keys lead with tenant_id); an
// operator deleting one schedule can afford the scan.
func FindScheduleAnyTenant(ctx context.Context, q Queryer, id uuid.UUID) (Schedule, error) {
	var s Schedule
	err := q.GetContext(ctx, &s, scheduleSelect+` WHERE s.id = $1 FOR UPDATE OF s`, id)
	return s, notFound(err)
}

// CountRuns counts a schedule's run rows.
func CountRuns(ctx context.Context, q Queryer, tenantID, scheduleID uuid.UUID) (int, error) {
	var n int
	err := q.GetContext(ctx, &n, `
		SELECT count(*) FROM tenant_extension_schedule_run WHERE tenant_id = $1 AND schedule_id = $2`, tenantID, scheduleID)
	if err != nil {
		return 0, fmt.Errorf("count runs: %w", err)
	}
	return n, nil
}

// ListOrphanTimers lists, without removing them, timers whose schedule is
// gone or disabled (what reconciliation would delete).
func ListOrphanTimers(ctx context.Context, q Queryer, limit int) ([]OrphanTimer, error) {
	var out []OrphanTimer
	err := q.SelectContext(ctx, &out, `
		SELECT tm.tenant_id, tm.key, tm.schedule_id
		FROM scheduler_timer tm
		WHERE NOT EXISTS (
			SELECT 1 FROM tenant_extension_schedule s
			WHERE s.tenant_id = tm.tenant_id AND s.id = tm.schedule_id AND s.enabled)
		ORDER BY tm.tenant_id, tm.key
		LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list orphan timers: %w", err)
	}
	return out, nil
}

// SchedulerBacklog is how far behind the timers are.
type SchedulerBacklog struct {
	// Due counts live timers whose fire time has passed.
	Due int `db:"due"`
	// OldestDue is the earliest such fire time.
	OldestDue *time.Time `db:"oldest_due"`
	// Running counts runs in flight.
	Running int `db:"running"`
	// Queued counts runs waiting for a worker (retries backing off included).
	Queued int `db:"queued"`
}

// FindSchedulerBacklog measures the due and in-flight work at now.
func FindSchedulerBacklog(ctx context.Context, q Queryer, now time.Time) (SchedulerBacklog, error) {
	var b SchedulerBacklog
	err := q.GetContext(ctx, &b, `
		SELECT
		  (SELECT count(*) FROM scheduler_timer WHERE NOT paused AND next_fire_at <= $1) AS due,
		  (SELECT min(next_fire_at) FROM scheduler_timer WHERE NOT paused AND next_fire_at <= $1) AS oldest_due,
		  (SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'running') AS running,
		  (SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'queued') AS queued`, now)
	if err != nil {
		return SchedulerBacklog{}, fmt.Errorf("measure scheduler backlog: %w", err)
	}
	return b, nil
}
