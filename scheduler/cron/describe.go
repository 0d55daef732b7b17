package cron

import (
	"fmt"
	"math/bits"
	"time"
)

// maxListedTimes is how many HH:MM times a description lists before it
// switches to describing minutes and hours separately.
const maxListedTimes = 6

// Describe returns an English description of the expression, such as
// "At 09:00, Monday through Friday" or "Every 15 minutes". Common shapes get
// natural phrasing; anything else falls back to a field-by-field wording.
// Times are wall-clock times in the schedule's zone.
func (e *Expr) Describe() string {
	return e.describeTime() + e.describeDays() + e.describeMonths()
}

func (e *Expr) describeTime() string {
	mins, hours := e.items[fieldMinute], e.items[fieldHour]
	minSingles, hourSingles := allSingles(mins), allSingles(hours)
	nMin, nHour := bits.OnesCount64(e.minute), bits.OnesCount64(e.hour)
	hourEvery := isPlainStar(hours)

	switch {
	case minSingles && hourSingles && nMin*nHour <= maxListedTimes:
		var times []string
		for h := nextBit(e.hour, 0); h >= 0; h = nextBit(e.hour, h+1) {
			for m := nextBit(e.minute, 0); m >= 0; m = nextBit(e.minute, m+1) {
				times = append(times, clock(h, m))
			}
		}
		return "At " + joinAnd(times)
	case minSingles && hourEvery:
		if e.minute == 1<<0 { // minute 0 only
			return "Every hour, on the hour"
		}
		return fmt.Sprintf("At %s past every hour", plural("minute", nMin)+" "+e.listText(fieldMinute))
	case minSingles && isStarStep(hours):
		step := hours[0].step
		if e.minute == 1<<0 {
			return fmt.Sprintf("Every %d hours, on the hour", step)
		}
		return fmt.Sprintf("At %s past every %d hours", plural("minute", nMin)+" "+e.listText(fieldMinute), step)
	case minSingles && isSingleRange(hours):
		return fmt.Sprintf("At %s past every hour between %s and %s", plural("minute", nMin)+" "+e.listText(fieldMinute),
			clock(hours[0].start, 0), clock(hours[0].end, 59))
	}

	var every, sep string
	switch {
	case isPlainStar(mins):
		every, sep = "Every minute", " "
	case isStarStep(mins):
		every, sep = fmt.Sprintf("Every %d minutes", mins[0].step), " "
	case len(mins) == 1 && mins[0].step > 1:
		every, sep = fmt.Sprintf("Every %d minutes from minute %d through %d", mins[0].step, mins[0].start, mins[0].end), ", "
	}
	if every != "" {
		switch {
		case hourEvery:
			return every
		case isSingleRange(hours):
			return fmt.Sprintf("%s%sbetween %s and %s", every, sep, clock(hours[0].start, 0), clock(hours[0].end, 59))
		case hourSingles && nHour == 1:
			return fmt.Sprintf("%s%sbetween %s and %s", every, sep, clock(hours[0].start, 0), clock(hours[0].start, 59))
		case isStarStep(hours):
			return fmt.Sprintf("%s, every %d hours", every, hours[0].step)
		}
		return fmt.Sprintf("%s, during %s %s", every, plural("hour", nHour), e.listText(fieldHour))
	}
	// Generic fallback: name each field's items.
	hourPart := "every hour"
	if !hourEvery {
		hourPart = plural("hour", nHour) + " " + e.listText(fieldHour)
	}
	return fmt.Sprintf("At %s past %s", plural("minute", nMin)+" "+e.listText(fieldMinute), hourPart)
}

func (e *Expr) describeDays() string {
	if dom := e.items[fieldDom]; !isPlainStar(dom) {
		n := bits.OnesCount64(e.dom)
		if isStarStep(dom) {
			return fmt.Sprintf(" on every %s day of the month", ordinal(dom[0].step))
		}
		return fmt.Sprintf(" on %s %s of the month", plural("day", n), e.listText(fieldDom))
	}
	dow := e.items[fieldDow]
	switch {
	case isPlainStar(dow):
		return ""
	case isSingleRange(dow):
		return ", " + e.itemText(fieldDow, dow[0])
	case allSingles(dow) && len(dow) == 1:
		return ", only on " + e.itemText(fieldDow, dow[0])
	}
	return ", on " + e.listText(fieldDow)
}

func (e *Expr) describeMonths() string {
	months := e.items[fieldMonth]
	switch {
	case isPlainStar(months):
		return ""
	case isSingleRange(months):
		return ", " + e.itemText(fieldMonth, months[0])
	case allSingles(months):
		return ", only in " + e.listText(fieldMonth)
	}
	return ", in " + e.listText(fieldMonth)
}

// listText joins the field's items. A field of plain values is listed from
// its bitset, so "5,1" reads "1 and 5" and duplicates disappear.
func (e *Expr) listText(f field) string {
	items := e.items[f]
	var parts []string
	if allSingles(items) {
		set := e.bitset(f)
		for v := nextBit(set, 0); v >= 0; v = nextBit(set, v+1) {
			parts = append(parts, valueName(f, v))
		}
		return joinAnd(parts)
	}
	for _, it := range items {
		parts = append(parts, e.itemText(f, it))
	}
	return joinAnd(parts)
}

func (e *Expr) bitset(f field) uint64 {
	switch f {
	case fieldMinute:
		return e.minute
	case fieldHour:
		return e.hour
	case fieldDom:
		return e.dom
	case fieldMonth:
		return e.month
	}
	return e.dow
}

func (e *Expr) itemText(f field, it item) string {
	switch {
	case it.star && it.step == 1:
		return "every " + specOf(f).name
	case it.star:
		return fmt.Sprintf("every %s %s", ordinal(it.step), specOf(f).name)
	case it.single:
		return valueName(f, it.start)
	case it.step == 1:
		return valueName(f, it.start) + " through " + valueName(f, it.end)
	}
	return fmt.Sprintf("every %s %s from %s through %s", ordinal(it.step), specOf(f).name, valueName(f, it.start), valueName(f, it.end))
}

func valueName(f field, v int) string {
	switch f {
	case fieldMonth:
		return time.Month(v).String()
	case fieldDow:
		return time.Weekday(v % 7).String()
	}
	return fmt.Sprint(v)
}

func allSingles(items []item) bool {
	for _, it := range items {
		if !it.single {
			return false
		}
	}
	return true
}

func isPlainStar(items []item) bool {
	return len(items) == 1 && items[0].star && items[0].step == 1
}

func isStarStep(items []item) bool {
	return len(items) == 1 && items[0].star && items[0].step > 1
}

func isSingleRange(items []item) bool {
	return len(items) == 1 && !items[0].star && !items[0].single && items[0].step == 1 && items[0].end > items[0].start
}

func clock(h, m int) string { return fmt.Sprintf("%02d:%02d", h, m) }

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
