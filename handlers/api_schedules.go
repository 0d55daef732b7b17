package handlers

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/schedule"
)

// ScheduleService is what the schedule routes need.
type ScheduleService interface {
	List(ctx context.Context, actor account.Actor, extRef string) ([]schedule.View, error)
	Get(ctx context.Context, actor account.Actor, extRef, id string) (schedule.View, error)
	Create(ctx context.Context, actor account.Actor, extRef string, in schedule.Input, browserZone string) (schedule.View, error)
	Update(ctx context.Context, actor account.Actor, extRef, id string, in schedule.Input) (schedule.View, error)
	Delete(ctx context.Context, actor account.Actor, extRef, id string) error
	RunNow(ctx context.Context, actor account.Actor, extRef, id, idempotencyKey string) (schedule.RunView, bool, error)
	ListRuns(ctx context.Context, actor account.Actor, extRef, id string, q schedule.RunQuery) (schedule.RunPage, error)
	Preview(ctx context.Context, actor account.Actor, in schedule.PreviewInput, browserZone string) (schedule.Preview, error)
}

// SchedulesAPI serves the schedule routes of the JSON API.
type SchedulesAPI struct{ schedules ScheduleService }

// NewSchedulesAPI builds the schedule API handlers.
func NewSchedulesAPI(s ScheduleService) *SchedulesAPI { return &SchedulesAPI{schedules: s} }

// List answers an install's schedules.
func (h *SchedulesAPI) List(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	items, err := h.schedules.List(ctx, actor, c.Params("ext"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

// Get answers one schedule.
func (h *SchedulesAPI) Get(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	v, err := h.schedules.Get(ctx, actor, c.Params("ext"), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// Create stores a new schedule (201).
func (h *SchedulesAPI) Create(c *fiber.Ctx) error {
	var in schedule.Input
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	v, err := h.schedules.Create(ctx, actor, c.Params("ext"), in, c.Get("X-Browser-Timezone"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

// Update applies a partial change (revision required).
func (h *SchedulesAPI) Update(c *fiber.Ctx) error {
	var in schedule.Input
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	v, err := h.schedules.Update(ctx, actor, c.Params("ext"), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// Delete removes a schedule (204).
func (h *SchedulesAPI) Delete(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	if err := h.schedules.Delete(ctx, actor, c.Params("ext"), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// RunNow queues a manual run (202 with the run; a repeated
// Idempotency-Key answers the first run).
func (h *SchedulesAPI) RunNow(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	run, _, err := h.schedules.RunNow(ctx, actor, c.Params("ext"), c.Params("id"), c.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(run)
}

// Runs answers a page of a schedule's runs.
func (h *SchedulesAPI) Runs(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	limit, _ := strconv.Atoi(c.Query("limit"))
	page, err := h.schedules.ListRuns(ctx, actor, c.Params("ext"), c.Params("id"), schedule.RunQuery{
		Status: c.Query("status"), Trigger: c.Query("trigger"), Cursor: c.Query("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	return c.JSON(page)
}

// Preview describes a cron and lists its next fire times.
func (h *SchedulesAPI) Preview(c *fiber.Ctx) error {
	var in schedule.PreviewInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	actor, _ := ActorOf(c)
	ctx, cancel := ctx(c)
	defer cancel()
	p, err := h.schedules.Preview(ctx, actor, in, c.Get("X-Browser-Timezone"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"description": p.Description, "next_fire_times": p.NextFireTimes,
		"timezone": p.Timezone, "warnings": p.Warnings})
}
