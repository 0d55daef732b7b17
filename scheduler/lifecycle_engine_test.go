package scheduler_test

import (
	"context"
	"testing"
	"time"

	"extcron/db/dbtest/fixture"
)

// TestInstallDisableEnableThroughTheEngine: disabling an install pauses
// its timers (no run, not even a failed one, while disabled); enabling it
// resumes from the next future fire time, without a burst of the fire
// times that passed.
func TestInstallDisableEnableThroughTheEngine(t *testing.T) {
	t.Parallel()
	e := setup(t)
	installs := fixture.Installs(e.conn)
	installs.SetHooks(e.svc)
	ctx := context.Background()
	id := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", nil)
	e.start(e.options(), nil)

	e.at(time.Date(2026, 6, 1, 10, 5, 1, 0, time.UTC))
	eventually(t, 10*time.Second, "the 10:05 run", e.settled(e.admin.TenantID, id, 1))

	if _, err := installs.Disable(ctx, e.admin, e.ext.Slug); err != nil {
		t.Fatal(err)
	}
	// Five fire times pass while the install is disabled.
	for m := 10; m <= 30; m += 5 {
		e.at(time.Date(2026, 6, 1, 10, m, 1, 0, time.UTC))
	}
	time.Sleep(200 * time.Millisecond) // give a wrong engine the chance to fire
	if n := len(e.runs(e.admin.TenantID, id)); n != 1 {
		t.Fatalf("%d runs while the install was disabled, want only the one before (%s)", n, statuses(e.runs(e.admin.TenantID, id)))
	}

	if _, err := installs.Enable(ctx, e.admin, e.ext.Slug); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.runs(e.admin.TenantID, id)); n != 1 {
		t.Fatalf("enabling back-filled %d runs (%s)", n-1, statuses(e.runs(e.admin.TenantID, id)))
	}
	e.at(time.Date(2026, 6, 1, 10, 35, 1, 0, time.UTC))
	eventually(t, 10*time.Second, "the first run after enabling", e.settled(e.admin.TenantID, id, 2))
	runs := e.runs(e.admin.TenantID, id)
	if len(runs) != 2 || !runs[1].ScheduledFor.Equal(time.Date(2026, 6, 1, 10, 35, 0, 0, time.UTC)) {
		t.Fatalf("runs after enabling: %s, want one more, for 10:35", statuses(runs))
	}
	if n := len(e.runner.callsFor(id)); n != 2 {
		t.Fatalf("runner called %d times, want 2", n)
	}
}
