package scheduler_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"extcron/account"
	"extcron/db"
	"extcron/db/dbtest"
	"extcron/db/dbtest/fixture"
	"extcron/runner"
	"extcron/schedule"
	"extcron/scheduler"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChildEngine()
		return
	}
	dbtest.Main(m)
}

// clock is the injected clock shared by a test's engines and services.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// call is one request the loopback runner received.
type call struct {
	Req     runner.Request
	Header  http.Header
	Arrived time.Time
	Ended   time.Time // when the runner was done with it (answered, or the caller gave up)
}

// answer is how the loopback runner answers one call.
type answer struct {
	Status int    // runner HTTP status (200 when 0)
	Body   string // raw body; when empty, an extension 200 {"ok":true}
	Empty  bool   // answer an empty body
	Hang   <-chan struct{}
	Sleep  time.Duration
}

// fakeRunner is a loopback runner implementing POST /v1/execute: it records
// every call and answers per schedule (the respond func), 200 by default.
type fakeRunner struct {
	*httptest.Server
	mu      sync.Mutex
	calls   []call
	respond func(runner.Request) answer
}

func newFakeRunner(t testing.TB) *fakeRunner {
	f := &fakeRunner{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != runner.ExecutePath {
			http.NotFound(w, r)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		var req runner.Request
		if err := json.Unmarshal(raw, &req); err != nil {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.calls = append(f.calls, call{Req: req, Header: r.Header.Clone(), Arrived: time.Now()})
		n := len(f.calls) - 1
		respond := f.respond
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.calls[n].Ended = time.Now()
			f.mu.Unlock()
		}()
		a := answer{}
		if respond != nil {
			a = respond(req)
		}
		if a.Hang != nil {
			select {
			case <-a.Hang:
			case <-r.Context().Done():
				return
			}
		}
		if a.Sleep > 0 {
			time.Sleep(a.Sleep)
		}
		if a.Status == 0 {
			a.Status = 200
		}
		if a.Body == "" && !a.Empty {
			a.Body = `{"status":200,"body_b64":"` + base64.StdEncoding.EncodeToString([]byte(`{"ok":true}`)) + `"}`
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.Status)
		_, _ = io.WriteString(w, a.Body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRunner) setRespond(fn func(runner.Request) answer) {
	f.mu.Lock()
	f.respond = fn
	f.mu.Unlock()
}

// callsFor returns the calls of one schedule, in arrival order.
func (f *fakeRunner) callsFor(scheduleID uuid.UUID) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Req.Context.ScheduleID == scheduleID.String() {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeRunner) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// env is what an engine test needs.
type env struct {
	t      testing.TB
	conn   *sqlx.DB
	url    string
	clock  *clock
	svc    *schedule.Service
	admin  account.Actor
	ext    fixture.Published
	runner *fakeRunner
	mu     sync.Mutex
	eng    []*scheduler.Engine
}

var epoch = time.Date(2026, 6, 1, 10, 0, 30, 0, time.UTC)

func setup(t testing.TB) *env {
	t.Helper()
	d := dbtest.New(t)
	c := &clock{t: epoch}
	limits := schedule.DefaultLimits()
	e := &env{t: t, conn: d.DB, url: d.URL, clock: c, runner: newFakeRunner(t),
		svc: schedule.NewService(d.DB, scheduler.NewPGJobRunner(), limits, fixture.Quiet(), c.Now)}
	e.admin = fixture.Tenant(t, d.DB, "")
	e.ext = fixture.Publish(t, d.DB, "tasks", "1.0.0", fixture.DefaultEndpoints, nil)
	fixture.Install(t, d.DB, e.admin, e.ext)
	return e
}

// options are the test defaults: the shared clock, quick polling.
func (e *env) options() scheduler.Options {
	logger := fixture.Quiet()
	if os.Getenv("EXTCRON_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return scheduler.Options{Now: e.clock.Now, PollInterval: 20 * time.Millisecond, Logger: logger,
		Workers: 32, StopGrace: 2 * time.Second, DatabaseURL: e.url, ReconcileInterval: -1,
		// Tests jump the injected clock by hours while calls are in
		// flight; a lease on that clock must outlast the jumps. Lease
		// tests set their own.
		LeaseDuration: 48 * time.Hour}
}

// client is a runner client for the loopback runner.
func (e *env) client(timeout time.Duration, maxBytes int64) *runner.Client {
	return runner.NewClient(e.runner.URL, timeout, maxBytes, nil)
}

// start starts an engine, stopped at cleanup.
func (e *env) start(opts scheduler.Options, client scheduler.Executor) *scheduler.Engine {
	e.t.Helper()
	if client == nil {
		client = e.client(5*time.Second, 0)
	}
	eng := scheduler.NewEngine(e.conn, client, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		e.t.Fatalf("start engine: %v", err)
	}
	e.t.Cleanup(eng.Stop)
	e.mu.Lock()
	e.eng = append(e.eng, eng)
	e.mu.Unlock()
	return eng
}

// at moves the clock and wakes the engines.
func (e *env) at(t time.Time) {
	e.clock.Set(t)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, eng := range e.eng {
		eng.Wake()
	}
}

func (e *env) advance(d time.Duration) { e.at(e.clock.Now().Add(d)) }

// create makes a schedule through the schedule service.
func (e *env) create(actor account.Actor, ext fixture.Published, cron, zone string, mut func(*schedule.Input)) uuid.UUID {
	e.t.Helper()
	in := schedule.Input{EndpointID: str(ext.Endpoints["POST /sync"].String()), Cron: str(cron), Timezone: str(zone),
		PayloadJSON: json.RawMessage(`{"hello":"world"}`)}
	if mut != nil {
		mut(&in)
	}
	v, err := e.svc.Create(context.Background(), actor, ext.Slug, in, "")
	if err != nil {
		e.t.Fatalf("create schedule: %v", err)
	}
	return v.ID
}

func str(s string) *string { return &s }
func num(n int) *int       { return &n }

// runs returns a schedule's runs, oldest fire time first.
func (e *env) runs(tenantID, scheduleID uuid.UUID) []db.Run {
	e.t.Helper()
	var out []db.Run
	err := e.conn.SelectContext(context.Background(), &out, `
		SELECT tenant_id, id, schedule_id, install_id, trigger, scheduled_for, invocation_id, attempt,
		       status, idempotency_key, started_at, finished_at, duration_ms, http_status, response_excerpt,
		       error, version_id, content_hash, created_at
		FROM tenant_extension_schedule_run WHERE tenant_id = $1 AND schedule_id = $2
		ORDER BY scheduled_for, created_at`, tenantID, scheduleID)
	if err != nil {
		e.t.Fatalf("list runs: %v", err)
	}
	return out
}

func (e *env) schedule(tenantID, id uuid.UUID) db.Schedule {
	e.t.Helper()
	s, err := db.FindSchedule(context.Background(), e.conn, tenantID, id)
	if err != nil {
		e.t.Fatalf("find schedule: %v", err)
	}
	return s
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settled reports whether the schedule's runs are all final and there are
// n of them.
func (e *env) settled(tenantID, scheduleID uuid.UUID, n int) func() bool {
	return func() bool {
		rs := e.runs(tenantID, scheduleID)
		if len(rs) != n {
			return false
		}
		for _, r := range rs {
			if r.Status == "queued" || r.Status == "running" {
				return false
			}
		}
		return true
	}
}

func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.conn.ExecContext(context.Background(), query, args...); err != nil {
		e.t.Fatalf("exec %q: %v", query, err)
	}
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.conn.GetContext(context.Background(), &n, query, args...); err != nil {
		e.t.Fatalf("count %q: %v", query, err)
	}
	return n
}

func statuses(rs []db.Run) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("%s@%s", r.Status, r.ScheduledFor.UTC().Format("01-02T15:04"))
	}
	return s
}

func pqArray(s []string) any { return pq.Array(s) }
