package cron

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxLength is the longest cron expression accepted, in characters, after
// trimming.
const MaxLength = 128

// Expr is a parsed and validated cron expression. It is immutable and safe
// for concurrent use.
type Expr struct {
	text string

	// Bitsets of the matching values: bit n set means value n matches.
	// Day-of-week uses bits 0-6 (Sunday is 0; a 7 in the input sets bit 0).
	minute, hour, dom, month, dow uint64

	items    [numFields][]item
	wildcard bool
	minGap   time.Duration
}

// field identifies one of the five positions of an expression.
type field int

const (
	fieldMinute field = iota
	fieldHour
	fieldDom
	fieldMonth
	fieldDow
	numFields
)

// fieldSpec holds the bounds of a field. starMax differs from max only for
// day-of-week, where 7 is accepted as Sunday but * and N/step stop at 6 so
// that Sunday is not counted twice.
type fieldSpec struct {
	name     string
	min, max int
	starMax  int
	accepted string
}

func specOf(f field) fieldSpec {
	switch f {
	case fieldMinute:
		return fieldSpec{"minute", 0, 59, 59, "0-59"}
	case fieldHour:
		return fieldSpec{"hour", 0, 23, 23, "0-23"}
	case fieldDom:
		return fieldSpec{"day-of-month", 1, 31, 31, "1-31"}
	case fieldMonth:
		return fieldSpec{"month", 1, 12, 12, "1-12 or JAN-DEC"}
	default:
		return fieldSpec{"day-of-week", 0, 7, 6, "0-7 (0 and 7 are Sunday) or SUN-SAT"}
	}
}

