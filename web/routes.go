package web

import (
	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/handlers"
)

// apiRoutes registers the JSON API under /api/v1.
func apiRoutes(api fiber.Router, o Options) {
	ext := handlers.NewExtensionsAPI()
	api.Get("/extensions", requirePermission(account.ExtensionRead), ext.List)
}

// pageRoutes registers the HTML pages that need a session.
func pageRoutes(page fiber.Router, o Options) {
	ext := handlers.NewExtensionsPage()
	page.Get("/extensions", requirePermission(account.ExtensionRead), ext.List)
}
