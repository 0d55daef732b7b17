package cron

import (
	"math"
	"time"
)

const (
	// searchHorizon bounds Next. A validated expression fires at least once
	// every 8 years (29 February across 2100), so 30 years is generous and
	// still cheap: whole months and days are skipped at once.
	searchHorizon = 30 * 366 * 24 * 3600
	// maxOffset is larger than any UTC offset in the tz database, local mean
	// times included (the largest is about 15h56m).
	maxOffset = 18 * 3600
)

// span is a period with one UTC offset: instants in [start, end) have wall
// clock instant+off. Unbounded ends are math.MinInt64 / math.MaxInt64.
type span struct {
	off, start, end int64
}

func spanAt(loc *time.Location, t int64) span {
	tm := time.Unix(t, 0).In(loc)
	_, off := tm.Zone()
	s, e := tm.ZoneBounds()
	sp := span{off: int64(off), start: math.MinInt64, end: math.MaxInt64}
	if !s.IsZero() {
		sp.start = s.Unix()
	}
	if !e.IsZero() {
		sp.end = e.Unix()
	}
	// ZoneBounds can return a span that does not contain t at a year
	// boundary far beyond the transition table (seen for 2401-01-01 in
	// America/New_York). The offset itself is right, so clamp the bounds to
	// keep the search advancing.
	if sp.end <= t {
		sp.end = t + 1
	}
	if sp.start > t {
		sp.start = t
	}
	return sp
}

// Next returns the first fire time strictly after after, computed in loc
// (UTC when loc is nil) with the DST rules described in the package
// documentation. The result is in loc. It returns the zero time only when
// nothing fires within 30 years, which Parse's validation rules out.
//
// Wall-clock times are handled as "naive" Unix seconds: the wall time read
// as if it were UTC. The search walks the zone's offset spans in order; in
// each span an instant's wall time is instant+offset, so the first matching
// wall time in the span gives the first candidate instant directly.
func (e *Expr) Next(after time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	// Fire times are whole seconds, so after+1s rounded down is the first
	// possible one; Unix() rounds down also for sub-second inputs.
	t := after.Unix() + 1
	limit := t + searchHorizon
	for t < limit {
		sp := spanAt(loc, t)
		if !e.wildcard && sp.start == t {
			prev := spanAt(loc, t-1)
			// A forward jump removes wall times [t+prev.off, t+sp.off); a
			// fixed-time job due in there fires at the end of the gap.
			if prev.off < sp.off && e.gapFires(loc, t+prev.off, t+sp.off) {
				return time.Unix(t, 0).In(loc)
			}
		}
		hi := limit + sp.off
		if sp.end < limit {
			hi = sp.end + sp.off
		}
		for w, ok := e.nextWall(t+sp.off, hi); ok; w, ok = e.nextWall(w+60, hi) {
			inst := w - sp.off
			// A fixed-time job fires only at the first occurrence of a
			// wall time that a backward jump repeats.
			if e.wildcard || firstOccurrence(loc, w) == inst {
				return time.Unix(inst, 0).In(loc)
			}
		}
		if sp.end == math.MaxInt64 {
			break
		}
		t = sp.end
	}
	return time.Time{}
}

// NextN returns the next n fire times after after, in order. It stops early
// only if Next finds nothing.
func (e *Expr) NextN(after time.Time, loc *time.Location, n int) []time.Time {
	var out []time.Time
	for range n {
		next := e.Next(after, loc)
		if next.IsZero() {
			break
		}
		out = append(out, next)
		after = next
	}
	return out
}

// gapFires reports whether a matching wall time in [lo, hi) does not exist
// at any instant. Checking existence, not just the gap, keeps a wall time
// that a later backward jump brings back from firing twice.
func (e *Expr) gapFires(loc *time.Location, lo, hi int64) bool {
	for w, ok := e.nextWall(lo, hi); ok; w, ok = e.nextWall(w+60, hi) {
		if firstOccurrence(loc, w) == math.MinInt64 {
			return true
		}
	}
	return false
}

// firstOccurrence returns the earliest instant whose wall clock in loc is
// the naive time w, or math.MinInt64 if w does not exist.
func firstOccurrence(loc *time.Location, w int64) int64 {
	for t := w - maxOffset; t <= w+maxOffset; {
		sp := spanAt(loc, t)
		if c := w - sp.off; c >= sp.start && c < sp.end {
			return c
		}
		if sp.end == math.MaxInt64 {
			break
		}
		t = sp.end
	}
	return math.MinInt64
}

// nextWall returns the first matching naive wall time w with lo <= w < hi,
// on a whole minute.
func (e *Expr) nextWall(lo, hi int64) (int64, bool) {
	lo = ceilDiv(lo, 60) * 60
	if lo >= hi {
		return 0, false
	}
	start := time.Unix(lo, 0).UTC()
	y, mo, d := start.Date()
	h, mi := start.Hour(), start.Minute()
	for {
		day := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
		dayStart := day.Unix()
		if dayStart >= hi {
			return 0, false
		}
		y, mo, d = day.Date() // normalized after a month or day overflow
		if e.month&(1<<uint(mo)) == 0 {
			mo, d, h, mi = mo+1, 1, 0, 0
			continue
		}
		if !e.matchesDay(mo, d, day.Weekday()) {
			d, h, mi = d+1, 0, 0
			continue
		}
		hour := nextBit(e.hour, h)
		if hour < 0 || hour > 23 {
			d, h, mi = d+1, 0, 0
			continue
		}
		if hour != h {
			mi = 0
		}
		minute := nextBit(e.minute, mi)
		if minute < 0 || minute > 59 {
			h, mi = hour+1, 0
			continue
		}
		w := dayStart + int64(hour)*3600 + int64(minute)*60
		if w >= hi {
			return 0, false
		}
		return w, true
	}
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a > 0) == (b > 0) {
		q++
	}
	return q
}
