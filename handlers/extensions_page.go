package handlers

import (
	"context"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"extcron/account"
	"extcron/db"
	"extcron/extensions"
	"extcron/fault"
	"extcron/views"
)

// PageInstalls is what the extension pages need from the install
// service.
type PageInstalls interface {
	List(ctx context.Context, actor account.Actor) ([]extensions.Install, error)
	Get(ctx context.Context, actor account.Actor, extensionRef string) (extensions.Install, error)
	Install(ctx context.Context, actor account.Actor, extensionRef, version string) (extensions.Install, error)
	UpdateConfig(ctx context.Context, actor account.Actor, extensionRef string, config map[string]string) (extensions.Install, error)
	SetSecrets(ctx context.Context, actor account.Actor, extensionRef string, secrets map[string]string) (extensions.Install, error)
	Enable(ctx context.Context, actor account.Actor, extensionRef string) (extensions.Install, error)
	Disable(ctx context.Context, actor account.Actor, extensionRef string) (extensions.Install, error)
	Uninstall(ctx context.Context, actor account.Actor, extensionRef string) (db.UninstallCounts, error)
	PreviewUpdate(ctx context.Context, actor account.Actor, extensionRef, version string) (extensions.UpdatePreview, error)
	UpdateVersion(ctx context.Context, actor account.Actor, extensionRef, version string, missing extensions.MissingPolicy) (extensions.Install, extensions.RemapPlan, error)
}

// PageCatalog is what the extension pages need from the registry.
type PageCatalog interface {
	Catalog(ctx context.Context) ([]extensions.CatalogEntry, error)
	Endpoints(ctx context.Context, versionID uuid.UUID) ([]extensions.Endpoint, error)
	FindExtension(ctx context.Context, ref string) (extensions.CatalogEntry, error)
}

// ExtensionsPage serves the extension pages: the installed list, the
// catalog and an extension's Settings tab.
type ExtensionsPage struct {
	installs PageInstalls
	registry PageCatalog
}

// NewExtensionsPage builds the extension page handlers.
func NewExtensionsPage(installs PageInstalls, registry PageCatalog) *ExtensionsPage {
	return &ExtensionsPage{installs: installs, registry: registry}
}

func extPath(slug, suffix string) string { return "/extensions/" + slug + suffix }

// List shows the installed extensions.
func (h *ExtensionsPage) List(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	installs, err := h.installs.List(ctx, actor)
	if err != nil {
		return err
	}
	return Render(c, fiber.StatusOK, views.Extensions(PageFor(c, "Extensions", "extensions"),
		views.ExtensionsList{Installs: installs, CanWrite: actor.Can(account.ExtensionWrite)}))
}

// Catalog lists the published extensions with an Install form each.
func (h *ExtensionsPage) Catalog(c *fiber.Ctx) error {
	return h.renderCatalog(c, fiber.StatusOK, "")
}

func (h *ExtensionsPage) renderCatalog(c *fiber.Ctx, status int, message string) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	entries, err := h.registry.Catalog(ctx)
	if err != nil {
		return err
	}
	installs, err := h.installs.List(ctx, actor)
	if err != nil {
		return err
	}
	installed := map[string]string{}
	for _, in := range installs {
		installed[in.Slug] = in.Version
	}
	v := views.CatalogView{CanWrite: actor.Can(account.ExtensionWrite), Error: message}
	for _, e := range entries {
		item := views.CatalogItem{Slug: e.Extension.Slug, DisplayName: e.Extension.DisplayName,
			Description: e.Extension.Description, Publisher: e.Extension.Publisher,
			Latest: e.Latest.Version, InstalledVersion: installed[e.Extension.Slug]}
		for _, ver := range slices.Backward(e.Versions) {
			item.Versions = append(item.Versions, ver.Version)
		}
		v.Items = append(v.Items, item)
	}
	return Render(c, status, views.Catalog(PageFor(c, "Catalog", "extensions"), v))
}

// Install installs the chosen version and opens its Settings tab.
func (h *ExtensionsPage) Install(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Install(ctx, actor, c.FormValue("extension"), c.FormValue("version"))
	if e, ok := fault.As(err); ok && (e.Code == fault.Invalid || e.Code == fault.Conflict || e.Code == fault.NotFound) {
		msg := e.Message
		for _, m := range e.Fields {
			msg = m
		}
		return h.renderCatalog(c, statusFor(e.Code), msg)
	}
	if err != nil {
		return err
	}
	Flash(c, in.DisplayName+" "+in.Version+" installed.")
	return c.Redirect(extPath(in.Slug, "/settings"), fiber.StatusSeeOther)
}

