package cron

import (
	"fmt"
	"testing"
	"time"
)

func mustParse(t testing.TB, expr string) *Expr {
	t.Helper()
	e, err := Parse(expr, 0)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return e
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := loadEmbedded(name)
	if err != nil {
		t.Fatalf("loadEmbedded(%q): %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func formatAll(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.UTC().Format(time.RFC3339)
	}
	return out
}

// TestNextDST pins the exact instants of FAILURE-MODES.md and the
// transitions of both 2026 changes in several zones.
func TestNextDST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		expr  string
		zone  string
		after string
		want  []string // consecutive fires after `after`, UTC
	}{
		// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z),
		// 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z).
		{"NY spring-forward fixed fires at gap end", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{"NY fall-back fixed fires once", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"NY gap times coincide into one fire", "0,30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:30:00Z"}},
		{"NY gap end coincides with 03:00", "0 2,3 * * *", "America/New_York", "2026-03-08T00:00:00Z",
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T07:00:00Z"}},
		{"NY fixed 0-23 hours is not wildcard on the long day", "0 0-23 * * *", "America/New_York", "2026-11-01T04:30:00Z",
			[]string{"2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"}},
		{"NY fixed 0-23 hours on the short day", "0 0-23 * * *", "America/New_York", "2026-03-08T05:30:00Z",
			[]string{"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}},
		{"NY wildcard skips the missing 02:30", "30 * * * *", "America/New_York", "2026-03-08T06:00:00Z",
			[]string{"2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z"}},
		{"NY wildcard minutes in a missing hour skip the day", "*/15 2 * * *", "America/New_York", "2026-03-08T05:00:00Z",
			[]string{"2026-03-09T06:00:00Z", "2026-03-09T06:15:00Z"}},
		{"NY wildcard fires in both passes", "30 * * * *", "America/New_York", "2026-11-01T05:00:00Z",
			[]string{"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"}},
		{"NY after exactly the gap-end fire", "30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z",
			[]string{"2026-03-09T06:30:00Z"}},
		{"NY after just before the gap-end fire", "30 2 * * *", "America/New_York", "2026-03-08T06:59:59.999Z",
			[]string{"2026-03-08T07:00:00Z"}},
		{"NY after inside the repeated hour", "30 1 * * *", "America/New_York", "2026-11-01T06:10:00Z",
			[]string{"2026-11-02T06:30:00Z"}},

		// Europe/Berlin: 2026-03-29 01:00Z (02:00 -> 03:00), 2026-10-25 01:00Z (03:00 -> 02:00).
		{"Berlin spring-forward fixed", "30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{"Berlin fall-back fixed first occurrence", "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"Berlin fall-back wildcard both passes", "*/30 * * * *", "Europe/Berlin", "2026-10-24T23:45:00Z",
			[]string{"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z"}},

		// Australia/Sydney (southern hemisphere): 2026-04-05 03:00 AEDT -> 02:00 AEST
		// (16:00Z on 04-04), 2026-10-04 02:00 AEST -> 03:00 AEDT (16:00Z on 10-03).
		{"Sydney fall-back in April fixed", "30 2 * * *", "Australia/Sydney", "2026-04-04T00:00:00Z",
			[]string{"2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z"}},
		{"Sydney spring-forward in October fixed", "30 2 * * *", "Australia/Sydney", "2026-10-03T00:00:00Z",
			[]string{"2026-10-03T16:00:00Z", "2026-10-04T15:30:00Z"}},
		{"Sydney hourly in October gap", "0 * * * *", "Australia/Sydney", "2026-10-03T14:30:00Z",
			[]string{"2026-10-03T15:00:00Z", "2026-10-03T16:00:00Z", "2026-10-03T17:00:00Z"}},

		// Australia/Lord_Howe: 30-minute shifts. 2026-04-05 02:00 +11 -> 01:30 +10:30
		// (15:00Z on 04-04); 2026-10-04 02:00 +10:30 -> 02:30 +11 (15:30Z on 10-03).
		{"Lord Howe fall-back fixed once", "45 1 * * *", "Australia/Lord_Howe", "2026-04-03T20:00:00Z",
			[]string{"2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}},
		{"Lord Howe fall-back wildcard both passes", "*/30 * * * *", "Australia/Lord_Howe", "2026-04-04T14:15:00Z",
			[]string{"2026-04-04T14:30:00Z", "2026-04-04T15:00:00Z", "2026-04-04T15:30:00Z"}},
		{"Lord Howe spring-forward fixed", "15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z",
			[]string{"2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}},
		{"Lord Howe spring-forward wildcard skips", "15 * * * *", "Australia/Lord_Howe", "2026-10-03T14:00:00Z",
			[]string{"2026-10-03T14:45:00Z", "2026-10-03T16:15:00Z"}}, // 02:15 does not exist

		// Africa/Cairo: midnight gap on 2026-04-24 (00:00 -> 01:00 at 22:00Z on the 23rd);
		// 23:00-24:00 repeated on 2026-10-29.
		{"Cairo midnight gap keeps the day", "0 0 * * *", "Africa/Cairo", "2026-04-22T23:00:00Z",
			[]string{"2026-04-23T22:00:00Z", "2026-04-24T21:00:00Z"}},
		{"Cairo repeated 23:30 fires once", "30 23 * * *", "Africa/Cairo", "2026-10-29T12:00:00Z",
			[]string{"2026-10-29T20:30:00Z", "2026-10-30T21:30:00Z"}},

		// America/Havana: midnight gap on 2026-03-08 (05:00Z), repeated midnight
		// hour on 2026-11-01 (01:00 CDT -> 00:00 CST at 05:00Z).
		{"Havana midnight gap", "0 0 * * *", "America/Havana", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"}},
		{"Havana repeated midnight fires once", "0 0 * * *", "America/Havana", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"}},
		{"Havana wildcard midnight hour both passes", "30 * * * *", "America/Havana", "2026-11-01T04:00:00Z",
			[]string{"2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"}},

		// Asia/Kolkata has no DST: a plain +05:30.
		{"Kolkata no DST", "30 2 * * *", "Asia/Kolkata", "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T21:00:00Z", "2026-03-08T21:00:00Z"}},
		{"Kolkata every 15 minutes", "*/15 * * * *", "Asia/Kolkata", "2026-11-01T05:59:59Z",
			[]string{"2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z"}},

		// Antarctica/Troll shifts by two hours (+00 -> +02 on 2026-03-29 01:00Z).
		{"Troll two-hour gap coincides", "0 1,2,3 * * *", "Antarctica/Troll", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T01:00:00Z", "2026-03-29T23:00:00Z", "2026-03-30T00:00:00Z"}},

		// Calendar shapes.
		{"leap day", "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"leap day skips 2100", "0 0 29 2 *", "UTC", "2097-01-01T00:00:00Z",
			[]string{"2104-02-29T00:00:00Z"}},
		{"weekdays", "0 9 * * MON-FRI", "Europe/Berlin", "2026-11-27T09:00:00Z",
			[]string{"2026-11-30T08:00:00Z", "2026-12-01T08:00:00Z"}},
		{"five fields, minute first (no seconds dialect)", "30 6 * * *", "UTC", "2026-11-26T00:00:00Z",
			[]string{"2026-11-26T06:30:00Z", "2026-11-27T06:30:00Z"}},
		{"Sunday as 7", "0 0 * * 7", "UTC", "2026-11-26T00:00:00Z",
			[]string{"2026-11-29T00:00:00Z", "2026-12-06T00:00:00Z"}},
		{"nil location is UTC", "0 12 1 * *", "", "2026-11-26T00:00:00Z",
			[]string{"2026-12-01T12:00:00Z", "2027-01-01T12:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustParse(t, tt.expr)
			var loc *time.Location
			if tt.zone != "" {
				loc = mustZone(t, tt.zone)
			}
			got := formatAll(e.NextN(utc(tt.after), loc, len(tt.want)))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("%q in %s after %s\n got: %v\nwant: %v", tt.expr, tt.zone, tt.after, got, tt.want)
			}
		})
	}
}

// TestNextFiresPerLocalDay counts fires over one local calendar day.
func TestNextFiresPerLocalDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, zone string
		day        time.Time // local date (only y, m, d used)
		want       int
	}{
		{"0 * * * *", "America/New_York", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 25},
		{"0 * * * *", "America/New_York", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), 23},
		{"0 * * * *", "America/New_York", time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), 24},
		{"0 * * * *", "Europe/Berlin", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), 25},
		{"0 * * * *", "Europe/Berlin", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), 23},
		{"0 * * * *", "Australia/Sydney", time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC), 25},
		{"0 * * * *", "Australia/Sydney", time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC), 23},
		{"0 0-23 * * *", "America/New_York", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 24},
		{"0 0-23 * * *", "America/New_York", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), 23},
		{"*/30 * * * *", "Australia/Lord_Howe", time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC), 49},
		{"*/30 * * * *", "Australia/Lord_Howe", time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC), 47},
		{"0 * * * *", "Asia/Kolkata", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), 24},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.zone+" "+tt.day.Format(time.DateOnly), func(t *testing.T) {
			t.Parallel()
			e, loc := mustParse(t, tt.expr), mustZone(t, tt.zone)
			y, m, d := tt.day.Date()
			start := time.Date(y, m, d, 0, 0, 0, 0, loc)
			end := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
			var fires []time.Time
			for next := e.Next(start.Add(-time.Second), loc); next.Before(end); next = e.Next(next, loc) {
				fires = append(fires, next)
			}
			if len(fires) != tt.want {
				t.Fatalf("fires = %d, want %d: %v", len(fires), tt.want, formatAll(fires))
			}
			if tt.expr == "0 * * * *" {
				for i := 1; i < len(fires); i++ {
					if gap := fires[i].Sub(fires[i-1]); gap != time.Hour {
						t.Errorf("gap between %v and %v = %v, want 1h", fires[i-1], fires[i], gap)
					}
				}
			}
		})
	}
}

