// Package operator is the service behind the cross-tenant support tools
// of SPEC §8: schedule search and delete by id, the per-tenant kill
// switch, the health (reconciliation) report, endpoint backfill and bundle
// publishing. Every method requires the actor's operator flag and nothing
// else: tenant roles grant nothing here, and the operator flag grants
// nothing inside a tenant (the tenant services never look at it).
package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/account"
	"extcron/db"
	"extcron/extensions"
	"extcron/fault"
	"extcron/scheduler"
)

// Reconciler repairs timers against schedules on demand; the scheduler
// engine has it.
type Reconciler interface {
	Reconcile(ctx context.Context) (scheduler.Report, error)
}

// Registry is what the operator tools need from the extension registry.
type Registry interface {
	Publish(ctx context.Context, b *extensions.Bundle) (extensions.PublishResult, error)
	BackfillEndpoints(ctx context.Context, versionID uuid.UUID) (extensions.BackfillResult, error)
	Catalog(ctx context.Context) ([]extensions.CatalogEntry, error)
}

// Service is the operator service.
type Service struct {
	conn       *sqlx.DB
	jobs       scheduler.JobRunner
	registry   Registry
	reconciler Reconciler
	logger     *slog.Logger
	now        func() time.Time
}

// NewService builds the operator service. now is the clock (time.Now when
// nil).
func NewService(conn *sqlx.DB, jobs scheduler.JobRunner, registry Registry, reconciler Reconciler, logger *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{conn: conn, jobs: jobs, registry: registry, reconciler: reconciler, logger: logger, now: now}
}

// Tenant is a tenant as the operator tenants list shows it.
type Tenant struct {
	ID               uuid.UUID `json:"id"`
	Name             string    `json:"name"`
	DefaultTimezone  *string   `json:"default_timezone"`
	Suspended        bool      `json:"schedules_suspended"`
	Installs         int       `json:"installs"`
	Schedules        int       `json:"schedules"`
	EnabledSchedules int       `json:"enabled_schedules"`
	CreatedAt        time.Time `json:"created_at"`
}

// ListTenants returns every tenant with its counts.
func (s *Service) ListTenants(ctx context.Context, actor account.Actor) ([]Tenant, error) {
	if err := actor.RequireOperator(); err != nil {
		return nil, err
	}
	rows, err := db.ListTenantSummaries(ctx, s.conn)
	if err != nil {
		return nil, err
	}
	out := make([]Tenant, 0, len(rows))
	for _, r := range rows {
		out = append(out, tenantOf(r))
	}
	return out, nil
}

func tenantOf(r db.TenantSummary) Tenant {
	return Tenant{ID: r.ID, Name: r.Name, DefaultTimezone: r.DefaultTimezone, Suspended: r.SchedulesSuspended,
		Installs: r.Installs, Schedules: r.Schedules, EnabledSchedules: r.EnabledSchedules, CreatedAt: r.CreatedAt.UTC()}
}

// findTenant resolves a tenant by id or exact name.
func findTenant(ctx context.Context, q db.Queryer, ref string) (db.Tenant, error) {
	ref = strings.TrimSpace(ref)
	var (
		t   db.Tenant
		err error
	)
	if id, perr := uuid.Parse(ref); perr == nil {
		t, err = db.FindTenant(ctx, q, id)
	} else {
		t, err = db.FindTenantByName(ctx, q, ref)
	}
	if errors.Is(err, db.ErrNotFound) {
		return db.Tenant{}, fault.NotFoundf("tenant")
	}
	return t, err
}

// ScheduleQuery filters the cross-tenant schedule search: tenant by id or
// name (a part of the name matches), install by id, extension by id or a
// part of its slug.
type ScheduleQuery struct {
	Tenant    string
	Install   string
	Extension string
}

