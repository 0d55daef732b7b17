package handlers

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"extcron/fault"
	"extcron/operator"
	"extcron/views"
)

// AdminPage serves the operator pages (SPEC §7).
type AdminPage struct {
	ops OperatorService
	now func() time.Time
}

// NewAdminPage builds the operator page handlers.
func NewAdminPage(ops OperatorService) *AdminPage { return &AdminPage{ops: ops, now: time.Now} }

// Tenants lists the tenants with their kill switch.
func (h *AdminPage) Tenants(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	tenants, err := h.ops.ListTenants(ctx, actor)
	if err != nil {
		return err
	}
	return Render(c, fiber.StatusOK, views.AdminTenantsPage(PageFor(c, "Operator · Tenants", "admin"), views.AdminTenantsView{Tenants: tenants}))
}

// ConfirmSuspend asks for confirmation without JavaScript.
func (h *AdminPage) ConfirmSuspend(c *fiber.Ctx) error { return h.confirmKillSwitch(c, true) }

// ConfirmResume asks for confirmation without JavaScript.
func (h *AdminPage) ConfirmResume(c *fiber.Ctx) error { return h.confirmKillSwitch(c, false) }

func (h *AdminPage) confirmKillSwitch(c *fiber.Ctx, suspend bool) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	tenants, err := h.ops.ListTenants(ctx, actor)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if ref := tenantParam(c); t.ID.String() != ref && t.Name != ref {
			continue
		}
		conf := views.Confirmation{Title: "Resume the schedules of " + t.Name + "?",
			Message: "They continue from their next fire time; runs missed while suspended are not made up.",
			Action:  "/admin/tenants/" + t.ID.String() + "/resume", Yes: "Resume", Back: "/admin"}
		if suspend {
			conf = views.Confirmation{Title: "Suspend every schedule of " + t.Name + "?",
				Message: "Nothing of this tenant fires until you resume it.",
				Action:  "/admin/tenants/" + t.ID.String() + "/suspend", Yes: "Suspend", Back: "/admin"}
		}
		return Render(c, fiber.StatusOK, views.ConfirmPage(PageFor(c, conf.Title, "admin"), conf))
	}
	return fault.NotFoundf("tenant")
}

// Suspend turns a tenant's kill switch on.
func (h *AdminPage) Suspend(c *fiber.Ctx) error { return h.killSwitch(c, true) }

// Resume lifts a tenant's kill switch.
func (h *AdminPage) Resume(c *fiber.Ctx) error { return h.killSwitch(c, false) }

func (h *AdminPage) killSwitch(c *fiber.Ctx, suspend bool) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	change, verb := h.ops.ResumeTenant, "resumed: schedules continue from their next fire time"
	if suspend {
		change, verb = h.ops.SuspendTenant, "suspended: none of its schedules fire until resumed"
	}
	t, err := change(ctx, actor, tenantParam(c))
	if err != nil {
		return err
	}
	Flash(c, t.Name+" "+verb+".")
	return c.Redirect("/admin", fiber.StatusSeeOther)
}

// Schedules searches schedules across tenants.
func (h *AdminPage) Schedules(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	q := operator.ScheduleQuery{Tenant: c.Query("tenant"), Install: c.Query("install"), Extension: c.Query("extension")}
	v := views.AdminSchedulesView{Query: q, Limit: operator.SearchLimit, Now: h.now()}
	items, err := h.ops.SearchSchedules(ctx, actor, q)
	status := fiber.StatusOK
	if e, ok := fault.As(err); ok && e.Code == fault.Invalid {
		v.FieldErrors = e.Fields
		status = fiber.StatusUnprocessableEntity
	} else if err != nil {
		return err
	}
	v.Items = items
	v.Truncated = len(items) >= operator.SearchLimit
	return Render(c, status, views.AdminSchedulesPage(PageFor(c, "Operator · Schedules", "admin"), v))
}

// ConfirmDeleteSchedule asks for confirmation without JavaScript.
func (h *AdminPage) ConfirmDeleteSchedule(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	s, err := h.ops.FindSchedule(ctx, actor, c.Params("id"))
	if err != nil {
		return err
	}
	conf := views.Confirmation{Title: "Delete the schedule “" + s.Label() + "”?",
		Message: "It belongs to " + s.TenantName + " (" + s.ExtensionSlug + "). Its timer and run history are deleted too, and the tenant's audit log records that you did it.",
		Action:  "/admin/schedules/" + s.ID.String() + "/delete", Yes: "Delete",
		Back: "/admin/schedules?tenant=" + url.QueryEscape(s.TenantID.String())}
	return Render(c, fiber.StatusOK, views.ConfirmPage(PageFor(c, "Delete schedule", "admin"), conf))
}

