package cron

import (
	"fmt"
	"strings"
	"time"
)

// The day-level search covers 28 consecutive years inside 1901-2099. In
// that range the Gregorian calendar repeats every 28 years, so the window
// holds every kind of year (7 starting weekdays, leap or not) and every
// transition between them: the smallest gap between matching days found here
// is the smallest there is. Year 2100 (not a leap year) only makes some gaps
// longer, never shorter.
const (
	gapWindowStart = 2001
	gapWindowYears = 28
)

// shortestGap computes the smallest interval between consecutive fires in
// UTC, and reports an expression that never fires.
func (e *Expr) shortestGap() (time.Duration, *Error) {
	// Matching minutes of a day, in order.
	var times []int
	for h := nextBit(e.hour, 0); h >= 0; h = nextBit(e.hour, h+1) {
		for m := nextBit(e.minute, 0); m >= 0; m = nextBit(e.minute, m+1) {
			times = append(times, h*60+m)
		}
	}
	best := -1
	for i := 1; i < len(times); i++ {
		if g := times[i] - times[i-1]; best < 0 || g < best {
			best = g
		}
	}

	// Smallest number of days between two consecutive matching days.
	minDays, prev, day, matched := -1, -1, 0, false
	wd := time.Date(gapWindowStart, 1, 1, 0, 0, 0, 0, time.UTC).Weekday()
	for y := gapWindowStart; y < gapWindowStart+gapWindowYears; y++ {
		for m := time.January; m <= time.December; m++ {
			n := daysIn(y, m)
			if e.month&(1<<uint(m)) == 0 {
				day += n
				wd = (wd + time.Weekday(n)) % 7
				continue
			}
			for d := 1; d <= n; d++ {
				if e.matchesDay(m, d, wd) {
					matched = true
					if prev >= 0 && (minDays < 0 || day-prev < minDays) {
						minDays = day - prev
					}
					prev = day
				}
				day++
				wd = (wd + 1) % 7
			}
		}
	}
	if !matched {
		return 0, e.neverFires()
	}
	if minDays > 0 {
		if g := minDays*24*60 + times[0] - times[len(times)-1]; best < 0 || g < best {
			best = g
		}
	}
	return time.Duration(best) * time.Minute, nil
}

// neverFires explains why no day matches. Only a restricted day-of-month can
// cause it (every month has every weekday), so the message names the days
// and months.
func (e *Expr) neverFires() *Error {
	var days, months []string
	for d := nextBit(e.dom, 1); d >= 0; d = nextBit(e.dom, d+1) {
		days = append(days, fmt.Sprint(d))
	}
	for m := nextBit(e.month, 1); m >= 0; m = nextBit(e.month, m+1) {
		months = append(months, time.Month(m).String())
	}
	noun, verb := "day", "occurs"
	if len(days) > 1 {
		noun, verb = "days", "occur"
	}
	return cronError(fmt.Sprintf("never fires: %s %s of the month never %s in %s; choose days that exist in the selected months",
		noun, joinAnd(days), verb, joinOr(months)))
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func joinAnd(parts []string) string { return joinWith(parts, "and") }

func joinOr(parts []string) string { return joinWith(parts, "or") }

func joinWith(parts []string, conj string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " " + conj + " " + parts[len(parts)-1]
}