// Schedule is a schedule found by the operator search.
type Schedule struct {
	ID                   uuid.UUID       `json:"id"`
	TenantID             uuid.UUID       `json:"tenant_id"`
	TenantName           string          `json:"tenant_name"`
	TenantSuspended      bool            `json:"tenant_suspended"`
	InstallID            uuid.UUID       `json:"install_id"`
	InstallEnabled       bool            `json:"install_enabled"`
	ExtensionID          uuid.UUID       `json:"extension_id"`
	ExtensionSlug        string          `json:"extension_slug"`
	EndpointID           uuid.UUID       `json:"endpoint_id"`
	EndpointMethod       string          `json:"endpoint_method"`
	EndpointPath         string          `json:"endpoint_path"`
	Name                 *string         `json:"name"`
	Cron                 string          `json:"cron"`
	Timezone             string          `json:"timezone"`
	PayloadJSON          json.RawMessage `json:"payload_json"`
	Enabled              bool            `json:"enabled"`
	Revision             int             `json:"revision"`
	OverlapPolicy        string          `json:"overlap_policy"`
	CatchupPolicy        string          `json:"catchup_policy"`
	CatchupWindowSeconds int             `json:"catchup_window_seconds"`
	RetryMaxAttempts     int             `json:"retry_max_attempts"`
	PauseAfterFailures   int             `json:"pause_after_failures"`
	RunnerScheduleID     *string         `json:"runner_schedule_id"`
	TimerExists          bool            `json:"timer_exists"`
	TimerPaused          bool            `json:"timer_paused"`
	NextRunAt            *time.Time      `json:"next_run_at"`
	LastRunAt            *time.Time      `json:"last_run_at"`
	LastRunStatus        *string         `json:"last_run_status"`
	LastError            *string         `json:"last_error"`
	LastSuccessAt        *time.Time      `json:"last_success_at"`
	ConsecutiveFailures  int             `json:"consecutive_failures"`
	CreatedAt            time.Time       `json:"created_at"`
	UpdatedAt            time.Time       `json:"updated_at"`
}

// Label is the schedule's name, or its endpoint when unnamed.
func (s Schedule) Label() string {
	if s.Name != nil && *s.Name != "" {
		return *s.Name
	}
	return s.EndpointMethod + " " + s.EndpointPath
}

// SearchLimit bounds one search's results.
const SearchLimit = 200

// SearchSchedules finds schedules across tenants.
func (s *Service) SearchSchedules(ctx context.Context, actor account.Actor, q ScheduleQuery) ([]Schedule, error) {
	if err := actor.RequireOperator(); err != nil {
		return nil, err
	}
	f := db.ScheduleSearch{Limit: SearchLimit}
	fields := fault.Fields{}
	if t := strings.TrimSpace(q.Tenant); t != "" {
		if id, err := uuid.Parse(t); err == nil {
			f.TenantID = &id
		} else {
			f.TenantName = t
		}
	}
	if i := strings.TrimSpace(q.Install); i != "" {
		id, err := uuid.Parse(i)
		if err != nil {
			fields.Add("install", "Install must be an install id (a uuid).")
		}
		f.InstallID = &id
	}
	if e := strings.TrimSpace(q.Extension); e != "" {
		if id, err := uuid.Parse(e); err == nil {
			f.ExtensionID = &id
		} else {
			f.Extension = e
		}
	}
	if err := fields.Err(); err != nil {
		return nil, err
	}
	hits, err := db.SearchSchedules(ctx, s.conn, f)
	if err != nil {
		return nil, err
	}
	out := make([]Schedule, 0, len(hits))
	for _, h := range hits {
		out = append(out, scheduleOf(h))
	}
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func scheduleOf(h db.ScheduleHit) Schedule {
	payload := h.PayloadJSON
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	return Schedule{ID: h.ID, TenantID: h.TenantID, TenantName: h.TenantName, TenantSuspended: h.TenantSuspended,
		InstallID: h.InstallID, InstallEnabled: h.InstallEnabled, ExtensionID: h.ExtensionID, ExtensionSlug: h.ExtensionSlug,
		EndpointID: h.EndpointID, EndpointMethod: h.EndpointMethod, EndpointPath: h.EndpointPath,
		Name: h.Name, Cron: h.Cron, Timezone: h.Timezone, PayloadJSON: payload, Enabled: h.Enabled, Revision: h.Revision,
		OverlapPolicy: h.OverlapPolicy, CatchupPolicy: h.CatchupPolicy, CatchupWindowSeconds: h.CatchupWindowSeconds,
		RetryMaxAttempts: h.RetryMaxAttempts, PauseAfterFailures: h.PauseAfterFailures,
		RunnerScheduleID: h.RunnerScheduleID, TimerExists: h.TimerExists, TimerPaused: h.TimerPaused,
		NextRunAt: utc(h.NextRunAt), LastRunAt: utc(h.LastRunAt), LastRunStatus: h.LastRunStatus, LastError: h.LastError,
		LastSuccessAt: utc(h.LastSuccessAt), ConsecutiveFailures: h.ConsecutiveFailures,
		CreatedAt: h.CreatedAt.UTC(), UpdatedAt: h.UpdatedAt.UTC()}
}

// FindSchedule loads one schedule by id, whatever its tenant.
func (s *Service) FindSchedule(ctx context.Context, actor account.Actor, id string) (Schedule, error) {
	if err := actor.RequireOperator(); err != nil {
		return Schedule{}, err
	}
	sid, err := uuid.Parse(strings.TrimSpace(id))
	if err != nil {
		return Schedule{}, fault.NotFoundf("schedule")
	}
	var found Schedule
	err = db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		row, err := db.FindScheduleAnyTenant(ctx, tx, sid)
		if errors.Is(err, db.ErrNotFound) {
			return fault.NotFoundf("schedule")
		}
		if err != nil {
			return err
		}
		hits, err := db.SearchSchedules(ctx, tx, db.ScheduleSearch{TenantID: &row.TenantID, InstallID: &row.InstallID, Limit: 1000})
		if err != nil {
			return err
		}
		for _, h := range hits {
			if h.ID == sid {
				found = scheduleOf(h)
				return nil
			}
		}
		return fault.NotFoundf("schedule")
	})
	return found, err
}