// Show sends an extension's address to its Settings tab.
func (h *ExtensionsPage) Show(c *fiber.Ctx) error {
	return c.Redirect(extPath(c.Params("slug"), "/settings"), fiber.StatusSeeOther)
}

// Settings renders the Settings tab.
func (h *ExtensionsPage) Settings(c *fiber.Ctx) error {
	return h.renderSettings(c, fiber.StatusOK, nil, nil, nil, c.Query("saved"))
}

// SaveConfig replaces the install's non-secret settings.
func (h *ExtensionsPage) SaveConfig(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	config := formMap(c, "config.")
	ctx, cancel := ctx(c)
	defer cancel()
	_, err := h.installs.UpdateConfig(ctx, actor, c.Params("slug"), config)
	if e, ok := fault.As(err); ok && e.Code == fault.Invalid {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, config, e.Fields, nil, "")
	}
	if err != nil {
		return err
	}
	return c.Redirect(extPath(c.Params("slug"), "/settings?saved=config"), fiber.StatusSeeOther)
}

// SaveSecrets sets secret settings; empty fields keep their value.
func (h *ExtensionsPage) SaveSecrets(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	secrets := formMap(c, "secrets.")
	ctx, cancel := ctx(c)
	defer cancel()
	_, err := h.installs.SetSecrets(ctx, actor, c.Params("slug"), secrets)
	if e, ok := fault.As(err); ok && e.Code == fault.Invalid {
		// Typed secrets are not echoed back, even on an error.
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, nil, nil, e.Fields, "")
	}
	if err != nil {
		return err
	}
	return c.Redirect(extPath(c.Params("slug"), "/settings?saved=secrets"), fiber.StatusSeeOther)
}

// Enable enables the install.
func (h *ExtensionsPage) Enable(c *fiber.Ctx) error { return h.setEnabled(c, true) }

// Disable disables the install.
func (h *ExtensionsPage) Disable(c *fiber.Ctx) error { return h.setEnabled(c, false) }

func (h *ExtensionsPage) setEnabled(c *fiber.Ctx, enabled bool) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	change, word := h.installs.Disable, "disabled"
	if enabled {
		change, word = h.installs.Enable, "enabled"
	}
	in, err := change(ctx, actor, c.Params("slug"))
	if err != nil {
		return err
	}
	Flash(c, in.DisplayName+" "+word+".")
	return c.Redirect(extPath(in.Slug, "/settings"), fiber.StatusSeeOther)
}

// ConfirmUninstall asks for confirmation when JavaScript (and with it the
// dialog) is not available.
func (h *ExtensionsPage) ConfirmUninstall(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Get(ctx, actor, c.Params("slug"))
	if err != nil {
		return err
	}
	return Render(c, fiber.StatusOK, views.ConfirmPage(PageFor(c, "Uninstall "+in.DisplayName, "extensions"), views.Confirmation{
		Title:   "Uninstall " + in.DisplayName + "?",
		Message: "Its schedules, their run history and its settings are deleted for your tenant. This cannot be undone.",
		Action:  extPath(in.Slug, "/uninstall"), Yes: "Uninstall", Back: extPath(in.Slug, "/settings"),
	}))
}

// Uninstall removes the install with its schedules and runs.
func (h *ExtensionsPage) Uninstall(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	counts, err := h.installs.Uninstall(ctx, actor, c.Params("slug"))
	if err != nil {
		return err
	}
	msg := c.Params("slug") + " uninstalled."
	if counts.Schedules > 0 {
		msg = c.Params("slug") + " uninstalled with " + plural(int(counts.Schedules), "schedule") + "."
	}
	Flash(c, msg)
	return c.Redirect("/extensions", fiber.StatusSeeOther)
}

// ReviewUpdate previews an update to the chosen version (upgrade or
// rollback): which schedules move and which would block. htmx loads it
// into the Settings tab's dialog; without JavaScript it is a page with the
// same content and forms.
func (h *ExtensionsPage) ReviewUpdate(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Get(ctx, actor, c.Params("slug"))
	if err != nil {
		return err
	}
	preview, err := h.installs.PreviewUpdate(ctx, actor, in.Slug, c.Query("version"))
	if err != nil {
		return err
	}
	if preview.ToVersion == preview.FromVersion {
		return fault.New(fault.Conflict, "%s is already at version %s.", in.DisplayName, in.Version)
	}
	return h.renderReview(c, fiber.StatusOK, views.UpdateReview{Install: in, Preview: preview})
}

