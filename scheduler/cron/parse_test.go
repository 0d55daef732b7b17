package cron

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const minInterval = 5 * time.Minute

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr     string
		want     string // String()
		wildcard bool
		gap      time.Duration
	}{
		{"*/5 * * * *", "*/5 * * * *", true, 5 * time.Minute},
		{"  0 9 * * MON-FRI\t", "0 9 * * MON-FRI", false, 24 * time.Hour},
		{"0 9 * * mon-fri", "0 9 * * MON-FRI", false, 24 * time.Hour},
		{"0 0 1 JAN *", "0 0 1 JAN *", false, 365 * 24 * time.Hour},
		{"0 0 1 jan,Jul *", "0 0 1 JAN,JUL *", false, 181 * 24 * time.Hour},
		{"0   12  *  *  *", "0 12 * * *", false, 24 * time.Hour},
		{"0 0 29 2 *", "0 0 29 2 *", false, 1461 * 24 * time.Hour}, // leap days only
		{"0 0 * * 7", "0 0 * * 7", false, 7 * 24 * time.Hour},
		{"0 0 * * 0", "0 0 * * 0", false, 7 * 24 * time.Hour},
		{"0 0 * * SUN", "0 0 * * SUN", false, 7 * 24 * time.Hour},
		{"0 0 * * 5-7", "0 0 * * 5-7", false, 24 * time.Hour},
		{"0,30 * * * *", "0,30 * * * *", true, 30 * time.Minute},
		{"0 */2 * * *", "0 */2 * * *", true, 2 * time.Hour},
		{"0 0-23 * * *", "0 0-23 * * *", false, time.Hour}, // fixed-time: no field starts with *
		{"5/15 * * * *", "5/15 * * * *", true, 15 * time.Minute},
		{"0-30/10 9-17 * * 1-5", "0-30/10 9-17 * * 1-5", false, 10 * time.Minute},
		{"55 23 * * *", "55 23 * * *", false, 24 * time.Hour},
		{"58 23 * * 1", "58 23 * * 1", false, 7 * 24 * time.Hour},
		// Across midnight: 23:58 and 00:03 are 5 minutes apart.
		{"3,58 0,23 * * *", "3,58 0,23 * * *", false, 5 * time.Minute},
		{"0 0 31 * *", "0 0 31 * *", false, 31 * 24 * time.Hour}, // 31 Jul -> 31 Aug
		{"0 0 * 2 MON", "0 0 * 2 MON", false, 7 * 24 * time.Hour},
		{"@hourly", "@hourly", true, time.Hour},
		{"@daily", "@daily", false, 24 * time.Hour},
		{"@midnight", "@daily", false, 24 * time.Hour},
		{"@WEEKLY", "@weekly", false, 7 * 24 * time.Hour},
		{"@monthly", "@monthly", false, 28 * 24 * time.Hour},
		{"@yearly", "@yearly", false, 365 * 24 * time.Hour},
		{"@annually", "@yearly", false, 365 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.expr, minInterval)
			if err != nil {
				t.Fatalf("Parse(%q) error = %v, want nil", tt.expr, err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := e.IsWildcard(); got != tt.wildcard {
				t.Errorf("IsWildcard() = %v, want %v", got, tt.wildcard)
			}
			if got := e.ShortestGap(); got != tt.gap {
				t.Errorf("ShortestGap() = %v, want %v", got, tt.gap)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want string // substring of the message
	}{
		{"", "cron is required"},
		{"   ", "cron is required"},
		{strings.Repeat("1,", 64) + "1 * * * *", "too long (137 characters); the maximum is 128"},
		{"0 0 * * * *", "cron must have exactly 5 fields (minute hour day-of-month month day-of-week); got 6 — seconds are not supported"},
		{"0 0 0 * * * 2026", "got 7 — seconds and years are not supported"},
		{"0 0 * *", "exactly 5 fields (minute hour day-of-month month day-of-week); got 4"},
		{"@every 1m", "@every is not supported; use a 5-field expression"},
		{"@every", "@every is not supported"},
		{"@reboot", "@reboot is not supported"},
		{"@fortnightly", `unknown macro "@fortnightly"; accepted macros are @hourly, @daily, @weekly, @monthly, @yearly`},
		{"@daily 5", "@daily takes no arguments"},
		{"0 0 ? * MON", "? is not supported; use * instead"},
		{"0 0 * * ?", "? is not supported"},
		{"0 0 L * *", "L (last day) is not supported"},
		{"0 0 * * 5L", "L (last day) is not supported"},
		{"0 0 * * FRIL", "L (last day) is not supported"},
		{"0 0 L-3 * *", "L (last day) is not supported"},
		{"0 0 15W * *", "W (nearest weekday) is not supported"},
		{"0 0 LW * *", "W (nearest weekday) is not supported"},
		{"0 0 * * MON#2", "# (nth weekday of the month, e.g. MON#2) is not supported"},
		{"0 0 * * 1#1", "# (nth weekday"},
		{"0 0 1 * MON", "day-of-month and day-of-week cannot both be restricted; use * for one of them"},
		{"0 0 */1 * 1-5", "day-of-month and day-of-week cannot both be restricted"},
		{"61 * * * *", "minute value 61 is out of range 0-59"},
		{"0 24 * * *", "hour value 24 is out of range 0-23"},
		{"0 0 0 * *", "day-of-month value 0 is out of range 1-31"},
		{"0 0 32 * *", "day-of-month value 32 is out of range 1-31"},
		{"0 0 * 13 *", "month value 13 is out of range 1-12 or JAN-DEC"},
		{"0 0 * 0 *", "month value 0 is out of range"},
		{"0 0 * * 8", "day-of-week value 8 is out of range 0-7 (0 and 7 are Sunday)"},
		{"99999999999999999999 * * * *", "minute value 99999999999999999999 is out of range 0-59"},
		{"-1 * * * *", "minute has a range with a missing value"},
		{"+5 * * * *", `minute value "+5" is not valid`},
		{"0 0 * FOO *", `month value "FOO" is not valid; use 1-12 or JAN-DEC`},
		{"0 0 * MON *", `month value "MON" is not valid`},
		{"0 0 * * JAN", `day-of-week value "JAN" is not valid`},
		{"0 0 * * MONDAY", `day-of-week value "MONDAY" is not valid`},
		{"0 0 * foo *", `month value "foo" is not valid`},
		{"0 0 * * ſun", `day-of-week value "ſun" is not valid`},
		{"0 17-9 * * *", "hour range 17-9 goes backwards"},
		{"*/0 * * * *", `minute step "0" is not valid; use a whole number from 1 to 60`},
		{"*/61 * * * *", `minute step "61" is not valid`},
		{"*/x * * * *", `minute step "x" is not valid`},
		{"*/5/2 * * * *", "more than one /"},
		{"1,,2 * * * *", "empty list item"},
		{"1-2-3 * * * *", `minute value "2-3" is not valid`},
		{"0 0 30 2 *", "never fires: day 30 of the month never occurs in February"},
		{"0 0 31 4 *", "never fires: day 31 of the month never occurs in April"},
		{"0 0 30,31 2 *", "never fires: days 30 and 31 of the month never occur in February"},
		{"0 0 31 4,6,9,11 *", "never occurs in April, June, September or November"},
		{"0-59 * * * *", "fires every 1m0s at its closest; the minimum interval is 5m0s"},
		{"* * * * *", "fires every 1m0s at its closest; the minimum interval is 5m0s"},
		{"*/4 * * * *", "fires every 4m0s at its closest"},
		{"0,3 * * * *", "fires every 3m0s at its closest"},
		{"*/7 * * * *", "fires every 4m0s at its closest"}, // 56 -> 0 of the next hour
		{"58 * * * *,", "day-of-week \"*,\" has an empty list item"},
		{"58,1 * * * *", "fires every 3m0s at its closest"}, // across the hour
		{"59 23 * * *,0 0 * * *", "exactly 5 fields"},
		{"0,59 0,23 * * *", "fires every 1m0s at its closest"}, // 23:59 -> 00:00 next day
		{"TZ=UTC 0 0 * * *", "got 6"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.expr, minInterval)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error containing %q", tt.expr, e, tt.want)
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q) error type %T, want *Error", tt.expr, err)
			}
			if perr.Field != "cron" {
				t.Errorf("Field = %q, want cron", perr.Field)
			}
			if !strings.Contains(perr.Message, tt.want) {
				t.Errorf("Parse(%q) message\n got: %s\nwant substring: %s", tt.expr, perr.Message, tt.want)
			}
		})
	}
}

func TestParseMinIntervalBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		min  time.Duration
		ok   bool
	}{
		{"*/5 * * * *", 5 * time.Minute, true},
		{"*/5 * * * *", 6 * time.Minute, false},
		{"* * * * *", 0, true}, // the check is off
		{"* * * * *", time.Minute, true},
		{"0 0 * * *", 24 * time.Hour, true},
		{"0 0 * * *", 25 * time.Hour, false},
		{"0 0 29 2 *", 4 * 365 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr, tt.min)
		if got := err == nil; got != tt.ok {
			t.Errorf("Parse(%q, %v) ok = %v, want %v (err %v)", tt.expr, tt.min, got, tt.ok, err)
		}
	}
}

// TestParseSundaySeven checks that 7 and 0 are the same day, also inside
// ranges and lists.
func TestParseSundaySeven(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{"0 0 * * 7", "0 0 * * 0"},
		{"0 0 * * 7", "0 0 * * SUN"},
		{"0 0 * * 5-7", "0 0 * * 0,5,6"},
		{"0 0 * * 0,7", "0 0 * * 0"},
		{"0 0 * * 0-7", "0 0 * * *"},
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range pairs {
		a, errA := Parse(p[0], minInterval)
		b, errB := Parse(p[1], minInterval)
		if errA != nil || errB != nil {
			t.Fatalf("Parse errors %v, %v", errA, errB)
		}
		if a.dow != b.dow {
			t.Errorf("%q day-of-week bits %07b, %q has %07b", p[0], a.dow, p[1], b.dow)
		}
		got, want := a.NextN(from, time.UTC, 10), b.NextN(from, time.UTC, 10)
		for i := range want {
			if !got[i].Equal(want[i]) {
				t.Errorf("%q fire %d = %v, %q gives %v", p[0], i, got[i], p[1], want[i])
			}
		}
	}
}

// TestParseErrorIsNilInterface guards against returning a typed nil *Error
// on success.
func TestParseErrorIsNilInterface(t *testing.T) {
	t.Parallel()
	if _, err := Parse("0 0 * * *", minInterval); err != nil {
		t.Fatalf("Parse error = %#v, want nil", err)
	}
}

func TestParseIsFast(t *testing.T) {
	t.Parallel()
	res := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if _, err := Parse("0 0 * 2 MON", minInterval); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Generous for -race and slow machines; the real cost is microseconds.
	if per := time.Duration(res.NsPerOp()); per > 20*time.Millisecond {
		t.Errorf("Parse takes %v per call, want well under 20ms", per)
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("*/15 9-17 * * MON-FRI", minInterval); err != nil {
			b.Fatal(err)
		}
	}
}
