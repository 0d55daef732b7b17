package restarttest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"extcron/db/dbtest"
	"extcron/db/dbtest/fixture"
	"extcron/runner"
	"extcron/scheduler"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// TestDatabaseRestart: PostgreSQL stops while runs are in flight and a
// fire time passes while it is down. The engine reconnects, writes the
// results it held, fires the missed slot, and no run is lost or doubled.
func TestDatabaseRestart(t *testing.T) {
	// Overlap "allow": whether the second fire time is claimed before the
	// first runs' results are written back depends on who reconnects
	// first; with "skip" it would (rightly) be skipped.
	d := dbtest.New(t)
	conn := d.DB
	ctx := context.Background()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":200,"body_b64":"e30="}`))
	}))
	defer srv.Close()

	admin := fixture.Tenant(t, conn, "")
	ext := fixture.Publish(t, conn, "tasks", "1.0.0", fixture.DefaultEndpoints, nil)
	in := fixture.Install(t, conn, admin, ext)
	const n = 20
	ids, keys := make([]string, n), make([]string, n)
	for i := range ids {
		id := uuid.New()
		ids[i], keys[i] = id.String(), scheduler.Key(in.InstallID, id)
	}
	t0 := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)
	if _, err := conn.ExecContext(ctx, `
		INSERT INTO tenant_extension_schedule (tenant_id, id, install_id, endpoint_id, cron, timezone, overlap_policy)
		SELECT $1, x::uuid, $2, $3, '*/5 * * * *', 'UTC', 'allow' FROM unnest($4::text[]) AS x`,
		admin.TenantID, in.InstallID, ext.Endpoints["POST /sync"], pq.Array(ids)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `
		INSERT INTO scheduler_timer (tenant_id, key, schedule_id, next_fire_at)
		SELECT $1, k, s::uuid, $2 FROM unnest($3::text[], $4::text[]) AS u(k, s)`,
		admin.TenantID, t0, pq.Array(keys), pq.Array(ids)); err != nil {
		t.Fatal(err)
	}

	c := &clock{t: t0.Add(time.Second)}
	eng := scheduler.NewEngine(conn, runner.NewClient(srv.URL, 5*time.Second, 0, nil), scheduler.Options{
		Now: c.Now, DatabaseURL: d.URL, PollInterval: 50 * time.Millisecond, LeaseDuration: 48 * time.Hour,
		TenantConcurrency: 50, ReconcileInterval: -1, Logger: fixture.Quiet()})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop()

	// Every schedule's first fire time must be recorded before the
	// database goes: one still due when the clock jumps is rightly missed
	// (catch-up latest keeps the on-time 10:10 only), which is not what
	// this test is about.
	waitFor(t, "every first fire time recorded, calls in flight", func() bool {
		var recorded int
		err := conn.GetContext(ctx, &recorded, `SELECT count(*) FROM tenant_extension_schedule_run`)
		return err == nil && recorded == n && calls.Load() >= 5
	})
	cluster := dbtest.Cluster()
	if err := cluster.Stop(); err != nil {
		t.Fatalf("stop cluster: %v", err)
	}
	c.Set(t0.Add(5*time.Minute + time.Second)) // a fire time passes while down
	time.Sleep(time.Second)                    // the engine sees errors and backs off
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := cluster.Start(startCtx); err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	eng.Wake()
	count := func(q string) int {
		var v int
		if err := conn.GetContext(ctx, &v, q); err != nil {
			return -1
		}
		return v
	}
	dump := func() {
		var rows []struct {
			Status string `db:"status"`
			N      int    `db:"n"`
		}
		_ = conn.SelectContext(ctx, &rows, `SELECT status || ' ' || attempt || ' ' || scheduled_for::text || ' ' || coalesce(lease_owner, '-') AS status, count(*) AS n FROM tenant_extension_schedule_run GROUP BY 1`)
		t.Logf("runs: %+v; timers due: %d; calls %d", rows, count(`SELECT count(*) FROM scheduler_timer WHERE next_fire_at <= '2026-06-01T10:10:01Z'`), calls.Load())
	}
	deadline := time.Now().Add(45 * time.Second)
	for count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'success'`) != 2*n {
		if time.Now().After(deadline) {
			dump()
			t.Fatalf("timed out waiting for both fire times of every schedule to succeed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := count(`SELECT count(*) FROM tenant_extension_schedule_run`); got != 2*n {
		t.Fatalf("runs = %d, want %d", got, 2*n)
	}
	if got := count(`SELECT count(*) FROM (SELECT 1 FROM tenant_extension_schedule_run
		GROUP BY schedule_id, scheduled_for HAVING count(*) <> 1) x`); got != 0 {
		t.Fatalf("%d doubled fire times", got)
	}
	if got := calls.Load(); got != 2*n {
		t.Fatalf("runner calls = %d, want %d", got, 2*n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
