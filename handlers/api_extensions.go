package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"extcron/account"
	"extcron/db"
	"extcron/extensions"
	"extcron/fault"
)

// InstallService is what the install routes need.
type InstallService interface {
	List(ctx context.Context, actor account.Actor) ([]extensions.Install, error)
	Get(ctx context.Context, actor account.Actor, extRef string) (extensions.Install, error)
	Install(ctx context.Context, actor account.Actor, extRef, version string) (extensions.Install, error)
	Enable(ctx context.Context, actor account.Actor, extRef string) (extensions.Install, error)
	Disable(ctx context.Context, actor account.Actor, extRef string) (extensions.Install, error)
	Uninstall(ctx context.Context, actor account.Actor, extRef string) (db.UninstallCounts, error)
	PreviewUpdate(ctx context.Context, actor account.Actor, extRef, version string) (extensions.UpdatePreview, error)
	UpdateVersion(ctx context.Context, actor account.Actor, extRef, version string, missing extensions.MissingPolicy) (extensions.Install, extensions.RemapPlan, error)
}

// EndpointLister lists a version's endpoints with their schedulable flag.
type EndpointLister interface {
	Endpoints(ctx context.Context, versionID uuid.UUID) ([]extensions.Endpoint, error)
}

// ExtensionsAPI serves the extension routes of the JSON API.
type ExtensionsAPI struct {
	installs InstallService
	registry EndpointLister
}

// NewExtensionsAPI builds the extension API handlers.
func NewExtensionsAPI(installs InstallService, registry EndpointLister) *ExtensionsAPI {
	return &ExtensionsAPI{installs: installs, registry: registry}
}

// List answers the tenant's installed extensions.
func (h *ExtensionsAPI) List(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	items, err := h.installs.List(ctx, actor)
	if err != nil {
		return err
	}
	if items == nil {
		items = []extensions.Install{}
	}
	return c.JSON(fiber.Map{"items": items})
}

// Get answers one install.
func (h *ExtensionsAPI) Get(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Get(ctx, actor, c.Params("ext"))
	if err != nil {
		return err
	}
	return c.JSON(in)
}

// Install installs a version: body {version}.
func (h *ExtensionsAPI) Install(c *fiber.Ctx) error {
	var body struct {
		Version string `json:"version"`
	}
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
	}
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Install(ctx, actor, c.Params("ext"), body.Version)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(in)
}

// Enable turns the install on.
func (h *ExtensionsAPI) Enable(c *fiber.Ctx) error {
	return h.toggle(c, true)
}

// Disable turns the install off.
func (h *ExtensionsAPI) Disable(c *fiber.Ctx) error {
	return h.toggle(c, false)
}

func (h *ExtensionsAPI) toggle(c *fiber.Ctx, on bool) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	do := h.installs.Disable
	if on {
		do = h.installs.Enable
	}
	in, err := do(ctx, actor, c.Params("ext"))
	if err != nil {
		return err
	}
	return c.JSON(in)
}

// Uninstall removes the install, its schedules, timers and runs.
func (h *ExtensionsAPI) Uninstall(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	if _, err := h.installs.Uninstall(ctx, actor, c.Params("ext")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// Endpoints lists the installed version's endpoints.
func (h *ExtensionsAPI) Endpoints(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Get(ctx, actor, c.Params("ext"))
	if err != nil {
		return err
	}
	eps, err := h.registry.Endpoints(ctx, in.VersionID)
	if err != nil {
		return err
	}
	if eps == nil {
		eps = []extensions.Endpoint{}
	}
	return c.JSON(fiber.Map{"items": eps})
}

// Update moves the install to another version, remapping schedules:
// body {version, disable_missing_schedules?, disable_schedule_ids?}. With
// disable_schedule_ids (the missing schedules a preview listed), only
// those may be disabled: another one missing refuses the update.
func (h *ExtensionsAPI) Update(c *fiber.Ctx) error {
	var body struct {
		Version                 string    `json:"version"`
		DisableMissingSchedules bool      `json:"disable_missing_schedules"`
		DisableScheduleIDs      *[]string `json:"disable_schedule_ids"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	policy := extensions.MissingPolicy{Disable: body.DisableMissingSchedules}
	if body.DisableScheduleIDs != nil {
		ids, err := scheduleIDs(*body.DisableScheduleIDs, "disable_schedule_ids")
		if err != nil {
			return err
		}
		policy.Reviewed = ids
	}
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	in, plan, err := h.installs.UpdateVersion(ctx, actor, c.Params("ext"), body.Version, policy)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"install": in, "remapped": plan.Remapped, "disabled": plan.Missing,
		"extension_id": in.ExtensionID, "slug": in.Slug, "version": in.Version, "version_id": in.VersionID,
		"enabled": in.Enabled, "install_id": in.InstallID})
}

// scheduleIDs parses a list of schedule ids from field; a malformed one
// is a validation error naming its position.
func scheduleIDs(raw []string, field string) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, 0, len(raw))
	for i, r := range raw {
		id, err := uuid.Parse(strings.TrimSpace(r))
		if err != nil {
			f := fault.Fields{}
			f.Add(fmt.Sprintf("%s[%d]", field, i), "must be a schedule id")
			return nil, f.Err()
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// PreviewUpdate answers what an update would remap and what would block.
func (h *ExtensionsAPI) PreviewUpdate(c *fiber.Ctx) error {
	var body struct {
		Version string `json:"version"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	p, err := h.installs.PreviewUpdate(ctx, actor, c.Params("ext"), body.Version)
	if err != nil {
		return err
	}
	return c.JSON(p)
}
