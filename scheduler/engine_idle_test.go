package scheduler_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"extcron/scheduler"
)

// An engine with nothing due looks at the database only when something is
// due, woken or at the poll interval: its loops must not wake each other
// into a spin of empty claims (each a transaction), whatever the number
// of loops sharing the worker slots.
func TestIdleEngineDoesNotSpin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.create(e.admin, e.ext, "0 9 * * *", "UTC", nil) // due tomorrow
	reg := prometheus.NewRegistry()
	opts := e.options()
	opts.PollInterval = time.Second
	opts.Metrics = scheduler.NewMetrics(reg)
	e.start(opts, nil)
	time.Sleep(1500 * time.Millisecond)
	// Each of the three claiming loops looks once at start, then about
	// once per poll interval (±20%); lease recovery's checks are not
	// claims. A spin makes thousands, so the bound leaves room for a slow
	// machine.
	idle := claims(t, reg)
	if idle > 30 {
		t.Errorf("%d claims in 1.5 s with nothing due; want a handful", idle)
	}
	// A wake-up (a changed schedule, run-now) costs a look, not a spin.
	for range 5 {
		e.at(e.clock.Now().Add(time.Second))
	}
	before := claims(t, reg)
	time.Sleep(1500 * time.Millisecond)
	woken := claims(t, reg) - before
	if woken > 30 {
		t.Errorf("%d claims in the 1.5 s after five wake-ups; want a handful", woken)
	}
	t.Logf("claims in 1.5 s: %d idle, %d after five wake-ups", idle, woken)
}

// claims is the number of claim transactions the engine has run, empty
// or not.
func claims(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		if f.GetName() != "extcron_claim_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			n += int(m.GetHistogram().GetSampleCount())
		}
	}
	return n
}