// DeletedSchedule says what DeleteSchedule removed.
type DeletedSchedule struct {
	ScheduleID uuid.UUID `json:"schedule_id"`
	TenantID   uuid.UUID `json:"tenant_id"`
	Runs       int       `json:"runs"`
}

// DeleteSchedule removes a schedule of any tenant by id: its timer, its
// run history and the row, in one transaction, and records the deletion
// in that tenant's audit log with the operator as the actor.
func (s *Service) DeleteSchedule(ctx context.Context, actor account.Actor, id string) (DeletedSchedule, error) {
	if err := actor.RequireOperator(); err != nil {
		return DeletedSchedule{}, err
	}
	sid, err := uuid.Parse(strings.TrimSpace(id))
	if err != nil {
		return DeletedSchedule{}, fault.NotFoundf("schedule")
	}
	var out DeletedSchedule
	err = db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		row, err := db.FindScheduleAnyTenant(ctx, tx, sid)
		if errors.Is(err, db.ErrNotFound) {
			return fault.NotFoundf("schedule")
		}
		if err != nil {
			return err
		}
		runs, err := db.CountRuns(ctx, tx, row.TenantID, row.ID)
		if err != nil {
			return err
		}
		if err := s.jobs.Delete(ctx, tx, row.TenantID, row.InstallID, row.ID); err != nil {
			return err
		}
		if err := db.DeleteSchedule(ctx, tx, row.TenantID, row.ID); err != nil {
			return err
		}
		out = DeletedSchedule{ScheduleID: row.ID, TenantID: row.TenantID, Runs: runs}
		return db.InsertAudit(ctx, tx, db.Audit{TenantID: row.TenantID, ActorID: &actor.UserID, Actor: actor.Label(),
			Action: "schedule.delete", TargetType: "schedule", TargetID: row.ID.String(),
			Before: map[string]any{"install_id": row.InstallID, "name": row.Name, "cron": row.Cron, "timezone": row.Timezone,
				"endpoint_method": row.EndpointMethod, "endpoint_path": row.EndpointPath, "enabled": row.Enabled},
			After: map[string]any{"deleted_by": "operator", "runs_deleted": runs}})
	})
	if err != nil {
		return DeletedSchedule{}, err
	}
	s.logger.InfoContext(ctx, "operator deleted a schedule", "tenant_id", out.TenantID, "schedule_id", out.ScheduleID,
		"operator", actor.Label(), "runs_deleted", out.Runs)
	return out, nil
}

// SuspendTenant turns a tenant's kill switch on: no schedule of the tenant
// fires until it is lifted. The timer of every enabled schedule of an
// enabled install is paused in the same transaction.
func (s *Service) SuspendTenant(ctx context.Context, actor account.Actor, ref string) (Tenant, error) {
	return s.setSuspended(ctx, actor, ref, true)
}

// ResumeTenant lifts a tenant's kill switch. Timers resume from the next
// fire time after now: nothing missed while suspended is back-filled.
func (s *Service) ResumeTenant(ctx context.Context, actor account.Actor, ref string) (Tenant, error) {
	return s.setSuspended(ctx, actor, ref, false)
}

