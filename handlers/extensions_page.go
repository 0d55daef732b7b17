package handlers

import (
	"github.com/gofiber/fiber/v2"

	"extcron/views"
)

// ExtensionsPage serves the extensions pages.
type ExtensionsPage struct{}

// NewExtensionsPage builds the extension page handlers.
func NewExtensionsPage() *ExtensionsPage { return &ExtensionsPage{} }

// List shows the installed extensions.
func (h *ExtensionsPage) List(c *fiber.Ctx) error {
	return Render(c, fiber.StatusOK, views.Extensions(PageFor(c, "Extensions", "extensions")))
}