var propertyZones = []string{
	"America/New_York", "Europe/Berlin", "Europe/London", "Europe/Dublin",
	"Australia/Sydney", "Australia/Lord_Howe", "Africa/Cairo", "America/Havana",
	"Asia/Kolkata", "America/Santiago", "Pacific/Chatham", "Pacific/Auckland",
	"America/St_Johns", "Antarctica/Troll", "Asia/Kathmandu", "America/Sao_Paulo",
	"Asia/Tehran", "UTC",
}

var propertyExprs = []string{
	"0 * * * *", "*/15 * * * *", "30 * * * *", "*/5 1-3 * * *",
	"30 2 * * *", "30 1 * * *", "0 0 * * *", "0 0-23 * * *", "0,30 0-3 * * *",
	"15 2,3 * * *", "59 23 * * *", "45 1 * * *", "30 23 * * *", "0 2 * * SUN",
	"0,45 0,1,2,3 * * *",
}

// transitions2026 returns the instants in 2026 where loc's UTC offset
// changes.
func transitions2026(loc *time.Location) []time.Time {
	var out []time.Time
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for t.Before(end) {
		_, e := t.In(loc).ZoneBounds()
		if e.IsZero() || !e.Before(end) {
			break
		}
		_, before := e.Add(-time.Second).In(loc).Zone()
		_, after := e.In(loc).Zone()
		if before != after {
			out = append(out, e)
		}
		t = e
	}
	return out
}

