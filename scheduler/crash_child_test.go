package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"extcron/db"
	"extcron/db/dbtest/fixture"
	"extcron/runner"
	"extcron/schedule"
	"extcron/scheduler"
)

// childEnv switches the test binary into "run one engine until killed"
// mode: the crash test re-executes itself as a separate process it can
// kill -9.
const childEnv = "EXTCRON_ENGINE_CHILD"

func runChildEngine() {
	ctx := context.Background()
	conn, err := db.Open(ctx, os.Getenv("CHILD_DB_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	opts := scheduler.Options{
		ProcessID: os.Getenv("CHILD_PROCESS_ID"), DatabaseURL: os.Getenv("CHILD_DB_URL"), Workers: 50,
		TenantConcurrency: 50, LeaseDuration: 2 * time.Second, PollInterval: 50 * time.Millisecond,
		ReconcileInterval: -1, Logger: fixture.Quiet(),
	}
	if f := os.Getenv("CHILD_CLOCK_FILE"); f != "" {
		// The parent's injected clock, shared through a file it rewrites;
		// the parent wakes the children with a NOTIFY after each move.
		opts.Now = fileClock(f)
		opts.LeaseDuration = 48 * time.Hour
	}
	eng := scheduler.NewEngine(conn, runner.NewClient(os.Getenv("CHILD_RUNNER_URL"), time.Minute, 0, nil), opts)
	if err := eng.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	fmt.Println("child engine running")
	select {} // until killed
}

// fileClock reads the time the parent process last wrote to path.
func fileClock(path string) func() time.Time {
	return func() time.Time {
		raw, err := os.ReadFile(path)
		if err != nil {
			panic("child clock: " + err.Error())
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(raw)))
		if err != nil {
			panic("child clock: " + err.Error())
		}
		return t
	}
}

