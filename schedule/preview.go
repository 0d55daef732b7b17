package schedule

import (
	"context"
	"strconv"
	"strings"
	"time"

	"extcron/account"
	"extcron/fault"
	"extcron/scheduler/cron"
)

// PreviewInput asks for the next fire times of a cron in a zone.
type PreviewInput struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
	// From is an RFC 3339 instant; empty means now.
	From string `json:"from" validate:"omitempty,datetime=2006-01-02T15:04:05Z07:00" msg:"from must be an RFC 3339 instant such as 2026-03-08T06:00:00Z."`
	// Count is the number of fire times; 0 means 5.
	Count int `json:"count" validate:"omitempty,min=1,max=20" msg:"count must be from 1 to 20."`
}

// Preview is the answer: a description and the next fire times (UTC), plus
// the zone used and any warning.
type Preview struct {
	Description   string            `json:"description"`
	NextFireTimes []time.Time       `json:"next_fire_times"`
	Timezone      string            `json:"timezone"`
	Warnings      map[string]string `json:"warnings,omitempty"`
}

// Preview validates cron and zone with the same rules as saving and
// computes the next fire times. An empty zone uses the default chain.
func (svc *Service) Preview(ctx context.Context, actor account.Actor, in PreviewInput, browserZone string) (Preview, error) {
	if err := actor.Require(account.ExtensionRead); err != nil {
		return Preview{}, err
	}
	fields := fault.Fields{}
	svc.rules.Check(in, fields)
	expr := strings.TrimSpace(in.Cron)
	var parsed *cron.Expr
	if expr == "" {
		fields.Add("cron", "Cron is required: five fields (minute hour day-of-month month day-of-week), e.g. 0 9 * * 1-5.")
	} else if e, err := cron.Parse(expr, svc.limits.MinInterval); err != nil {
		fields.Add("cron", cronMessage(err))
	} else {
		parsed = e
	}
	zone := strings.TrimSpace(in.Timezone)
	if zone == "" {
		z, err := svc.DefaultZoneFor(ctx, actor, browserZone)
		if err != nil {
			return Preview{}, err
		}
		zone = z
	}
	loc, warning, err := cron.LoadZone(zone)
	if err != nil {
		fields.Add("timezone", cronMessage(err))
	}
	if err := fields.Err(); err != nil {
		return Preview{}, err
	}
	from := svc.now()
	if in.From != "" {
		from, _ = time.Parse(time.RFC3339, in.From) // checked by the rules
	}
	count := in.Count
	if count == 0 {
		count = 5
	}
	out := Preview{Description: parsed.Describe(), Timezone: zone, NextFireTimes: []time.Time{}}
	for _, t := range parsed.NextN(from, loc, count) {
		out.NextFireTimes = append(out.NextFireTimes, t.UTC())
	}
	if warning != "" {
		out.Warnings = map[string]string{"timezone": warning}
	}
	return out, nil
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

// CheckZone validates an IANA zone name for profiles and tenants; it
// returns the message to show, or "".
func CheckZone(name string) string {
	if _, _, err := cron.LoadZone(name); err != nil {
		return cronMessage(err)
	}
	return ""
}
