package schedule

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"extcron/db"
)

// View is the schedule object of the API (SPEC §8), also rendered by the
// pages.
type View struct {
	ID                   uuid.UUID       `json:"id"`
	InstallID            uuid.UUID       `json:"install_id"`
	EndpointID           uuid.UUID       `json:"endpoint_id"`
	EndpointMethod       string          `json:"endpoint_method"`
	EndpointPath         string          `json:"endpoint_path"`
	Name                 *string         `json:"name"`
	Cron                 string          `json:"cron"`
	Timezone             string          `json:"timezone"`
	PayloadJSON          json.RawMessage `json:"payload_json"`
	Enabled              bool            `json:"enabled"`
	Revision             int             `json:"revision"`
	OverlapPolicy        string          `json:"overlap_policy"`
	CatchupPolicy        string          `json:"catchup_policy"`
	CatchupWindowSeconds int             `json:"catchup_window_seconds"`
	RetryMaxAttempts     int             `json:"retry_max_attempts"`
	PauseAfterFailures   int             `json:"pause_after_failures"`
	RunnerScheduleID     *string         `json:"runner_schedule_id"`
	NextRunAt            *time.Time      `json:"next_run_at"`
	LastRunAt            *time.Time      `json:"last_run_at"`
	LastRunStatus        *string         `json:"last_run_status"`
	LastError            *string         `json:"last_error"`
	LastSuccessAt        *time.Time      `json:"last_success_at"`
	ConsecutiveFailures  int             `json:"consecutive_failures"`
	CreatedAt            time.Time       `json:"created_at"`
	UpdatedAt            time.Time       `json:"updated_at"`
	// Warnings are accepted-but-surprising inputs (a fixed-offset zone).
	Warnings map[string]string `json:"warnings,omitempty"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func viewOf(s db.Schedule) View {
	payload := s.PayloadJSON
	if len(payload) == 0 || string(payload) == "null" {
		payload = json.RawMessage("null")
	}
	return View{
		ID: s.ID, InstallID: s.InstallID, EndpointID: s.EndpointID,
		EndpointMethod: s.EndpointMethod, EndpointPath: s.EndpointPath,
		Name: s.Name, Cron: s.Cron, Timezone: s.Timezone, PayloadJSON: payload, Enabled: s.Enabled,
		Revision: s.Revision, OverlapPolicy: s.OverlapPolicy, CatchupPolicy: s.CatchupPolicy,
		CatchupWindowSeconds: s.CatchupWindowSeconds, RetryMaxAttempts: s.RetryMaxAttempts,
		PauseAfterFailures: s.PauseAfterFailures, RunnerScheduleID: s.RunnerScheduleID,
		NextRunAt: utc(s.NextRunAt), LastRunAt: utc(s.LastRunAt), LastRunStatus: s.LastRunStatus,
		LastError: s.LastError, LastSuccessAt: utc(s.LastSuccessAt), ConsecutiveFailures: s.ConsecutiveFailures,
		CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
	}
}

// RunView is the run object of the API.
type RunView struct {
	ID              uuid.UUID  `json:"id"`
	ScheduleID      uuid.UUID  `json:"schedule_id"`
	Trigger         string     `json:"trigger"`
	ScheduledFor    time.Time  `json:"scheduled_for"`
	InvocationID    uuid.UUID  `json:"invocation_id"`
	Attempt         int        `json:"attempt"`
	Status          string     `json:"status"`
	StartedAt       *time.Time `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	DurationMS      *int       `json:"duration_ms"`
	HTTPStatus      *int       `json:"http_status"`
	ResponseExcerpt *string    `json:"response_excerpt"`
	Error           *string    `json:"error"`
	CreatedAt       time.Time  `json:"-"`
}

func runViewOf(r db.Run) RunView {
	return RunView{ID: r.ID, ScheduleID: r.ScheduleID, Trigger: r.Trigger, ScheduledFor: r.ScheduledFor.UTC(),
		InvocationID: r.InvocationID, Attempt: r.Attempt, Status: r.Status, StartedAt: utc(r.StartedAt),
		FinishedAt: utc(r.FinishedAt), DurationMS: r.DurationMS, HTTPStatus: r.HTTPStatus,
		ResponseExcerpt: r.ResponseExcerpt, Error: r.Error, CreatedAt: r.CreatedAt}
}
