package web

import (
	"github.com/gofiber/fiber/v2"

	"extcron/handlers"
)

// adminAPIRoutes registers the operator routes of the JSON API (SPEC §8)
// under /api/v1/admin. Everything under the prefix, known route or not,
// answers 403 to non-operators before any handler runs; the operator
// service checks the flag again. It must be called before apiRoutes, whose
// catch-all answers 404.
func adminAPIRoutes(api fiber.Router, o Options) {
	h := handlers.NewAdminAPI(o.Operator)
	adm := api.Group("/admin", requireOperator)
	adm.Get("/tenants", h.Tenants)
	adm.Post("/tenants/:t/suspend", h.Suspend)
	adm.Post("/tenants/:t/resume", h.Resume)
	adm.Get("/schedules", h.Schedules)
	adm.Delete("/schedules/:id", h.DeleteSchedule)
	adm.Get("/health", h.Health)
	adm.Post("/health/reconcile", h.Reconcile)
	adm.Post("/versions/:id/backfill-endpoints", h.BackfillEndpoints)
	adm.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}

// adminPageRoutes registers the operator pages under /admin. Uploads stay
// under /admin/bundles, the one prefix exempt from the 1 MiB body cap.
// GET on a mutating path is its confirmation page for browsers without
// JavaScript; the dialog posts to the same path.
func adminPageRoutes(page fiber.Router, o Options) {
	h := handlers.NewAdminPage(o.Operator)
	adm := page.Group("/admin", requireOperator)
	adm.Get("/", h.Tenants)
	adm.Get("/tenants/:t/suspend", h.ConfirmSuspend)
	adm.Post("/tenants/:t/suspend", h.Suspend)
	adm.Get("/tenants/:t/resume", h.ConfirmResume)
	adm.Post("/tenants/:t/resume", h.Resume)
	adm.Get("/schedules", h.Schedules)
	adm.Get("/schedules/:id/delete", h.ConfirmDeleteSchedule)
	adm.Post("/schedules/:id/delete", h.DeleteSchedule)
	adm.Get("/health", h.Health)
	adm.Post("/health/reconcile", h.Reconcile)
	adm.Get("/bundles", h.Bundles)
	adm.Post("/bundles", h.Publish)
	adm.Post("/bundles/versions/:id/backfill", h.Backfill)
}
