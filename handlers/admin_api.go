package handlers

import (
	"context"
	"io"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/extensions"
	"extcron/operator"
)

// OperatorService is what the operator API and pages need.
type OperatorService interface {
	ListTenants(ctx context.Context, actor account.Actor) ([]operator.Tenant, error)
	SearchSchedules(ctx context.Context, actor account.Actor, q operator.ScheduleQuery) ([]operator.Schedule, error)
	FindSchedule(ctx context.Context, actor account.Actor, id string) (operator.Schedule, error)
	DeleteSchedule(ctx context.Context, actor account.Actor, id string) (operator.DeletedSchedule, error)
	SuspendTenant(ctx context.Context, actor account.Actor, ref string) (operator.Tenant, error)
	ResumeTenant(ctx context.Context, actor account.Actor, ref string) (operator.Tenant, error)
	Health(ctx context.Context, actor account.Actor) (operator.Health, error)
	Reconcile(ctx context.Context, actor account.Actor) (operator.Reconciliation, error)
	BackfillEndpoints(ctx context.Context, actor account.Actor, versionID string) (extensions.BackfillResult, error)
	PublishBundle(ctx context.Context, actor account.Actor, r io.ReaderAt, size int64) (extensions.PublishResult, error)
	Catalog(ctx context.Context, actor account.Actor) ([]extensions.CatalogEntry, error)
}

// AdminAPI serves the operator routes of the JSON API (SPEC §8).
type AdminAPI struct {
	ops OperatorService
}

// NewAdminAPI builds the operator API handlers.
func NewAdminAPI(ops OperatorService) *AdminAPI { return &AdminAPI{ops: ops} }

// Tenants lists every tenant with its kill-switch state and counts.
func (h *AdminAPI) Tenants(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	items, err := h.ops.ListTenants(ctx, actor)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

// Schedules searches schedules across tenants: ?tenant=&install=&extension=.
func (h *AdminAPI) Schedules(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	items, err := h.ops.SearchSchedules(ctx, actor, operator.ScheduleQuery{
		Tenant: c.Query("tenant"), Install: c.Query("install"), Extension: c.Query("extension")})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

// DeleteSchedule deletes a schedule of any tenant by id, with its timer
// and runs.
func (h *AdminAPI) DeleteSchedule(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	if _, err := h.ops.DeleteSchedule(ctx, actor, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// Suspend turns a tenant's kill switch on.
func (h *AdminAPI) Suspend(c *fiber.Ctx) error { return h.killSwitch(c, true) }

// Resume lifts a tenant's kill switch.
func (h *AdminAPI) Resume(c *fiber.Ctx) error { return h.killSwitch(c, false) }

func (h *AdminAPI) killSwitch(c *fiber.Ctx, suspend bool) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	change := h.ops.ResumeTenant
	if suspend {
		change = h.ops.SuspendTenant
	}
	t, err := change(ctx, actor, tenantParam(c))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

// tenantParam is the {t} path parameter (a tenant id or name), unescaped:
// names may hold spaces.
func tenantParam(c *fiber.Ctx) string {
	raw := c.Params("t")
	if s, err := url.PathUnescape(raw); err == nil {
		return s
	}
	return raw
}

// Health returns the current findings and the last reconciliation.
func (h *AdminAPI) Health(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	rep, err := h.ops.Health(ctx, actor)
	if err != nil {
		return err
	}
	return c.JSON(rep)
}

// Reconcile runs a reconciliation now and returns its report.
func (h *AdminAPI) Reconcile(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	rep, err := h.ops.Reconcile(ctx, actor)
	if err != nil {
		return err
	}
	return c.JSON(rep)
}

// BackfillEndpoints re-materializes a version's endpoints.
func (h *AdminAPI) BackfillEndpoints(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	res, err := h.ops.BackfillEndpoints(ctx, actor, c.Params("id"))
	if err != nil {
		return err
	}
	eps := res.Endpoints
	if eps == nil {
		eps = []extensions.Endpoint{}
	}
	warnings := res.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	return c.JSON(fiber.Map{"version_id": res.VersionID, "endpoints": eps, "warnings": warnings})
}
