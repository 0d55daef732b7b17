package handlers

import (
	"github.com/gofiber/fiber/v2"

	"extcron/views"
)

// ExtensionsAPI serves the extension routes of the JSON API.
type ExtensionsAPI struct{}

// NewExtensionsAPI builds the extension API handlers.
func NewExtensionsAPI() *ExtensionsAPI { return &ExtensionsAPI{} }

// List answers the tenant's installed extensions.
func (h *ExtensionsAPI) List(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"items": []any{}})
}

// ExtensionsPage serves the extensions pages.
type ExtensionsPage struct{}

// NewExtensionsPage builds the extension page handlers.
func NewExtensionsPage() *ExtensionsPage { return &ExtensionsPage{} }

// List shows the installed extensions.
func (h *ExtensionsPage) List(c *fiber.Ctx) error {
	return Render(c, fiber.StatusOK, views.Extensions(PageFor(c, "Extensions", "extensions")))
}
