package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/db"
	"extcron/fault"
	"extcron/views"
)

// ProfileService is what the profile page needs.
type ProfileService interface {
	SetTimezone(ctx context.Context, actor account.Actor, timezone string) error
	Tenant(ctx context.Context, actor account.Actor) (db.Tenant, error)
}

// Profile serves the profile page.
type Profile struct {
	accounts ProfileService
	zones    []string
}

// NewProfile builds the profile handlers; zones feeds the zone picker.
func NewProfile(accounts ProfileService, zones []string) *Profile {
	return &Profile{accounts: accounts, zones: zones}
}

// Show renders the profile.
func (h *Profile) Show(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	return h.render(c, fiber.StatusOK, actor, actor.Timezone, nil, c.Query("saved") == "1")
}

// Update saves the profile time zone.
func (h *Profile) Update(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	tz := c.FormValue("timezone")
	ctx, cancel := ctx(c)
	defer cancel()
	err := h.accounts.SetTimezone(ctx, actor, tz)
	if e, ok := fault.As(err); ok && e.Code == fault.Invalid {
		return h.render(c, fiber.StatusUnprocessableEntity, actor, tz, e.Fields, false)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/profile?saved=1", fiber.StatusSeeOther)
}

func (h *Profile) render(c *fiber.Ctx, status int, actor account.Actor, tz string, errs map[string]string, saved bool) error {
	ctx, cancel := ctx(c)
	defer cancel()
	tenant, err := h.accounts.Tenant(ctx, actor)
	if err != nil {
		return err
	}
	form := views.ProfileForm{Email: actor.Email, Role: actor.Role, Tenant: tenant.Name, Timezone: tz,
		Zones: h.zones, FieldErrors: errs, Saved: saved}
	return Render(c, status, views.Profile(PageFor(c, "Profile", "profile"), form))
}