func (s *Service) setSuspended(ctx context.Context, actor account.Actor, ref string, suspend bool) (Tenant, error) {
	if err := actor.RequireOperator(); err != nil {
		return Tenant{}, err
	}
	action := "tenant.resume"
	if suspend {
		action = "tenant.suspend"
	}
	var (
		tenantID uuid.UUID
		changed  int
	)
	err := db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		t, err := findTenant(ctx, tx, ref)
		if err != nil {
			return err
		}
		t, err = db.FindTenantForUpdate(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		tenantID = t.ID
		was := t.SchedulesSuspended
		if err := db.SetTenantSuspended(ctx, tx, t.ID, suspend); err != nil {
			return err
		}
		live, err := db.ListLiveSchedules(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		now := s.now()
		var errored []string
		for _, sc := range live {
			if suspend {
				if err := s.jobs.Pause(ctx, tx, sc.TenantID, sc.InstallID, sc.ID); err != nil {
					return err
				}
				if err := db.SetScheduleTimer(ctx, tx, sc.TenantID, sc.ID, sc.RunnerScheduleID, nil); err != nil {
					return err
				}
				changed++
				continue
			}
			spec := scheduler.TimerSpec{TenantID: sc.TenantID, InstallID: sc.InstallID, ScheduleID: sc.ID,
				Cron: sc.Cron, Timezone: sc.Timezone}
			// A schedule whose next fire time cannot be computed (a zone the
			// tz database lost) is marked errored; it must not keep the rest
			// of the tenant suspended.
			if _, err := scheduler.NextFire(sc.Cron, sc.Timezone, now); err != nil {
				reason := "errored: the next fire time cannot be computed: " + err.Error()
				if err := db.SetScheduleError(ctx, tx, sc.TenantID, sc.ID, reason); err != nil {
					return err
				}
				errored = append(errored, sc.ID.String())
				continue
			}
			state, err := s.jobs.Resume(ctx, tx, spec, now)
			if err != nil {
				return fmt.Errorf("resume timer of schedule %s: %w", sc.ID, err)
			}
			if err := db.SetScheduleTimer(ctx, tx, sc.TenantID, sc.ID, &state.Key, state.NextFireAt); err != nil {
				return err
			}
			changed++
		}
		after := map[string]any{"schedules_suspended": suspend, "timers": changed}
		if len(errored) > 0 {
			after["errored_schedules"] = errored
		}
		return db.InsertAudit(ctx, tx, db.Audit{TenantID: t.ID, ActorID: &actor.UserID, Actor: actor.Label(),
			Action: action, TargetType: "tenant", TargetID: t.ID.String(),
			Before: map[string]any{"schedules_suspended": was}, After: after})
	})
	if err != nil {
		return Tenant{}, err
	}
	s.logger.WarnContext(ctx, "tenant kill switch changed", "tenant_id", tenantID, "suspended", suspend,
		"timers", changed, "operator", actor.Label())
	rows, err := db.ListTenantSummaries(ctx, s.conn)
	if err != nil {
		return Tenant{}, err
	}
	for _, r := range rows {
		if r.ID == tenantID {
			return tenantOf(r), nil
		}
	}
	return Tenant{}, fault.NotFoundf("tenant")
}

// BackfillEndpoints re-materializes a version's endpoints from its stored
// manifest.
func (s *Service) BackfillEndpoints(ctx context.Context, actor account.Actor, versionID string) (extensions.BackfillResult, error) {
	if err := actor.RequireOperator(); err != nil {
		return extensions.BackfillResult{}, err
	}
	id, err := uuid.Parse(strings.TrimSpace(versionID))
	if err != nil {
		return extensions.BackfillResult{}, fault.NotFoundf("version")
	}
	res, err := s.registry.BackfillEndpoints(ctx, id)
	if err != nil {
		return extensions.BackfillResult{}, err
	}
	s.logger.InfoContext(ctx, "operator backfilled endpoints", "version_id", id, "endpoints", len(res.Endpoints),
		"operator", actor.Label())
	return res, nil
}

// MaxBundleBytes bounds an uploaded bundle archive.
const MaxBundleBytes = 64 << 20

// PublishBundle reads an uploaded .zip bundle and publishes it. Manifest
// problems come back as field errors naming the manifest field.
func (s *Service) PublishBundle(ctx context.Context, actor account.Actor, r io.ReaderAt, size int64) (extensions.PublishResult, error) {
	if err := actor.RequireOperator(); err != nil {
		return extensions.PublishResult{}, err
	}
	if size <= 0 {
		return extensions.PublishResult{}, &fault.Error{Code: fault.Invalid, Message: "Choose a bundle to upload.",
			Fields: map[string]string{"bundle": "Choose a .zip bundle holding manifest.json and the module."}}
	}
	if size > MaxBundleBytes {
		return extensions.PublishResult{}, &fault.Error{Code: fault.TooLarge, Message: fmt.Sprintf("The bundle is larger than %d MiB.", MaxBundleBytes>>20)}
	}
	b, err := extensions.ReadBundleZip(r, size)
	if err != nil {
		return extensions.PublishResult{}, err
	}
	res, err := s.registry.Publish(ctx, b)
	if err != nil {
		return extensions.PublishResult{}, err
	}
	s.logger.InfoContext(ctx, "operator published a bundle", "extension", res.Extension.Slug, "version", res.Version.Version,
		"already_published", res.AlreadyPublished, "operator", actor.Label())
	return res, nil
}

// Catalog lists every published extension with its versions.
func (s *Service) Catalog(ctx context.Context, actor account.Actor) ([]extensions.CatalogEntry, error) {
	if err := actor.RequireOperator(); err != nil {
		return nil, err
	}
	return s.registry.Catalog(ctx)
}
