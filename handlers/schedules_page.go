package handlers

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/db"
	"extcron/extensions"
	"extcron/fault"
	"extcron/schedule"
	"extcron/views"
)

// PageSchedules is what the schedule pages need from the schedule
// service.
type PageSchedules interface {
	List(ctx context.Context, actor account.Actor, extRef string) ([]schedule.View, error)
	Get(ctx context.Context, actor account.Actor, extRef, id string) (schedule.View, error)
	Create(ctx context.Context, actor account.Actor, extRef string, in schedule.Input, browserZone string) (schedule.View, error)
	Update(ctx context.Context, actor account.Actor, extRef, id string, in schedule.Input) (schedule.View, error)
	SetEnabled(ctx context.Context, actor account.Actor, extRef, id string, enabled bool) (schedule.View, error)
	Delete(ctx context.Context, actor account.Actor, extRef, id string) error
	RunNow(ctx context.Context, actor account.Actor, extRef, id, idempotencyKey string) (schedule.RunView, bool, error)
	ListRuns(ctx context.Context, actor account.Actor, extRef, id string, q schedule.RunQuery) (schedule.RunPage, error)
	Preview(ctx context.Context, actor account.Actor, in schedule.PreviewInput, browserZone string) (schedule.Preview, error)
}

// PageTenants gives the pages the actor's tenant (its default zone).
type PageTenants interface {
	Tenant(ctx context.Context, actor account.Actor) (db.Tenant, error)
}

// SchedulesPage serves an extension's Schedules tab, the schedule form,
// the schedule page with its runs and the htmx actions of the tab.
type SchedulesPage struct {
	schedules PageSchedules
	installs  PageInstalls
	registry  PageCatalog
	tenants   PageTenants
	zones     []string
	now       func() time.Time
}

// NewSchedulesPage builds the schedule page handlers; zones feeds the
// zone picker.
func NewSchedulesPage(schedules PageSchedules, installs PageInstalls, registry PageCatalog, tenants PageTenants, zones []string) *SchedulesPage {
	return &SchedulesPage{schedules: schedules, installs: installs, registry: registry, tenants: tenants, zones: zones, now: time.Now}
}

func schedulesPath(slug string) string { return "/extensions/" + slug + "/schedules" }

func schedulePath(slug, id, suffix string) string { return schedulesPath(slug) + "/" + id + suffix }

// Tab renders the Schedules tab.
func (h *SchedulesPage) Tab(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	slug := c.Params("slug")
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Get(ctx, actor, slug)
	if err != nil {
		return err
	}
	eps, err := h.registry.Endpoints(ctx, in.VersionID)
	if err != nil {
		return err
	}
	list, err := h.schedules.List(ctx, actor, slug)
	if err != nil {
		return err
	}
	v := views.SchedulesView{Install: in, Endpoints: len(eps), CanWrite: actor.Can(account.ExtensionWrite),
		ViewerZone: h.viewerZone(ctx, actor), Now: h.now()}
	for _, e := range eps {
		if e.Schedulable {
			v.Schedulable++
		} else {
			v.Unschedulable = append(v.Unschedulable, e)
		}
	}
	v.NoEndpointsReason = noEndpointsReason(in, eps)
	for _, s := range list {
		v.Items = append(v.Items, views.ScheduleItem{View: s, Description: h.describe(ctx, actor, s)})
	}
	return Render(c, fiber.StatusOK, views.SchedulesTab(PageFor(c, in.DisplayName+" · Schedules", "extensions"), v))
}

func noEndpointsReason(in extensions.Install, eps []extensions.Endpoint) string {
	if len(eps) == 0 {
		return in.DisplayName + " " + in.Version + " declares no API endpoints, so there is nothing to schedule."
	}
	return in.DisplayName + " " + in.Version + " declares " + plural(len(eps), "endpoint") + ", and none can be scheduled:"
}