// DeleteSchedule deletes a schedule of any tenant by id.
func (h *AdminPage) DeleteSchedule(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	res, err := h.ops.DeleteSchedule(ctx, actor, c.Params("id"))
	if err != nil {
		return err
	}
	Flash(c, fmt.Sprintf("Schedule %s deleted with %d runs.", res.ScheduleID, res.Runs))
	back := "/admin/schedules"
	if ref := c.Get(fiber.HeaderReferer); ref != "" {
		if u, err := url.Parse(ref); err == nil && u.Path == "/admin/schedules" {
			back = u.RequestURI()
		}
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}

// Health shows the reconciliation report.
func (h *AdminPage) Health(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	rep, err := h.ops.Health(ctx, actor)
	if err != nil {
		return err
	}
	return Render(c, fiber.StatusOK, views.AdminHealthPage(PageFor(c, "Operator · Health", "admin"), views.AdminHealthView{Health: rep, Now: h.now()}))
}

// Reconcile runs a reconciliation now and shows the health page again.
func (h *AdminPage) Reconcile(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	rep, err := h.ops.Reconcile(ctx, actor)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Reconciliation done: %d timers repaired, %d orphan timers removed.", len(rep.TimersRepaired), len(rep.TimersRemoved))
	if rep.Skipped {
		msg = "Another process was reconciling at that moment; nothing was done."
	}
	Flash(c, msg)
	return c.Redirect("/admin/health", fiber.StatusSeeOther)
}

// Bundles shows the publish form and the registry.
func (h *AdminPage) Bundles(c *fiber.Ctx) error {
	return h.renderBundles(c, fiber.StatusOK, views.AdminBundlesView{})
}

// Publish publishes an uploaded bundle. Manifest problems re-render the
// page with one message per bad field.
func (h *AdminPage) Publish(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	if err := actor.RequireOperator(); err != nil {
		return err
	}
	fh, err := c.FormFile("bundle")
	if err != nil {
		return h.renderBundles(c, fiber.StatusUnprocessableEntity, views.AdminBundlesView{
			FieldErrors: map[string]string{"bundle": "Choose a .zip bundle holding manifest.json and the module."}})
	}
	if fh.Size > operator.MaxBundleBytes {
		return h.renderBundles(c, fiber.StatusRequestEntityTooLarge, views.AdminBundlesView{
			FieldErrors: map[string]string{"bundle": fmt.Sprintf("The bundle is larger than %d MiB.", operator.MaxBundleBytes>>20)}})
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, operator.MaxBundleBytes+1))
	if err != nil {
		return err
	}
	res, err := h.ops.PublishBundle(ctx, actor, bytes.NewReader(data), int64(len(data)))
	if e, ok := fault.As(err); ok && (e.Code == fault.Invalid || e.Code == fault.Conflict || e.Code == fault.TooLarge) {
		v := views.AdminBundlesView{FieldErrors: e.Fields}
		if len(e.Fields) == 0 {
			v.Error = e.Message
		}
		status := fiber.StatusUnprocessableEntity
		if e.Code == fault.Conflict {
			status = fiber.StatusConflict
		}
		return h.renderBundles(c, status, v)
	}
	if err != nil {
		return err
	}
	return h.renderBundles(c, fiber.StatusOK, views.AdminBundlesView{Published: &res})
}

// Backfill re-materializes a version's endpoints.
func (h *AdminPage) Backfill(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	res, err := h.ops.BackfillEndpoints(ctx, actor, c.Params("id"))
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Endpoints backfilled: %d endpoints.", len(res.Endpoints))
	if len(res.Warnings) > 0 {
		msg += fmt.Sprintf(" %d manifest entries were dropped (see the logs).", len(res.Warnings))
	}
	Flash(c, msg)
	return c.Redirect("/admin/bundles", fiber.StatusSeeOther)
}

func (h *AdminPage) renderBundles(c *fiber.Ctx, status int, v views.AdminBundlesView) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	cat, err := h.ops.Catalog(ctx, actor)
	if err != nil {
		return err
	}
	v.Catalog = cat
	return Render(c, status, views.AdminBundlesPage(PageFor(c, "Operator · Bundles", "admin"), v))
}
