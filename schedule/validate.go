package schedule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"extcron/db"
	"extcron/extensions"
	"extcron/fault"
	"extcron/scheduler/cron"
)

// Input is a create or update request. Nil fields are absent: on update
// they keep their stored value. The validate tags are the rules that need
// nothing but the value; msg is the field's message when one fails.
type Input struct {
	EndpointID *string `json:"endpoint_id"`
	Name       *string `json:"name" validate:"omitnil,max=128" msg:"Name must be at most 128 characters."`
	Cron       *string `json:"cron"`
	Timezone   *string `json:"timezone"`
	// PayloadJSON is a JSON value; nil means absent, `null` means none.
	PayloadJSON   json.RawMessage `json:"payload_json"`
	Enabled       *bool           `json:"enabled"`
	Revision      *int            `json:"revision"`
	OverlapPolicy *string         `json:"overlap_policy" validate:"omitnil,oneof=skip buffer_one allow" msg:"Overlap policy must be skip, buffer_one or allow."`
	CatchupPolicy *string         `json:"catchup_policy" validate:"omitnil,oneof=latest skip all" msg:"Catch-up policy must be latest, skip or all."`
	// At most 7 days.
	CatchupWindowSeconds *int `json:"catchup_window_seconds" validate:"omitnil,min=0,max=604800" msg:"Catch-up window must be from 0 to 604800 seconds (7 days)."`
	RetryMaxAttempts     *int `json:"retry_max_attempts" validate:"omitnil,min=1,max=10" msg:"Attempts must be from 1 (no retry) to 10."`
	PauseAfterFailures   *int `json:"pause_after_failures" validate:"omitnil,min=0,max=100" msg:"Pause after failures must be from 0 (never) to 100."`
}

// Limits are the configurable bounds of SPEC §4 and §5.
type Limits struct {
	MinInterval       time.Duration
	MaxPayloadBytes   int
	MaxPerInstall     int
	MaxPerTenant      int
	RunNowPerTenant   int           // per minute
	RunNowPerSchedule time.Duration // minimum gap
	IdempotencyWindow time.Duration
}

// DefaultLimits are the documented defaults.
func DefaultLimits() Limits {
	return Limits{MinInterval: 5 * time.Minute, MaxPayloadBytes: 100_000, MaxPerInstall: 50, MaxPerTenant: 500,
		RunNowPerTenant: 5, RunNowPerSchedule: 10 * time.Second, IdempotencyWindow: 10 * time.Minute}
}

// apply merges in onto s (a stored schedule, or defaults for a new one)
// and validates the result. It returns the field errors and warnings.
func (svc *Service) apply(ctx context.Context, q db.Queryer, s *db.Schedule, in Input, install db.InstallDetail, defaultZone func() string, fields fault.Fields) (map[string]string, error) {
	warnings := map[string]string{}
	svc.rules.Check(in, fields)
	if in.EndpointID != nil {
		if err := applyEndpoint(ctx, q, s, *in.EndpointID, install, fields); err != nil {
			return nil, err
		}
	}
	if in.Name != nil {
		if name := strings.TrimSpace(*in.Name); name == "" {
			s.Name = nil
		} else {
			s.Name = &name
		}
	}
	if in.Cron != nil {
		expr := strings.TrimSpace(*in.Cron)
		if expr == "" {
			fields.Add("cron", "Cron is required: five fields (minute hour day-of-month month day-of-week), e.g. 0 9 * * 1-5.")
		} else if _, err := cron.Parse(expr, svc.limits.MinInterval); err != nil {
			fields.Add("cron", cronMessage(err))
		}
		s.Cron = expr
	}
	if in.Timezone != nil || s.Timezone == "" {
		zone := ""
		if in.Timezone != nil {
			zone = strings.TrimSpace(*in.Timezone)
		}
		if zone == "" {
			zone = defaultZone()
		}
		if _, warning, err := cron.LoadZone(zone); err != nil {
			fields.Add("timezone", cronMessage(err))
		} else if warning != "" {
			warnings["timezone"] = warning
		}
		s.Timezone = zone
	}
	if in.PayloadJSON != nil {
		payload, msg := svc.checkPayload(in.PayloadJSON)
		if msg != "" {
			fields.Add("payload_json", msg)
		}
		s.PayloadJSON = payload
	}
	if in.Enabled != nil {
		s.Enabled = *in.Enabled
	}
	// The policies' rules are Input's validate tags, checked above: a
	// value that broke one is in fields, and fields abort the change.
	if in.OverlapPolicy != nil {
		s.OverlapPolicy = *in.OverlapPolicy
	}
	if in.CatchupPolicy != nil {
		s.CatchupPolicy = *in.CatchupPolicy
	}
	if in.CatchupWindowSeconds != nil {
		s.CatchupWindowSeconds = *in.CatchupWindowSeconds
	}
	if in.RetryMaxAttempts != nil {
		s.RetryMaxAttempts = *in.RetryMaxAttempts
	}
	if in.PauseAfterFailures != nil {
		s.PauseAfterFailures = *in.PauseAfterFailures
	}
	return warnings, nil
}

func applyEndpoint(ctx context.Context, q db.Queryer, s *db.Schedule, raw string, install db.InstallDetail, fields fault.Fields) error {
	id, err := uuid.Parse(strings.TrimSpace(raw))
	if err != nil {
		fields.Add("endpoint_id", "Choose an endpoint: endpoint_id must be the id of one of this extension's endpoints.")
		return nil
	}
	ep, err := db.FindEndpoint(ctx, q, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && ep.VersionID != install.VersionID) {
		fields.Add("endpoint_id", "This endpoint does not belong to the installed version "+install.Version+" of the extension.")
		return nil
	}
	if err != nil {
		return err
	}
	if ok, reason := extensions.Schedulable(ep.Method, ep.Path); !ok {
		fields.Add("endpoint_id", "This endpoint cannot be scheduled: "+upperFirst(reason))
		return nil
	}
	s.EndpointID = ep.ID
	s.EndpointMethod = ep.Method
	s.EndpointPath = ep.Path
	return nil
}

// checkPayload accepts nothing, null, an object or an array within the
// size limit, and returns the compacted JSON (nil for none). The payload is
// the JSON value itself: a string, even one holding JSON text, is a
// scalar and refused (SPEC §8).
func (svc *Service) checkPayload(raw json.RawMessage) (json.RawMessage, string) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, ""
	}
	if !json.Valid(trimmed) {
		return nil, "Payload is not valid JSON. Enter a JSON object like {\"key\": \"value\"} or an array, or leave it empty."
	}
	switch trimmed[0] {
	case '{', '[':
	case '"':
		return nil, "Payload must be a JSON object or array, sent as JSON itself, not as a string of JSON text."
	default:
		return nil, "Payload must be a JSON object or array (or empty); a single value such as a number is not accepted."
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		return nil, "Payload is not valid JSON."
	}
	if buf.Len() > svc.limits.MaxPayloadBytes {
		return nil, fmt.Sprintf("Payload is %d bytes; the maximum is %d bytes.", buf.Len(), svc.limits.MaxPayloadBytes)
	}
	return json.RawMessage(buf.Bytes()), ""
}

func cronMessage(err error) string {
	if e, ok := err.(*cron.Error); ok {
		return upperFirst(e.Message)
	}
	return upperFirst(err.Error())
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	if s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-32) + s[1:]
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