// describe returns the cron's description ("" when it no longer parses).
func (h *SchedulesPage) describe(ctx context.Context, actor account.Actor, s schedule.View) string {
	p, err := h.schedules.Preview(ctx, actor, schedule.PreviewInput{Cron: s.Cron, Timezone: s.Timezone, Count: 1}, "")
	if err != nil {
		return ""
	}
	return p.Description
}

// viewerZone is the zone hover times are shown in: the profile zone, else
// the tenant's default, else "" (the browser's, filled in by app.js).
func (h *SchedulesPage) viewerZone(ctx context.Context, actor account.Actor) string {
	if actor.Timezone != "" {
		return actor.Timezone
	}
	if t, err := h.tenants.Tenant(ctx, actor); err == nil && t.DefaultTimezone != nil {
		return *t.DefaultTimezone
	}
	return ""
}

// New renders the empty create form with the default zone.
func (h *SchedulesPage) New(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	f := views.ScheduleForm{Enabled: true, OverlapPolicy: "skip", CatchupPolicy: "latest",
		CatchupWindowSeconds: "3600", RetryMaxAttempts: "3", PauseAfterFailures: "0"}
	f.Timezone = h.viewerZone(ctx, actor)
	return h.renderForm(c, fiber.StatusOK, f)
}

// Create validates and stores a new schedule, or re-renders the form
// with the errors and everything typed.
func (h *SchedulesPage) Create(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	slug := c.Params("slug")
	f, in, local := formInput(c, true)
	if len(local) > 0 {
		f.FieldErrors = local
		return h.renderForm(c, fiber.StatusUnprocessableEntity, f)
	}
	ctx, cancel := ctx(c)
	defer cancel()
	s, err := h.schedules.Create(ctx, actor, slug, in, c.FormValue("browser_timezone"))
	if e, ok := fault.As(err); ok && (e.Code == fault.Invalid || e.Code == fault.Conflict) {
		f.FieldErrors, f.Error = splitFields(e)
		return h.renderForm(c, statusFor(e.Code), f)
	}
	if err != nil {
		return err
	}
	Flash(c, "Schedule '"+views.ScheduleItem{View: s}.Label()+"' created.")
	return c.Redirect(schedulesPath(slug), fiber.StatusSeeOther)
}

// Edit renders the form with the schedule's stored values.
func (h *SchedulesPage) Edit(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	s, err := h.schedules.Get(ctx, actor, c.Params("slug"), c.Params("id"))
	if err != nil {
		return err
	}
	return h.renderForm(c, fiber.StatusOK, formOf(s))
}

// Update saves the edit form. A stale revision re-renders the form with
// what the user typed and the current values.
func (h *SchedulesPage) Update(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	slug, id := c.Params("slug"), c.Params("id")
	f, in, local := formInput(c, false)
	f.ID = id
	if len(local) > 0 {
		f.FieldErrors = local
		return h.renderForm(c, fiber.StatusUnprocessableEntity, f)
	}
	ctx, cancel := ctx(c)
	defer cancel()
	s, err := h.schedules.Update(ctx, actor, slug, id, in)
	if e, ok := fault.As(err); ok && e.Code == fault.Conflict {
		if current, ok := e.Detail.(schedule.View); ok {
			f.Stale, f.Revision = &current, current.Revision
			return h.renderForm(c, fiber.StatusConflict, f)
		}
	}
	if e, ok := fault.As(err); ok && (e.Code == fault.Invalid || e.Code == fault.Conflict) {
		f.FieldErrors, f.Error = splitFields(e)
		return h.renderForm(c, statusFor(e.Code), f)
	}
	if err != nil {
		return err
	}
	Flash(c, "Schedule '"+views.ScheduleItem{View: s}.Label()+"' saved.")
	return c.Redirect(schedulePath(slug, id, ""), fiber.StatusSeeOther)
}

