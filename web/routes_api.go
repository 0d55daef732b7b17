package web

import (
	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/handlers"
)

// apiRoutes registers the JSON API under /api/v1 (SPEC §8). Reads need
// extension:read, everything else extension:write; the services check
// again.
func apiRoutes(api fiber.Router, o Options) {
	ext := handlers.NewExtensionsAPI(o.Installs, o.Registry)
	sch := handlers.NewSchedulesAPI(o.Schedules)
	read := requirePermission(account.ExtensionRead)
	write := requirePermission(account.ExtensionWrite)

	api.Get("/extensions", read, ext.List)
	api.Get("/extensions/:ext", read, ext.Get)
	api.Post("/extensions/:ext/install", write, ext.Install)
	api.Post("/extensions/:ext/enable", write, ext.Enable)
	api.Post("/extensions/:ext/disable", write, ext.Disable)
	api.Delete("/extensions/:ext", write, ext.Uninstall)
	api.Post("/extensions/:ext/update", write, ext.Update)
	api.Post("/extensions/:ext/update/preview", read, ext.PreviewUpdate)
	api.Get("/extensions/:ext/endpoints", read, ext.Endpoints)

	api.Get("/extensions/:ext/schedules", read, sch.List)
	api.Post("/extensions/:ext/schedules", write, sch.Create)
	api.Get("/extensions/:ext/schedules/:id", read, sch.Get)
	api.Patch("/extensions/:ext/schedules/:id", write, sch.Update)
	api.Delete("/extensions/:ext/schedules/:id", write, sch.Delete)
	api.Post("/extensions/:ext/schedules/:id/run-now", write, sch.RunNow)
	api.Get("/extensions/:ext/schedules/:id/runs", read, sch.Runs)
	api.Post("/schedules/preview", read, sch.Preview)
	api.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}
