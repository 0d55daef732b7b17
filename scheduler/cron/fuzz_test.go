package cron

import (
	"fmt"
	"strings"
	"testing"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// robfigStarBit is the flag robfig/cron sets on fields written as *.
const robfigStarBit = 1 << 63

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"*/5 * * * *", "0 9 * * MON-FRI", "0 0 1 JAN *", "0 0 29 2 *", "0 0 30 2 *", "0 0 31 4 *",
		"0 0 * * 7", "0 0 * * 5-7", "0-59 * * * *", "*/4 * * * *", "0 0 * * * *", "@every 1m",
		"@reboot", "@daily", "@Annually", "0 0 ? * *", "0 0 L * *", "0 0 * * 1#2", "0 0 1 * 1",
		"61 * * * *", "5/15 1-3 * * *", "0,30 0-3 * * *", "0 0 */3 * *", "0 0 * * 7/1", "0-30/10,45 9-17/2 * * *",
		"0 2 * * sun", "  30\t2 * * *  ", "0 0 1-31/31 * *",
	} {
		f.Add(seed)
	}
	zones := []*time.Location{time.UTC}
	for _, name := range []string{"America/New_York", "Australia/Lord_Howe", "Africa/Cairo", "America/Havana"} {
		zones = append(zones, mustZone(f, name))
	}
	instants := []time.Time{
		time.Date(2026, 3, 8, 6, 59, 59, 0, time.UTC),
		time.Date(2026, 4, 4, 14, 30, 0, 500, time.UTC),
		time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC),
		time.Date(2027, 2, 28, 23, 59, 0, 0, time.UTC),
	}
	f.Fuzz(func(t *testing.T, input string) {
		e, err := Parse(input, 0)
		if _, errMin := Parse(input, 5*time.Minute); err != nil {
			if errMin == nil {
				t.Fatalf("Parse(%q) accepted with a minimum interval but rejected without: %v", input, err)
			}
			if perr, ok := err.(*Error); !ok || perr.Message == "" {
				t.Fatalf("Parse(%q) error %#v is not an *Error with a message", input, err)
			}
			return
		}
		_ = e.Describe()

		// The normalized form parses to the same expression.
		again, err := Parse(e.String(), 0)
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", e.String(), input, err)
		}
		if again.minute != e.minute || again.hour != e.hour || again.dom != e.dom || again.month != e.month || again.dow != e.dow || again.wildcard != e.wildcard {
			t.Fatalf("String() %q of %q parses differently", e.String(), input)
		}

		// robfig/cron's standard parser accepts it too, with the same bits.
		// It knows day-of-week only as 0-6, so a 7 is the one allowed
		// difference: then the explicit list form must be accepted.
		sched, rerr := robfig.ParseStandard(e.String())
		if rerr != nil {
			dow := strings.Fields(e.String())
			if len(dow) != 5 || !strings.Contains(dow[4], "7") {
				t.Fatalf("robfig rejects %q (from %q): %v", e.String(), input, rerr)
			}
			sched, rerr = robfig.ParseStandard(explicit(e))
			if rerr != nil {
				t.Fatalf("robfig rejects %q (explicit form of %q): %v", explicit(e), input, rerr)
			}
		}
		spec, ok := sched.(*robfig.SpecSchedule)
		if !ok {
			t.Fatalf("robfig returned %T for %q", sched, input)
		}
		got := [5]uint64{e.minute, e.hour, e.dom, e.month, e.dow}
		want := [5]uint64{spec.Minute, spec.Hour, spec.Dom, spec.Month, spec.Dow}
		for i := range want {
			if want[i]&^robfigStarBit != got[i] {
				t.Fatalf("%q field %d: bits %b, robfig has %b", input, i, got[i], want[i]&^robfigStarBit)
			}
		}

		for _, loc := range zones {
			for _, in := range instants {
				next := e.Next(in, loc)
				if next.IsZero() || !next.After(in) {
					t.Fatalf("%q in %s: Next(%v) = %v, want a time after it", input, loc, in, next)
				}
				if again := e.Next(next, loc); again.IsZero() || !again.After(next) {
					t.Fatalf("%q in %s: Next(%v) = %v, want a time after it", input, loc, next, again)
				}
			}
		}
	})
}

// explicit writes the expression as plain lists of numbers.
func explicit(e *Expr) string {
	list := func(set uint64, min, max int) string {
		var parts []string
		for v := nextBit(set, min); v >= 0 && v <= max; v = nextBit(set, v+1) {
			parts = append(parts, fmt.Sprint(v))
		}
		return strings.Join(parts, ",")
	}
	return strings.Join([]string{
		list(e.minute, 0, 59), list(e.hour, 0, 23), list(e.dom, 1, 31), list(e.month, 1, 12), list(e.dow, 0, 6),
	}, " ")
}