// Preview renders the live preview panel for the typed cron and zone.
func (h *SchedulesPage) Preview(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	v, err := h.preview(ctx, actor, c.FormValue("cron"), c.FormValue("timezone"), c.FormValue("browser_timezone"))
	if err != nil {
		return err
	}
	return Render(c, fiber.StatusOK, views.SchedulePreview(v))
}

func (h *SchedulesPage) preview(ctx context.Context, actor account.Actor, cron, zone, browser string) (views.PreviewView, error) {
	if strings.TrimSpace(cron) == "" {
		return views.PreviewView{}, nil
	}
	p, err := h.schedules.Preview(ctx, actor, schedule.PreviewInput{Cron: cron, Timezone: zone, Count: 5}, browser)
	if e, ok := fault.As(err); ok && e.Code == fault.Invalid {
		return views.PreviewView{Errors: e.Fields}, nil
	}
	if err != nil {
		return views.PreviewView{}, err
	}
	viewer := actor.Timezone
	if viewer == "" {
		viewer = strings.TrimSpace(browser)
	}
	if viewer == "" {
		viewer = "UTC"
	}
	return views.PreviewView{Description: p.Description, Zone: p.Timezone, ViewerZone: viewer,
		Times: p.NextFireTimes, Warning: p.Warnings["timezone"]}, nil
}

func (h *SchedulesPage) renderForm(c *fiber.Ctx, status int, f views.ScheduleForm) error {
	actor, _ := ActorOf(c)
	slug := c.Params("slug")
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Get(ctx, actor, slug)
	if err != nil {
		return err
	}
	eps, err := h.registry.Endpoints(ctx, in.VersionID)
	if err != nil {
		return err
	}
	f.Install, f.Endpoints, f.Zones = in, eps, h.zones
	f.DefaultZone = h.viewerZone(ctx, actor)
	if f.ID != "" && f.Label == "" {
		if s, err := h.schedules.Get(ctx, actor, slug, f.ID); err == nil {
			f.Label = views.ScheduleItem{View: s}.Label()
		}
	}
	if f.Preview, err = h.preview(ctx, actor, f.Cron, f.Timezone, c.FormValue("browser_timezone")); err != nil {
		return err
	}
	title := "New schedule"
	if f.ID != "" {
		title = "Edit schedule"
	}
	return Render(c, status, views.ScheduleFormPage(PageFor(c, title+" · "+in.DisplayName, "extensions"), f))
}

// formOf fills the edit form from a stored schedule.
func formOf(s schedule.View) views.ScheduleForm {
	return views.ScheduleForm{ID: s.ID.String(), Revision: s.Revision, Label: views.ScheduleItem{View: s}.Label(),
		EndpointID: s.EndpointID.String(), Name: deref(s.Name), Cron: s.Cron, Timezone: s.Timezone,
		PayloadJSON: payloadText(s.PayloadJSON), Enabled: s.Enabled, OverlapPolicy: s.OverlapPolicy,
		CatchupPolicy: s.CatchupPolicy, CatchupWindowSeconds: itoa(s.CatchupWindowSeconds),
		RetryMaxAttempts: itoa(s.RetryMaxAttempts), PauseAfterFailures: itoa(s.PauseAfterFailures)}
}