// Update moves the install to the posted version. When schedules block it
// (they changed since the review, or the form was posted without
// disable_missing_schedules) the review is shown again with the block.
func (h *ExtensionsPage) Update(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	version := c.FormValue("version")
	// The review lists the schedules it would disable; exactly those may
	// be (one missing since, say just created, shows the review again).
	policy := extensions.MissingPolicy{Disable: c.FormValue("disable_missing_schedules") == "true"}
	if policy.Disable {
		policy.Reviewed = []uuid.UUID{}
		for _, raw := range c.Request().PostArgs().PeekMulti("disable_schedule_id") {
			if id, err := uuid.ParseBytes(raw); err == nil {
				policy.Reviewed = append(policy.Reviewed, id)
			}
		}
	}
	ctx, cancel := ctx(c)
	defer cancel()
	in, plan, err := h.installs.UpdateVersion(ctx, actor, c.Params("slug"), version, policy)
	if fault.Is(err, fault.RemapFailed) {
		return h.reviewAgain(c, version, "The schedules changed since you reviewed this update, and now some of them block it. Review them again.")
	}
	if err != nil {
		return err
	}
	Flash(c, "Updated to "+in.Version+"; "+plural(len(plan.Remapped), "schedule")+" remapped, "+
		itoa(len(plan.Missing))+" disabled.")
	return c.Redirect(extPath(in.Slug, "/settings"), fiber.StatusSeeOther)
}

func (h *ExtensionsPage) reviewAgain(c *fiber.Ctx, version, message string) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Get(ctx, actor, c.Params("slug"))
	if err != nil {
		return err
	}
	preview, err := h.installs.PreviewUpdate(ctx, actor, in.Slug, version)
	if err != nil {
		return err
	}
	return h.renderReview(c, fiber.StatusConflict, views.UpdateReview{Install: in, Preview: preview, Error: message})
}

func (h *ExtensionsPage) renderReview(c *fiber.Ctx, status int, r views.UpdateReview) error {
	if IsHTMX(c) {
		return Render(c, status, views.UpdateReviewPanel(CSRFOf(c), r, false))
	}
	title := "Update " + r.Install.DisplayName + " to " + r.Preview.ToVersion
	return Render(c, status, views.UpdateReviewPage(PageFor(c, title, "extensions"), r))
}

func (h *ExtensionsPage) renderSettings(c *fiber.Ctx, status int, typed map[string]string, configErrs, secretErrs map[string]string, saved string) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Get(ctx, actor, c.Params("slug"))
	if err != nil {
		return err
	}
	eps, err := h.registry.Endpoints(ctx, in.VersionID)
	if err != nil {
		return err
	}
	entry, err := h.registry.FindExtension(ctx, in.Slug)
	if err != nil {
		return err
	}
	config := in.Config
	if typed != nil {
		config = typed
	}
	v := views.SettingsView{Install: in, Endpoints: eps, Config: config, ConfigErrors: configErrs,
		SecretErrors: secretErrs, CanWrite: actor.Can(account.ExtensionWrite), Saved: saved}
	// The other published versions, newest first: upgrades, then rollbacks.
	for _, ver := range slices.Backward(entry.Versions) {
		switch cmp := extensions.CompareVersions(ver.Version, in.Version); {
		case cmp > 0:
			v.NewerVersions = append(v.NewerVersions, ver.Version)
		case cmp < 0:
			v.OlderVersions = append(v.OlderVersions, ver.Version)
		}
	}
	return Render(c, status, views.ExtensionSettings(PageFor(c, in.DisplayName+" · Settings", "extensions"), v))
}

// formMap collects the form fields named prefix+key into a map by key.
func formMap(c *fiber.Ctx, prefix string) map[string]string {
	out := map[string]string{}
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if key, ok := strings.CutPrefix(string(k), prefix); ok && key != "" {
			out[key] = string(v)
		}
	})
	return out
}

func statusFor(code fault.Code) int {
	switch code {
	case fault.Invalid:
		return fiber.StatusUnprocessableEntity
	case fault.Conflict:
		return fiber.StatusConflict
	case fault.NotFound:
		return fiber.StatusNotFound
	}
	return fiber.StatusBadRequest
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return itoa(n) + " " + word + "s"
}
