package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Pinger checks a dependency (the database) is reachable.
type Pinger interface {
	PingContext(ctx context.Context) error
}

// Health serves /healthz (the process is up) and /readyz (it can serve:
// the database answers).
type Health struct{ db Pinger }

// NewHealth builds the health handlers.
func NewHealth(db Pinger) *Health { return &Health{db: db} }

// Live answers while the process runs.
func (h *Health) Live(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// Ready answers 200 when the database is reachable, else 503.
func (h *Health) Ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.db.PingContext(ctx); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "database": "unreachable"})
	}
	return c.JSON(fiber.Map{"status": "ok", "database": "ok"})
}
