package web

import (
	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/handlers"
)

// pageRoutes registers the HTML pages that need a session.
func pageRoutes(page fiber.Router, o Options) {
	ext := handlers.NewExtensionsPage()
	page.Get("/extensions", requirePermission(account.ExtensionRead), ext.List)
}