// startChild runs one engine in a child process of the test binary.
func (e *env) startChild(processID string, extra ...string) *exec.Cmd {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_DB_URL="+e.url, "CHILD_RUNNER_URL="+e.runner.URL,
		"CHILD_PROCESS_ID="+processID)
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestCrashRecovery: a process is killed with SIGKILL while its runs are
// in flight. After the leases expire another process recovers each run as
// attempt 2 with the same invocation id and finishes it; nothing stays
// running.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var ids []uuid.UUID
	for i := 0; i < 4; i++ {
		ids = append(ids, e.create(e.admin, e.ext, "0 3 * * *", "UTC", func(in *schedule.Input) {
			in.Name = str(fmt.Sprint("crash ", i))
			in.OverlapPolicy = str("allow")
		}))
	}
	// The processes here run on the real clock: no timer may fire.
	e.exec(`DELETE FROM scheduler_timer`)
	now := time.Now()
	for i := 0; i < 20; i++ {
		s := ids[i%4]
		_, _, err := db.InsertManualRun(context.Background(), e.conn, db.Run{TenantID: e.admin.TenantID, ID: uuid.New(),
			ScheduleID: s, InstallID: e.schedule(e.admin.TenantID, s).InstallID, ScheduledFor: now.Add(time.Duration(i) * time.Millisecond),
			InvocationID: uuid.New()})
		if err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	crashed := false
	hang := make(chan struct{})
	e.runner.setRespond(func(runner.Request) answer {
		mu.Lock()
		defer mu.Unlock()
		if !crashed {
			return answer{Hang: hang}
		}
		return answer{}
	})
	defer close(hang)

	cmd := e.startChild("child-to-kill")
	eventually(t, 30*time.Second, "the child to run all 20", func() bool {
		return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'running' AND lease_owner = 'child-to-kill'`) == 20 &&
			e.runner.count() == 20
	})
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	mu.Lock()
	crashed = true
	mu.Unlock()

	opts := e.options()
	opts.Now = time.Now
	opts.LeaseDuration = 2 * time.Second
	opts.TenantConcurrency = 50
	opts.ProcessID = "survivor"
	e.start(opts, nil)
	eventually(t, 30*time.Second, "every run recovered and finished", func() bool {
		return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'success'`) == 20
	})
	if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status IN ('running', 'queued') OR attempt <> 2`); n != 0 {
		t.Fatalf("%d runs not finished as attempt 2", n)
	}
	// Each run: two calls, the same invocation id, attempts 1 and 2.
	for _, s := range ids {
		byInv := map[string][]int{}
		for _, c := range e.runner.callsFor(s) {
			byInv[c.Req.Context.InvocationID] = append(byInv[c.Req.Context.InvocationID], c.Req.Context.Attempt)
		}
		for inv, attempts := range byInv {
			if len(attempts) != 2 || attempts[0] != 1 || attempts[1] != 2 {
				t.Fatalf("invocation %s attempts %v, want [1 2]", inv, attempts)
			}
		}
	}
}

// TestExactlyOnceAcrossThreeProcesses: three engine processes on one
// database, 300 every-minute schedules, 30 fire times on a shared clock:
// one run per (schedule, fire time), none missing, one call each.
func TestExactlyOnceAcrossThreeProcesses(t *testing.T) {
	t.Parallel()
	e := setup(t)
	schedules, fires := 300, 30
	if testing.Short() {
		schedules, fires = 60, 5
	}
	first := time.Date(2026, 6, 1, 10, 1, 0, 0, time.UTC)
	tenants := e.tenants(3)
	for _, a := range tenants {
		e.bulkSchedules(a, e.ext, schedules/len(tenants), "* * * * *", first)
	}
	clockFile := filepath.Join(t.TempDir(), "now")
	setClock := func(at time.Time) {
		// Written whole, then renamed: a child never reads half a time.
		tmp := clockFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(at.Format(time.RFC3339Nano)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, clockFile); err != nil {
			t.Fatal(err)
		}
		e.exec(`SELECT pg_notify($1, '')`, scheduler.WakeChannel)
	}
	// Which process holds a call's run, sampled from the calls in flight:
	// the test means something only if all three fire.
	var mu sync.Mutex
	owners := map[string]bool{}
	calls := 0
	e.runner.setRespond(func(req runner.Request) answer {
		mu.Lock()
		calls++
		sample := calls%5 == 0
		mu.Unlock()
		if sample {
			var owner string
			if err := e.conn.Get(&owner, `SELECT coalesce(lease_owner, '') FROM tenant_extension_schedule_run
				WHERE invocation_id = $1`, req.Context.InvocationID); err == nil && owner != "" {
				mu.Lock()
				owners[owner] = true
				mu.Unlock()
			}
		}
		return answer{}
	})
	setClock(first.Add(-time.Minute))
	for i := range 3 {
		e.startChild(fmt.Sprint("process-", i), "CHILD_CLOCK_FILE="+clockFile)
	}
	for f := 0; f < fires; f++ {
		setClock(first.Add(time.Duration(f)*time.Minute + time.Second))
		want := schedules * (f + 1)
		eventually(t, 60*time.Second, "the fire time's runs", func() bool {
			return e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'success'`) == want
		})
	}
	if n := e.count(`SELECT count(*) FROM tenant_extension_schedule_run`); n != schedules*fires {
		t.Fatalf("runs = %d, want %d", n, schedules*fires)
	}
	if n := e.count(`SELECT count(*) FROM (SELECT schedule_id FROM tenant_extension_schedule_run
		GROUP BY schedule_id HAVING count(DISTINCT scheduled_for) <> $1 OR count(*) <> $1) d`, fires); n != 0 {
		t.Fatalf("%d schedules with a fire time missing or doubled", n)
	}
	if got := e.runner.count(); got != schedules*fires {
		t.Fatalf("runner calls = %d, want %d", got, schedules*fires)
	}
	e.runner.checkOneCallPerInvocation(t)
	mu.Lock()
	defer mu.Unlock()
	if len(owners) != 3 {
		t.Fatalf("calls came from %v; want all three processes at work", owners)
	}
}