// payloadText is the stored payload as the editor shows it: indented, or
// empty for none.
func payloadText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// formInput reads the schedule form into the form's view-model (to show
// it again) and the service input. local holds errors found while parsing
// (a number field that is not a number).
func formInput(c *fiber.Ctx, create bool) (views.ScheduleForm, schedule.Input, map[string]string) {
	f := views.ScheduleForm{
		EndpointID: c.FormValue("endpoint_id"), Name: c.FormValue("name"), Cron: c.FormValue("cron"),
		Timezone: c.FormValue("timezone"), PayloadJSON: c.FormValue("payload_json"),
		OverlapPolicy: c.FormValue("overlap_policy"), CatchupPolicy: c.FormValue("catchup_policy"),
		CatchupWindowSeconds: c.FormValue("catchup_window_seconds"), RetryMaxAttempts: c.FormValue("retry_max_attempts"),
		PauseAfterFailures: c.FormValue("pause_after_failures"),
		Enabled:            c.FormValue("enabled") != "",
	}
	local := map[string]string{}
	in := schedule.Input{Name: &f.Name, Cron: &f.Cron, Timezone: &f.Timezone}
	if f.EndpointID != "" {
		in.EndpointID = &f.EndpointID
	} else if !create {
		local["endpoint_id"] = "Choose the endpoint to call."
	}
	// The text area holds the JSON itself; empty means no payload.
	in.PayloadJSON = json.RawMessage("null")
	if text := strings.TrimSpace(f.PayloadJSON); text != "" {
		in.PayloadJSON = json.RawMessage(text)
	}
	if create && c.FormValue("enabled_present") != "" {
		in.Enabled = &f.Enabled
	}
	if f.OverlapPolicy != "" {
		in.OverlapPolicy = &f.OverlapPolicy
	}
	if f.CatchupPolicy != "" {
		in.CatchupPolicy = &f.CatchupPolicy
	}
	in.CatchupWindowSeconds = formInt(local, "catchup_window_seconds", f.CatchupWindowSeconds)
	in.RetryMaxAttempts = formInt(local, "retry_max_attempts", f.RetryMaxAttempts)
	in.PauseAfterFailures = formInt(local, "pause_after_failures", f.PauseAfterFailures)
	if !create {
		rev, err := strconv.Atoi(c.FormValue("revision"))
		if err != nil {
			local["revision"] = "The form lost its revision; reload the page."
		}
		in.Revision = &rev
		f.Revision = rev
	}
	return f, in, local
}

func formInt(errs map[string]string, field, raw string) *int {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		errs[field] = "Enter a whole number."
		return nil
	}
	return &n
}

// splitFields separates the field errors the form can show under a field
// from the message for the top of the form.
func splitFields(e *fault.Error) (map[string]string, string) {
	if len(e.Fields) == 0 {
		return nil, e.Message
	}
	shown := map[string]bool{"endpoint_id": true, "name": true, "cron": true, "timezone": true, "payload_json": true,
		"overlap_policy": true, "catchup_policy": true, "catchup_window_seconds": true, "retry_max_attempts": true,
		"pause_after_failures": true}
	fields := map[string]string{}
	var general []string
	for k, m := range e.Fields {
		if shown[k] {
			fields[k] = m
		} else {
			general = append(general, m)
		}
	}
	return fields, strings.Join(general, " ")
}

// Toggle turns a schedule on or off. htmx gets the switch back in place;
// when the service refuses, the switch shows the stored state and the
// reason inline.
func (h *SchedulesPage) Toggle(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	slug, id := c.Params("slug"), c.Params("id")
	enabled := c.FormValue("enabled") != ""
	ctx, cancel := ctx(c)
	defer cancel()
	s, err := h.schedules.SetEnabled(ctx, actor, slug, id, enabled)
	if e, ok := fault.As(err); ok && e.Code != fault.NotFound {
		if !IsHTMX(c) {
			Flash(c, e.Message)
			return c.Redirect(schedulesPath(slug), fiber.StatusSeeOther)
		}
		current, gerr := h.schedules.Get(ctx, actor, slug, id)
		if gerr != nil {
			return gerr
		}
		Toast(c, e.Message, "error")
		return Render(c, fiber.StatusOK, views.ToggleCell(CSRFOf(c), slug, current, true, e.Message))
	}
	if err != nil {
		return err
	}
	word := "off"
	if s.Enabled {
		word = "on"
	}
	msg := "Schedule '" + views.ScheduleItem{View: s}.Label() + "' turned " + word + "."
	if !IsHTMX(c) {
		Flash(c, msg)
		return c.Redirect(schedulesPath(slug), fiber.StatusSeeOther)
	}
	Toast(c, msg, "success")
	return Render(c, fiber.StatusOK, views.ToggleCell(CSRFOf(c), slug, s, true, ""))
}