var (
	monthAbbrev = [...]string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayAbbrev   = [...]string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

// item is one comma-separated element of a field, kept for Describe.
type item struct {
	star       bool // * or */n
	start, end int
	step       int
	single     bool // a plain value without range or step
}

// macros maps each accepted @macro to its canonical name and expansion.
func macro(name string) (canonical, expansion string, ok bool) {
	switch name {
	case "@yearly", "@annually":
		return "@yearly", "0 0 1 1 *", true
	case "@monthly":
		return "@monthly", "0 0 1 * *", true
	case "@weekly":
		return "@weekly", "0 0 * * 0", true
	case "@daily", "@midnight":
		return "@daily", "0 0 * * *", true
	case "@hourly":
		return "@hourly", "0 * * * *", true
	}
	return "", "", false
}

const acceptedMacros = "@hourly, @daily, @weekly, @monthly, @yearly"

// Parse parses and validates a 5-field cron expression (see the package
// documentation for the dialect). minInterval is the shortest gap allowed
// between two consecutive fires, computed in UTC from the actual fire times;
// zero or less disables the check. Every error is an *Error.
func Parse(expr string, minInterval time.Duration) (*Expr, error) {
	e, err := parse(expr, minInterval)
	if err != nil {
		// Returning a typed nil *Error as an error would make err != nil
		// true for callers even on success; keep the two paths apart.
		return nil, err
	}
	return e, nil
}

func parse(expr string, minInterval time.Duration) (*Expr, *Error) {
	s := strings.TrimSpace(expr)
	if s == "" {
		return nil, cronError("cron is required; enter 5 fields (minute hour day-of-month month day-of-week), for example 0 9 * * MON-FRI")
	}
	if n := utf8.RuneCountInString(s); n > MaxLength {
		return nil, cronError(fmt.Sprintf("cron is too long (%d characters); the maximum is %d", n, MaxLength))
	}
	fields := strings.Fields(s)
	text := ""
	if strings.HasPrefix(s, "@") {
		name := strings.ToLower(fields[0])
		switch name {
		case "@every":
			return nil, cronError("@every is not supported; use a 5-field expression such as */15 * * * *")
		case "@reboot":
			return nil, cronError("@reboot is not supported; use a 5-field expression or one of " + acceptedMacros)
		}
		canonical, expansion, ok := macro(name)
		if !ok {
			return nil, cronError(fmt.Sprintf("unknown macro %q; accepted macros are %s, or use a 5-field expression", fields[0], acceptedMacros))
		}
		if len(fields) > 1 {
			return nil, cronError(fmt.Sprintf("%s takes no arguments; write it alone or use a 5-field expression", canonical))
		}
		text = canonical
		fields = strings.Fields(expansion)
	}
	if len(fields) != int(numFields) {
		msg := fmt.Sprintf("cron must have exactly 5 fields (minute hour day-of-month month day-of-week); got %d", len(fields))
		switch len(fields) {
		case 6:
			msg += " — seconds are not supported"
		case 7:
			msg += " — seconds and years are not supported"
		}
		return nil, cronError(msg)
	}
	e := &Expr{}
	var sets [numFields]uint64
	for f := field(0); f < numFields; f++ {
		// Parse the text as typed so messages quote the user's input;
		// names are matched case-insensitively.
		items, set, err := parseField(f, fields[f])
		if err != nil {
			return nil, err
		}
		e.items[f] = items
		sets[f] = set
		fields[f] = strings.ToUpper(fields[f])
	}
	e.minute, e.hour, e.dom, e.month, e.dow = sets[0], sets[1], sets[2], sets[3], sets[4]
	if fields[fieldDom] != "*" && fields[fieldDow] != "*" {
		return nil, cronError("day-of-month and day-of-week cannot both be restricted; use * for one of them")
	}
	if text == "" {
		text = strings.Join(fields, " ")
	}
	e.text = text
	// Vixie cron decides wildcard-ness from the text, not the bitset:
	// "0-23" in the hour field is fixed-time even though it matches every hour.
	e.wildcard = strings.HasPrefix(fields[fieldMinute], "*") || strings.HasPrefix(fields[fieldHour], "*")

	gap, err := e.shortestGap()
	if err != nil {
		return nil, err
	}
	e.minGap = gap
	if minInterval > 0 && gap < minInterval {
		return nil, cronError(fmt.Sprintf("fires every %s at its closest; the minimum interval is %s", gap, minInterval))
	}
	return e, nil
}

// parseField parses one upper-cased field into its items and bitset.
func parseField(f field, text string) ([]item, uint64, *Error) {
	spec := specOf(f)
	var items []item
	var set uint64
	for _, part := range strings.Split(text, ",") {
		if part == "" {
			return nil, 0, cronError(fmt.Sprintf("%s %q has an empty list item; separate values with single commas, e.g. 1,15", spec.name, text))
		}
		if err := unsupported(f, strings.ToUpper(part)); err != nil {
			return nil, 0, err
		}
		it, err := parseItem(f, spec, part)
		if err != nil {
			return nil, 0, err
		}
		items = append(items, it)
		for v := it.start; v <= it.end; v += it.step {
			bit := v
			if f == fieldDow {
				bit = v % 7 // 7 is Sunday as well
			}
			set |= 1 << uint(bit)
		}
	}
	return items, set, nil
}

// unsupported recognizes the Quartz and extended-cron syntax that users paste
// from elsewhere, so the message can name it instead of saying "not a number".
func unsupported(f field, part string) *Error {
	switch {
	case strings.Contains(part, "?"):
		return cronError("? is not supported; use * instead")
	case strings.Contains(part, "#"):
		return cronError("# (nth weekday of the month, e.g. MON#2) is not supported; use a day-of-week such as MON or a list of days")
	}
	if f != fieldDom && f != fieldDow {
		return nil
	}
	trimmed := strings.TrimLeft(part, "0123456789")
	switch {
	case part == "LW" || (trimmed == "W" && len(part) > 1):
		return cronError("W (nearest weekday) is not supported; use day-of-month numbers or a day-of-week range such as MON-FRI")
	case part == "L" || strings.HasPrefix(part, "L-") || (trimmed == "L" && len(part) > 1) ||
		(f == fieldDow && len(part) == 4 && strings.HasSuffix(part, "L") && isDayName(part[:3])):
		return cronError("L (last day) is not supported; use day-of-month numbers such as 28 or a day-of-week such as FRI")
	}
	return nil
}

func isDayName(s string) bool {
	for _, d := range dayAbbrev {
		if s == d {
			return true
		}
	}
	return false
}

func parseItem(f field, spec fieldSpec, part string) (item, *Error) {
	rangePart, stepPart, hasStep := strings.Cut(part, "/")
	if strings.Contains(stepPart, "/") {
		return item{}, cronError(fmt.Sprintf("%s %q has more than one /; write a step as */15 or 0-30/5", spec.name, part))
	}
	it := item{step: 1}
	switch {
	case rangePart == "*":
		it.star = true
		it.start, it.end = spec.min, spec.starMax
	default:
		lo, hi, isRange := strings.Cut(rangePart, "-")
		start, err := parseValue(f, spec, lo)
		if err != nil {
			return item{}, err
		}
		it.start, it.end = start, start
		if isRange {
			end, err := parseValue(f, spec, hi)
			if err != nil {
				return item{}, err
			}
			if start > end {
				return item{}, cronError(fmt.Sprintf("%s range %s goes backwards; write the smaller value first (ranges do not wrap around, use a list such as 22-23,0-2)", spec.name, rangePart))
			}
			it.end = end
		} else if hasStep {
			// "N/step" means N through the maximum, as in most crons.
			it.end = spec.starMax
			if start > it.end {
				it.end = start
			}
		} else {
			it.single = true
		}
	}
	if hasStep {
		maxStep := spec.starMax - spec.min + 1
		n, ok := parseDigits(stepPart)
		if !ok || n < 1 || n > maxStep {
			return item{}, cronError(fmt.Sprintf("%s step %q is not valid; use a whole number from 1 to %d, e.g. */15", spec.name, stepPart, maxStep))
		}
		it.step = n
	}
	return it, nil
}

// parseValue parses a number or, for month and day-of-week, a three-letter
// English name.
func parseValue(f field, spec fieldSpec, s string) (int, *Error) {
	if n, ok := parseDigits(s); ok {
		if n < spec.min || n > spec.max {
			return 0, cronError(fmt.Sprintf("%s value %s is out of range %s", spec.name, strings.TrimLeft(s, "0")+zeroIfEmpty(s), spec.accepted))
		}
		return n, nil
	}
	var names []string
	switch f {
	case fieldMonth:
		names = monthAbbrev[:]
	case fieldDow:
		names = dayAbbrev[:]
	}
	for i, name := range names {
		// Compare ASCII only: EqualFold would also accept look-alikes such
		// as the long s in "ſun".
		if len(s) == len(name) && strings.ToUpper(s) == name {
			if f == fieldMonth {
				return i + 1, nil
			}
			return i, nil
		}
	}
	if s == "" {
		return 0, cronError(fmt.Sprintf("%s has a range with a missing value; use %s, *, lists (1,5), ranges (1-5) or steps (*/5)", spec.name, spec.accepted))
	}
	return 0, cronError(fmt.Sprintf("%s value %q is not valid; use %s, *, lists (1,5), ranges (1-5) or steps (*/5)", spec.name, s, spec.accepted))
}

func zeroIfEmpty(s string) string {
	if strings.TrimLeft(s, "0") == "" {
		return "0"
	}
	return ""
}

// parseDigits accepts only ASCII digits (no sign), so "+5" and "-1" are not
// numbers. Values too large for an int are reported as out of range.
func parseDigits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 1 << 30, true
	}
	return n, true
}