// oracleFires lists, by brute force over every UTC minute in [from, to),
// the fire instants the rules in doc.go define. 2026 offsets are whole
// multiples of 15 minutes, so every fire lies on a UTC minute.
func oracleFires(e *Expr, loc *time.Location, from, to time.Time) []time.Time {
	matches := func(w time.Time) bool { // w: naive wall time in UTC
		return e.matchesDay(w.Month(), w.Day(), w.Weekday()) &&
			e.hour&(1<<uint(w.Hour())) != 0 && e.minute&(1<<uint(w.Minute())) != 0
	}
	naive := func(u time.Time) time.Time {
		l := u.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
	}
	var out []time.Time
	for u := from.Truncate(time.Minute); u.Before(to); u = u.Add(time.Minute) {
		w := naive(u)
		fire := false
		if matches(w) {
			fire = true
			if !e.IsWildcard() {
				// Fixed-time: only the first instant with this wall time.
				for d := time.Minute; d <= 4*time.Hour; d += time.Minute {
					if naive(u.Add(-d)).Equal(w) {
						fire = false
						break
					}
				}
			}
		}
		if !fire && !e.IsWildcard() {
			// Fixed-time: u ends a gap that removed a matching wall time.
			prev := naive(u.Add(-time.Minute)).Add(time.Minute)
			for x := prev; x.Before(w); x = x.Add(time.Minute) {
				if matches(x) {
					fire = true
					break
				}
			}
		}
		if fire {
			out = append(out, u)
		}
	}
	return out
}

