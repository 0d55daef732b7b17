package scheduler

import (
	"testing"
	"time"
)

// Loops that claim at the same moment on an idle engine each get worker
// slots: one claim booking every free slot left the others waiting, and
// due timers late by up to 100 ms each time. The slots booked never
// exceed the workers, and a busy engine lets slots add up first.
func TestReserveSharesFreeSlots(t *testing.T) {
	e := NewEngine(nil, nil, Options{Workers: 1000, BatchSize: 1000})
	var got []int
	for range 3 {
		n, contended := e.reserve()
		if n == 0 || contended {
			t.Fatalf("claim %d of an idle engine got %d slots (contended %v); bookings so far %v", len(got)+1, n, contended, got)
		}
		got = append(got, n)
	}
	if total := got[0] + got[1] + got[2]; total > 1000 {
		t.Fatalf("booked %v = %d slots of 1000 workers", got, total)
	}
	for _, n := range got {
		e.unreserve(n, 0)
	}

	// Busy: 990 calls in flight leave 10 free, under the threshold (64).
	for i := range 990 {
		e.inflight[runKey{id: [16]byte{byte(i >> 8), byte(i)}}] = struct{}{}
	}
	if n, contended := e.reserve(); n != 0 || contended {
		t.Fatalf("busy engine: %d slots (contended %v), want none and not contended", n, contended)
	}
}

// Retries back off exponentially from RetryBase, capped at RetryMax, with
// ±25% jitter, so many runs failing together do not retry together.
func TestRetryDelayDoublesWithJitterAndCap(t *testing.T) {
	e := NewEngine(nil, nil, Options{RetryBase: 10 * time.Second, RetryMax: 5 * time.Minute})
	for attempt, want := range map[int]time.Duration{
		1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 4: 80 * time.Second,
		5: 160 * time.Second, 6: 5 * time.Minute, 9: 5 * time.Minute,
	} {
		lo, hi := want-want/4, want+want/4
		seen := map[time.Duration]bool{}
		for range 200 {
			d := e.retryDelay(attempt)
			if d < lo || d > hi {
				t.Fatalf("attempt %d: delay %s outside %s–%s", attempt, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 50 {
			t.Fatalf("attempt %d: only %d distinct delays in 200; the jitter is missing", attempt, len(seen))
		}
	}
}