// String returns the normalized expression: single spaces between fields,
// names upper-cased, and macros in their canonical spelling (@annually is
// @yearly, @midnight is @daily).
func (e *Expr) String() string { return e.text }

// IsWildcard reports whether the minute or hour field starts with *, which
// makes the expression follow real time across DST changes (see the package
// documentation).
func (e *Expr) IsWildcard() bool { return e.wildcard }

// ShortestGap returns the shortest interval between two consecutive fires,
// computed in UTC.
func (e *Expr) ShortestGap() time.Duration { return e.minGap }

// matchesDay reports whether a calendar day matches the day-of-month,
// month and day-of-week fields. Parse guarantees that at most one of
// day-of-month and day-of-week is restricted, so a plain AND is the rule.
func (e *Expr) matchesDay(month time.Month, day int, wd time.Weekday) bool {
	return e.month&(1<<uint(month)) != 0 && e.dom&(1<<uint(day)) != 0 && e.dow&(1<<uint(wd)) != 0
}

// nextBit returns the smallest set bit of set that is >= from, or -1.
func nextBit(set uint64, from int) int {
	if from > 63 {
		return -1
	}
	rest := set >> uint(from) << uint(from)
	if rest == 0 {
		return -1
	}
	return bits.TrailingZeros64(rest)
}