// RunNow queues a manual run. The page sends a fresh idempotency key per
// click, so a double submit queues one run.
func (h *SchedulesPage) RunNow(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	slug, id := c.Params("slug"), c.Params("id")
	key := c.FormValue("idempotency_key")
	if key == "" {
		key = c.Get("Idempotency-Key")
	}
	ctx, cancel := ctx(c)
	defer cancel()
	run, created, err := h.schedules.RunNow(ctx, actor, slug, id, key)
	if err != nil {
		return err
	}
	msg := "Run queued; it shows in the run history as soon as it starts."
	if !created {
		msg = "That run was already queued (" + run.Status + ")."
	}
	if !IsHTMX(c) {
		Flash(c, msg)
		return c.Redirect(schedulePath(slug, id, ""), fiber.StatusSeeOther)
	}
	Toast(c, msg, "success")
	return c.SendStatus(fiber.StatusAccepted)
}

// ConfirmDelete asks for confirmation without JavaScript.
func (h *SchedulesPage) ConfirmDelete(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	slug, id := c.Params("slug"), c.Params("id")
	ctx, cancel := ctx(c)
	defer cancel()
	s, err := h.schedules.Get(ctx, actor, slug, id)
	if err != nil {
		return err
	}
	label := views.ScheduleItem{View: s}.Label()
	return Render(c, fiber.StatusOK, views.ConfirmPage(PageFor(c, "Delete schedule", "extensions"), views.Confirmation{
		Title: "Delete schedule?", Message: "Delete the schedule '" + label + "'? Its run history is deleted too.",
		Action: schedulePath(slug, id, "/delete"), Yes: "Delete", Back: schedulesPath(slug),
	}))
}

// Delete removes the schedule and returns to the tab.
func (h *SchedulesPage) Delete(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	slug, id := c.Params("slug"), c.Params("id")
	ctx, cancel := ctx(c)
	defer cancel()
	if err := h.schedules.Delete(ctx, actor, slug, id); err != nil {
		return err
	}
	Flash(c, "Schedule deleted.")
	return c.Redirect(schedulesPath(slug), fiber.StatusSeeOther)
}

// Show renders a schedule with a page of its runs.
func (h *SchedulesPage) Show(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	slug, id := c.Params("slug"), c.Params("id")
	ctx, cancel := ctx(c)
	defer cancel()
	in, err := h.installs.Get(ctx, actor, slug)
	if err != nil {
		return err
	}
	s, err := h.schedules.Get(ctx, actor, slug, id)
	if err != nil {
		return err
	}
	d := views.ScheduleDetail{Install: in, Schedule: views.ScheduleItem{View: s, Description: h.describe(ctx, actor, s)},
		Status: c.Query("status"), Trigger: c.Query("trigger"), CanWrite: actor.Can(account.ExtensionWrite),
		ViewerZone: h.viewerZone(ctx, actor), Now: h.now(), Older: c.Query("cursor") != ""}
	q := schedule.RunQuery{Status: d.Status, Trigger: d.Trigger, Cursor: c.Query("cursor"), Limit: 25}
	page, err := h.schedules.ListRuns(ctx, actor, slug, id, q)
	if e, ok := fault.As(err); ok && e.Code == fault.Invalid {
		d.FilterErr = "Those filters are not valid; showing all runs."
		d.Status, d.Trigger, d.Older = "", "", false
		page, err = h.schedules.ListRuns(ctx, actor, slug, id, schedule.RunQuery{Limit: 25})
	}
	if err != nil {
		return err
	}
	d.Runs, d.NextCursor = page.Items, page.NextCursor
	return Render(c, fiber.StatusOK, views.ScheduleDetailPage(PageFor(c, d.Schedule.Label()+" · "+in.DisplayName, "extensions"), d))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func itoa(n int) string { return strconv.Itoa(n) }