// TestNextProperties checks, around every 2026 transition of many zones,
// that Next is strictly after its input, that chaining is monotonic, and
// that the chain equals the brute-force oracle.
func TestNextProperties(t *testing.T) {
	t.Parallel()
	for _, zone := range propertyZones {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			loc := mustZone(t, zone)
			centers := transitions2026(loc)
			if len(centers) == 0 {
				centers = []time.Time{time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)}
			}
			for _, expr := range propertyExprs {
				e := mustParse(t, expr)
				for _, c := range centers {
					from, to := c.Add(-30*time.Hour), c.Add(30*time.Hour)
					want := oracleFires(e, loc, from.Add(time.Minute), to)
					var got []time.Time
					for next := e.Next(from, loc); next.Before(to); next = e.Next(next, loc) {
						if next.IsZero() {
							t.Fatalf("%q: Next returned zero", expr)
						}
						if n := len(got); n > 0 && !next.After(got[n-1]) {
							t.Fatalf("%q: chain not monotonic: %v then %v", expr, got[n-1], next)
						}
						got = append(got, next)
					}
					if fmt.Sprint(formatAll(got)) != fmt.Sprint(formatAll(want)) {
						t.Errorf("%q around %v\n got: %v\nwant: %v", expr, c, formatAll(got), formatAll(want))
					}
					// Strictly after, from arbitrary instants including
					// sub-second ones and the fire times themselves.
					for at := from; at.Before(to); at = at.Add(7*time.Minute + 13*time.Second + 500*time.Millisecond) {
						for _, in := range []time.Time{at, at.Truncate(time.Minute), at.Truncate(time.Minute).Add(-time.Nanosecond)} {
							if next := e.Next(in, loc); !next.After(in) {
								t.Fatalf("%q: Next(%v) = %v, not after its input", expr, in, next)
							}
						}
					}
					for _, f := range got {
						if next := e.Next(f, loc); !next.After(f) {
							t.Fatalf("%q: Next(%v) = %v, not after a fire time", expr, f, next)
						}
					}
				}
			}
		})
	}
}

// TestNextHourlyRepeatedHour checks that a wildcard hourly expression fires
// exactly 3600 s apart through every 2026 transition of whole-hour zones.
func TestNextHourlyRepeatedHour(t *testing.T) {
	t.Parallel()
	e := mustParse(t, "0 * * * *")
	for _, zone := range []string{"America/New_York", "Europe/Berlin", "Europe/London", "Australia/Sydney", "Africa/Cairo", "America/Havana", "Pacific/Auckland"} {
		loc := mustZone(t, zone)
		for _, c := range transitions2026(loc) {
			fires := e.NextN(c.Add(-6*time.Hour), loc, 12)
			for i := 1; i < len(fires); i++ {
				if gap := fires[i].Sub(fires[i-1]); gap != time.Hour {
					t.Errorf("%s around %v: fires %v and %v are %v apart, want 1h", zone, c, fires[i-1], fires[i], gap)
				}
			}
		}
	}
}

func TestNextNeverBeforeInputFarRange(t *testing.T) {
	t.Parallel()
	e := mustParse(t, "0 0 1 1 *")
	loc := mustZone(t, "America/New_York")
	for _, in := range []time.Time{
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2037, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2400, 6, 1, 0, 0, 0, 0, time.UTC),
		{},
	} {
		next := e.Next(in, loc)
		if !next.After(in) {
			t.Errorf("Next(%v) = %v, want after", in, next)
		}
		if l := next.In(loc); l.Month() != time.January || l.Day() != 1 || l.Hour() != 0 {
			t.Errorf("Next(%v) = %v local, want 1 January 00:00", in, l)
		}
	}
}

func BenchmarkNextEveryFiveMinutes(b *testing.B) {
	e := mustParse(b, "*/5 * * * *")
	loc := mustZone(b, "America/New_York")
	at := time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC)
	for b.Loop() {
		at = e.Next(at, loc)
	}
}

func BenchmarkNextLeapDay(b *testing.B) {
	e := mustParse(b, "0 0 29 2 *")
	loc := mustZone(b, "Europe/Berlin")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		e.Next(at, loc)
	}
}
