package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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
	eng := scheduler.NewEngine(conn, runner.NewClient(os.Getenv("CHILD_RUNNER_URL"), time.Minute, 0, nil), scheduler.Options{
		ProcessID: os.Getenv("CHILD_PROCESS_ID"), DatabaseURL: os.Getenv("CHILD_DB_URL"), Workers: 50,
		TenantConcurrency: 50, LeaseDuration: 2 * time.Second, PollInterval: 50 * time.Millisecond,
		ReconcileInterval: -1, Logger: fixture.Quiet(),
	})
	if err := eng.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	fmt.Println("child engine running")
	select {} // until killed
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

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_DB_URL="+e.url, "CHILD_RUNNER_URL="+e.runner.URL,
		"CHILD_PROCESS_ID=child-to-kill")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
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
