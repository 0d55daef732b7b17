package web

import (
	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/handlers"
)

// pageRoutes registers the HTML pages that need a session. Reads need
// extension:read; every POST needs extension:write (checked again by the
// services), except the schedule preview, which changes nothing.
func pageRoutes(page fiber.Router, o Options) {
	read := requirePermission(account.ExtensionRead)
	write := requirePermission(account.ExtensionWrite)

	ext := handlers.NewExtensionsPage(o.Installs, o.Registry)
	page.Get("/extensions", read, ext.List)
	page.Get("/extensions/catalog", read, ext.Catalog)
	page.Post("/extensions/catalog/install", write, ext.Install)
	page.Get("/extensions/:slug", read, ext.Show)
	page.Get("/extensions/:slug/settings", read, ext.Settings)
	page.Post("/extensions/:slug/config", write, ext.SaveConfig)
	page.Post("/extensions/:slug/secrets", write, ext.SaveSecrets)
	page.Post("/extensions/:slug/enable", write, ext.Enable)
	page.Post("/extensions/:slug/disable", write, ext.Disable)
	page.Get("/extensions/:slug/uninstall", write, ext.ConfirmUninstall)
	page.Post("/extensions/:slug/uninstall", write, ext.Uninstall)
	// The update preview changes nothing, but only admins can act on it.
	page.Get("/extensions/:slug/update", write, ext.ReviewUpdate)
	page.Post("/extensions/:slug/update", write, ext.Update)

	sched := handlers.NewSchedulesPage(o.Schedules, o.Installs, o.Registry, o.Accounts, o.Zones)
	page.Get("/extensions/:slug/schedules", read, sched.Tab)
	page.Get("/extensions/:slug/schedules/new", write, sched.New)
	page.Post("/extensions/:slug/schedules", write, sched.Create)
	page.Post("/extensions/:slug/schedules/preview", read, sched.Preview)
	page.Get("/extensions/:slug/schedules/:id", read, sched.Show)
	page.Post("/extensions/:slug/schedules/:id", write, sched.Update)
	page.Get("/extensions/:slug/schedules/:id/edit", write, sched.Edit)
	page.Post("/extensions/:slug/schedules/:id/toggle", write, sched.Toggle)
	page.Post("/extensions/:slug/schedules/:id/run-now", write, sched.RunNow)
	page.Get("/extensions/:slug/schedules/:id/delete", write, sched.ConfirmDelete)
	page.Post("/extensions/:slug/schedules/:id/delete", write, sched.Delete)

	audit := handlers.NewAuditPage(o.Accounts)
	page.Get("/audit", read, audit.List)
}
