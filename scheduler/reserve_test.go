package scheduler

import "testing"

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
