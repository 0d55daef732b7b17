// Command benchmark measures the scheduler engine against its physical
// reference and a peer, side by side on one private PostgreSQL cluster
// (issue 5, "Performance"):
//
//  1. extcron end to end: N schedules due at the same instant, a loopback
//     no-op runner: runs completed per second and lateness p50/p99/max;
//     then the same N spread over N/rate seconds (lateness at a steady rate);
//  2. River, tuned for throughput, completing N no-op jobs inserted up front;
//  3. PostgreSQL single-row update transactions per second (pgbench);
//  4. the claim statement's cost with 10 000 and 1 000 000 stored timers
//     (1% due), with its query plan;
//
// and the process's peak RSS. It prints a Markdown table.
//
//	cd scheduler/benchmark && go run . [-schedules 10000] [-jobs 20000]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"extcron/db"
	"extcron/db/pgcluster"
	"extcron/runner"
	"extcron/scheduler"
)

type row struct{ name, value, note string }

var results []row

func record(name, value, note string) {
	results = append(results, row{name, value, note})
	fmt.Fprintf(os.Stderr, "%-55s %-28s %s\n", name, value, note)
}

func main() {
	schedules := flag.Int("schedules", 10000, "schedules due at once (extcron end to end)")
	rate := flag.Int("rate", 1000, "due runs per second for the steady-rate lateness run")
	jobs := flag.Int("jobs", 20000, "River no-op jobs")
	big := flag.Int("timers", 1000000, "stored timers for the large claim-cost case")
	history := flag.Int("history", 3, "past runs stored per schedule before the end-to-end cases")
	skipRiver := flag.Bool("skip-river", false, "skip the River comparison")
	onlyE2E := flag.Bool("only-e2e", false, "run only the extcron end-to-end case")
	flag.Parse()
	ctx := context.Background()

	dir, err := os.MkdirTemp("", "extcron-bench-")
	check(err)
	check(os.Chmod(dir, 0o755))
	defer os.RemoveAll(dir)
	settings := map[string]string{"shared_buffers": "512MB"}
	if os.Getenv("BENCH_EXPLAIN") != "" {
		// Plans of slow statements, copied out when the harness ends.
		settings["session_preload_libraries"] = "auto_explain"
		settings["auto_explain.log_min_duration"] = os.Getenv("BENCH_EXPLAIN")
		settings["auto_explain.log_analyze"] = "on"
	}
	if os.Getenv("BENCH_STATEMENTS") != "" {
		// Per-statement totals of the first end-to-end case, on stderr.
		settings["shared_preload_libraries"] = "pg_stat_statements"
		settings["pg_stat_statements.track"] = "all"
	}
	cluster, err := pgcluster.New(filepath.Join(dir, "pg"), pgcluster.Options{Durable: true, MaxConnections: 300,
		ExtraSettings: settings})
	check(err)
	check(cluster.Start(ctx))
	defer func() { _ = cluster.Stop() }()
	if b, err := os.ReadFile(filepath.Join(cluster.Dir(), "postmaster.pid")); err == nil {
		postmaster, _ = strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	}
	if os.Getenv("BENCH_EXPLAIN") != "" {
		defer func() {
			b, _ := os.ReadFile(filepath.Join(cluster.Dir(), "server.log"))
			_ = os.WriteFile(filepath.Join(os.TempDir(), "extcron-bench-server.log"), b, 0o644)
		}()
	}
	admin, err := db.Open(ctx, cluster.URL("postgres"))
	check(err)
	for _, name := range []string{"extcron", "river", "claims"} {
		_, err := admin.ExecContext(ctx, "CREATE DATABASE "+name)
		check(err)
	}
	fmt.Fprintf(os.Stderr, "machine: %s, %d CPUs, %s\n", hostInfo(), runtime.NumCPU(), runtime.Version())

	conn, err := db.Open(ctx, cluster.URL("extcron"))
	check(err)
	conn.SetMaxOpenConns(60)
	_, err = db.Migrate(ctx, conn)
	check(err)

	if os.Getenv("BENCH_STATEMENTS") != "" {
		mustExec(ctx, conn, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	}
	endToEnd(ctx, conn, cluster.URL("extcron"), *schedules, 0, *history)
	if os.Getenv("BENCH_STATEMENTS") != "" {
		printStatements(ctx, conn)
	}
	explainRunClaim(ctx, conn, *schedules)
	if *onlyE2E {
		return
	}
	endToEnd(ctx, conn, cluster.URL("extcron"), *schedules, *rate, *history)
	httpHop(ctx, *schedules)
	if !*skipRiver {
		riverBench(ctx, cluster.URL("river"), *jobs, false, false)
		riverBench(ctx, cluster.URL("river"), *schedules, true, false)
		riverBench(ctx, cluster.URL("river"), *schedules, true, true)
	}
	pgbench(cluster, "postgres")
	claimCost(ctx, cluster.URL("claims"), *big)
	record("benchmark process peak RSS (engine + loopback runner + harness)", rssMB(), "VmHWM")

	fmt.Println("| measure | result | notes |")
	fmt.Println("|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %s | %s |\n", r.name, r.value, r.note)
	}
}

// endToEnd seeds n schedules over 100 tenants whose timers are due at one
// instant (perSecond 0) or spread evenly at perSecond, runs one engine on
// the real clock against a loopback no-op runner, and measures.
func endToEnd(ctx context.Context, conn *sqlx.DB, url string, n, perSecond, history int) {
	mustExec(ctx, conn, `TRUNCATE scheduler_timer, tenant_extension_schedule_run, tenant_extension_schedule,
		tenant_extension_install, extension_api_endpoint, extension_version, extension, tenant, audit_event CASCADE`)
	srv := noopRunner()
	defer srv.Close()
	extID, verID, epID := uuid.New(), uuid.New(), uuid.New()
	mustExec(ctx, conn, `INSERT INTO extension (id, slug, publisher, name, display_name) VALUES ($1, 'bench.noop', 'bench', 'noop', 'Noop')`, extID)
	mustExec(ctx, conn, `INSERT INTO extension_version (id, extension_id, version, manifest, content_hash, module)
		VALUES ($1, $2, '1.0.0', '{}', 'sha256:00', '\x00')`, verID, extID)
	mustExec(ctx, conn, `INSERT INTO extension_api_endpoint (id, version_id, method, path, handler) VALUES ($1, $2, 'POST', '/noop', 'noop')`, epID, verID)
	const tenants = 100
	start := time.Now().Add(3 * time.Second).Truncate(time.Second)
	spread := time.Duration(0)
	if perSecond > 0 {
		spread = time.Duration(n) * time.Second / time.Duration(perSecond)
	}
	var tt, tk, ts, ta []string
	var tr []int
	for t := 0; t < tenants; t++ {
		tenantID, installID := uuid.New(), uuid.New()
		mustExec(ctx, conn, `INSERT INTO tenant (id, name) VALUES ($1, $2)`, tenantID, fmt.Sprint("bench ", t))
		mustExec(ctx, conn, `INSERT INTO tenant_extension_install (tenant_id, id, extension_id, version_id) VALUES ($1, $2, $3, $4)`,
			tenantID, installID, extID, verID)
		per := n / tenants
		ids, keys, at := make([]string, per), make([]string, per), make([]string, per)
		for i := range ids {
			id := uuid.New()
			ids[i], keys[i] = id.String(), scheduler.Key(installID, id)
			k := t*per + i
			at[i] = start.Add(spread * time.Duration(k) / time.Duration(n)).Format(time.RFC3339Nano)
		}
		mustExec(ctx, conn, `
			INSERT INTO tenant_extension_schedule (tenant_id, id, install_id, endpoint_id, cron, timezone, overlap_policy)
			SELECT $1, x::uuid, $2, $3, '0 0 1 1 *', 'UTC', 'allow' FROM unnest($4::text[]) AS x`,
			tenantID, installID, epID, pq.Array(ids))
		for i := range ids {
			tt = append(tt, tenantID.String())
			tk, ts, ta = append(tk, keys[i]), append(ts, ids[i]), append(ta, at[i])
			tr = append(tr, i)
		}
	}
	// Timers are written interleaved across tenants (as schedules created
	// over time would be), not tenant by tenant.
	mustExec(ctx, conn, `
		INSERT INTO scheduler_timer (tenant_id, key, schedule_id, next_fire_at)
		SELECT t::uuid, k, s::uuid, a::timestamptz
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[]) AS u(t, k, s, a, r)
		ORDER BY r, t`, pq.Array(tt), pq.Array(tk), pq.Array(ts), pq.Array(ta), pq.Array(tr))
	if history > 0 {
		// Past runs, as a running system has (retention keeps up to 1 000
		// per schedule): the run table is not empty and its statistics
		// are those of a table in use.
		mustExec(ctx, conn, `
			INSERT INTO tenant_extension_schedule_run (tenant_id, id, schedule_id, install_id, trigger, scheduled_for,
				invocation_id, attempt, status, started_at, finished_at, created_at)
			SELECT s.tenant_id, gen_random_uuid(), s.id, s.install_id, 'schedule', $1::timestamptz - g * interval '1 day',
			       gen_random_uuid(), 1, 'success', $1::timestamptz - g * interval '1 day', $1::timestamptz - g * interval '1 day',
			       $1::timestamptz - g * interval '1 day'
			FROM tenant_extension_schedule s, generate_series(1, $2::int) g`, start, history)
	}
	mustExec(ctx, conn, `VACUUM ANALYZE`)
	if os.Getenv("BENCH_STATEMENTS") != "" {
		mustExec(ctx, conn, `SELECT pg_stat_statements_reset()`)
	}
	level := slog.LevelWarn
	if os.Getenv("BENCH_DEBUG") != "" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	const workers = 1000
	// Completion is watched through the engine's own counter of runs whose
	// final state is committed: polling the run table would take database
	// time from the engine being measured. The figures below come from the
	// run rows.
	reg := prometheus.NewRegistry()
	eng := scheduler.NewEngine(conn, runner.NewClient(srv.URL, 10*time.Second, 0, runner.NewHTTPClient(workers)), scheduler.Options{
		DatabaseURL: url, Workers: workers, BatchSize: 1000, PollInterval: time.Second, Logger: logger, ReconcileInterval: -1,
		Metrics: scheduler.NewMetrics(reg)})
	check(eng.Start(ctx))
	deadline := time.Now().Add(10*time.Minute + spread)
	time.Sleep(time.Until(start))
	if f := os.Getenv("BENCH_PERF"); f != "" && perSecond == 0 {
		// A system-wide profile of the first two seconds from the due
		// instant (perf must be installed).
		go func() { _ = exec.Command("perf", "record", "-a", "-g", "-F", "499", "-o", f, "--", "sleep", "2").Run() }()
	}
	if f := os.Getenv("BENCH_CPUPROFILE"); f != "" && perSecond == 0 {
		// A Go profile from the due instant until the last result.
		out, err := os.Create(f)
		check(err)
		check(pprof.StartCPUProfile(out))
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuNow()
	for finishedRuns(reg) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cpu := cpuNow().sub(cpu0)
	pprof.StopCPUProfile()
	if f := os.Getenv("BENCH_MEMPROFILE"); f != "" && perSecond == 0 {
		// Allocations since the process started (seeding included).
		out, err := os.Create(f)
		check(err)
		check(pprof.Lookup("allocs").WriteTo(out, 0))
		check(out.Close())
	}
	eng.Stop()
	var st struct {
		Done    int     `db:"done"`
		Success int     `db:"success"`
		Secs    float64 `db:"secs"`
		P50     float64 `db:"p50"`
		P99     float64 `db:"p99"`
		Max     float64 `db:"max"`
		Doubled int     `db:"doubled"`
		Fired   float64 `db:"fired"`
		Started float64 `db:"started"`
	}
	check(conn.GetContext(ctx, &st, `
		SELECT count(*) AS done, count(*) FILTER (WHERE status = 'success') AS success,
		       extract(epoch FROM max(finished_at) - $1::timestamptz) AS secs,
		       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - scheduled_for)) AS p50,
		       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - scheduled_for)) AS p99,
		       max(extract(epoch FROM started_at - scheduled_for)) AS max,
		       count(*) - count(DISTINCT (schedule_id, scheduled_for)) AS doubled,
		       extract(epoch FROM max(created_at) - $1::timestamptz) AS fired,
		       extract(epoch FROM max(started_at) - $1::timestamptz) AS started
		FROM tenant_extension_schedule_run WHERE scheduled_for >= $1`, start))
	if perSecond == 0 {
		record(fmt.Sprintf("extcron end to end: %d schedules due at once", n),
			fmt.Sprintf("%.0f runs/s", float64(st.Success)/st.Secs),
			fmt.Sprintf("%d/%d succeeded in %.2f s from the due instant (all recorded by %.2f s, all started by %.2f s); %d doubled; 1 engine, 1000 workers",
				st.Success, n, st.Secs, st.Fired, st.Started, st.Doubled))
		record("  lateness (start − scheduled_for), all due at once", fmt.Sprintf("p50 %.3f s, p99 %.3f s, max %.3f s", st.P50, st.P99, st.Max), "")
		record("  CPU per 1 000 runs, all due at once", cpu.per(n),
			"from the due instant until the last result is committed; the harness process holds the engine and the loopback runner")
	} else {
		record(fmt.Sprintf("extcron lateness at %d due runs/s (%d schedules over %s)", perSecond, n, spread),
			fmt.Sprintf("p50 %.3f s, p99 %.3f s, max %.3f s", st.P50, st.P99, st.Max),
			fmt.Sprintf("%d/%d succeeded; %d doubled", st.Success, n, st.Doubled))
	}
}

// cpuTimes is CPU time used so far by this process and by the harness's
// PostgreSQL server (its postmaster and the processes it started).
type cpuTimes struct{ self, postgres time.Duration }

// postmaster is the harness cluster's server process id.
var postmaster int

func cpuNow() cpuTimes {
	var c cpuTimes
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			continue
		}
		f := strings.Fields(s[end+2:]) // state, ppid, …, utime (12th), stime (13th)
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		d := time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
		switch {
		case pid == os.Getpid():
			c.self += d
		case postmaster > 0 && (pid == postmaster || ppid == postmaster):
			c.postgres += d
		}
	}
	return c
}

func (c cpuTimes) sub(o cpuTimes) cpuTimes { return cpuTimes{c.self - o.self, c.postgres - o.postgres} }

func (c cpuTimes) per(n int) string {
	k := float64(n) / 1000
	return fmt.Sprintf("harness process %.0f ms, PostgreSQL %.0f ms", float64(c.self.Milliseconds())/k, float64(c.postgres.Milliseconds())/k)
}

// finishedRuns sums the engine's counter of runs committed in a final
// state.
func finishedRuns(reg *prometheus.Registry) int {
	families, err := reg.Gather()
	check(err)
	n := 0.0
	for _, f := range families {
		if f.GetName() != "extcron_runs_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" && (l.GetValue() == "success" || l.GetValue() == "failure" || l.GetValue() == "timeout") {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int(n)
}

// loopback is a no-op runner listening on loopback.
type loopback struct {
	URL string
	srv *fasthttp.Server
}

func (l *loopback) Close() { _ = l.srv.Shutdown() }

// noopRunner is the loopback runner every case calls: it answers a
// successful empty result. It runs on fasthttp (fiber's server, already
// among extcron's dependencies) because it is the lightest server at hand:
// the harness should measure the scheduler, not the stand-in runner, and
// net/http's server spent about 20 µs more CPU per call.
func noopRunner() *loopback {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":200,"body_b64":"e30="}`)
	}}
	go func() { _ = srv.Serve(ln) }()
	return &loopback{URL: "http://" + ln.Addr().String(), srv: srv}
}

// noopCall is the call the River peer and the HTTP reference make: the
// shape of a scheduled run's call, fixed.
func noopCall() runner.Call {
	return runner.Call{TenantID: uuid.NewString(), ExtensionID: uuid.NewString(), InstallID: uuid.NewString(),
		VersionID: uuid.NewString(), ContentHash: "sha256:00", Config: map[string]string{}, Trigger: "schedule",
		ScheduleID: uuid.NewString(), ScheduledFor: time.Now(), InvocationID: uuid.NewString(), Attempt: 1,
		Method: "POST", Path: "/noop", Payload: []byte("null")}
}

// httpHop times n runner calls alone, 1000 at a time, through the same
// client to the same loopback no-op runner: the part of an end-to-end run
// that no database work can remove.
func httpHop(ctx context.Context, n int) {
	srv := noopRunner()
	defer srv.Close()
	const workers = 1000
	client := runner.NewClient(srv.URL, 10*time.Second, 0, runner.NewHTTPClient(workers))
	call := noopCall()
	jobs := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		jobs <- struct{}{}
	}
	close(jobs)
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				if !client.Execute(ctx, call).Success {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	record(fmt.Sprintf("loopback runner calls alone: %d no-op calls, %d at a time", n, workers),
		fmt.Sprintf("%.0f calls/s", float64(n)/secs), fmt.Sprintf("%.2f s, %d failed; no database", secs, failed.Load()))
}

// explainRunClaim requeues the runs of the last end-to-end case and shows
// the plan of one run claim (rolled back), planned as the engine plans it,
// with every tenant's claim lock held.
func explainRunClaim(ctx context.Context, conn *sqlx.DB, n int) {
	mustExec(ctx, conn, `UPDATE tenant_extension_schedule_run SET status = 'queued', next_attempt_at = '-infinity', attempt = 0`)
	mustExec(ctx, conn, `VACUUM ANALYZE tenant_extension_schedule_run`)
	var tenants []string
	check(conn.SelectContext(ctx, &tenants, `SELECT DISTINCT tenant_id::text FROM tenant_extension_schedule_run`))
	var plan []string
	now := time.Now()
	t0 := time.Now()
	rollback := errors.New("rollback")
	err := db.WithBatchTx(ctx, conn, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &plan, `EXPLAIN (ANALYZE, COSTS OFF) `+db.ClaimRunsQuery,
			"bench", now, now.Add(time.Minute), 500, 10, 2000, pq.Array([]string{}), pq.Array(tenants)); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		check(err)
	}
	fmt.Fprintf(os.Stderr, "run claim plan (%d queued, %s):\n  %s\n", n, time.Since(t0), strings.Join(plan, "\n  "))
}

// pgbench measures single-row update transactions per second: 32 clients,
// 10 s, one UPDATE by primary key per transaction.
func pgbench(cluster *pgcluster.Cluster, dbName string) {
	bin := pgBin("pgbench")
	host := cluster.Dir()
	run := func(args ...string) string {
		cmd := exec.Command(bin, append([]string{"-h", host, "-U", "postgres"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgbench: %v\n%s\n", err, out)
			return ""
		}
		return string(out)
	}
	if run("-i", "-q", "-s", "10", dbName) == "" {
		record("PostgreSQL single-row update TPS (pgbench)", "failed", "")
		return
	}
	script := filepath.Join(os.TempDir(), "extcron-update.sql")
	check(os.WriteFile(script, []byte("\\set aid random(1, 1000000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n"), 0o644))
	out := run("-n", "-M", "prepared", "-c", "32", "-j", "2", "-T", "10", "-f", script, dbName)
	tps := "?"
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "tps = ") {
			tps = strings.Fields(line)[2]
		}
	}
	record("PostgreSQL single-row update TPS (pgbench, 32 clients, 10 s)", tps+" tx/s", "fsync and synchronous_commit on")
}

func pgBin(name string) string {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(m) > 0 {
		return m[len(m)-1]
	}
	return name
}

// claimCost times the claim statement with 10 000 and big stored timers,
// 1% due, and prints its plan.
func claimCost(ctx context.Context, url string, big int) {
	conn, err := db.Open(ctx, url)
	check(err)
	defer conn.Close()
	_, err = db.Migrate(ctx, conn)
	check(err)
	now := time.Now()
	for _, total := range []int{10000, big} {
		mustExec(ctx, conn, `TRUNCATE scheduler_timer`)
		// 1% due (in the past), spread over 1 000 tenants (10 due each at
		// 1 000 000), the rest spread over the next month.
		mustExec(ctx, conn, `
			INSERT INTO scheduler_timer (tenant_id, key, schedule_id, next_fire_at)
			SELECT ('00000000-0000-0000-0000-' || lpad(to_hex((g / 100) % 1000), 12, '0'))::uuid, 'extsched:' || g, gen_random_uuid(),
			       CASE WHEN g % 100 = 0 THEN $2::timestamptz - (g % 3600) * interval '1 second'
			            ELSE $2::timestamptz + (1 + g % 2592000) * interval '1 second' END
			FROM generate_series(1, $1::int) AS g`, total, now)
		mustExec(ctx, conn, `VACUUM ANALYZE scheduler_timer`)
		const iters = 50
		var elapsed time.Duration
		errRollback := errors.New("rollback")
		for i := 0; i < iters; i++ {
			// As a fire cycle claims: room for 500, the tenant cap at 10
			// (10 due per tenant here), planned as the engine plans it.
			err := db.WithBatchTx(ctx, conn, func(tx *sqlx.Tx) error {
				t0 := time.Now()
				timers, _, err := db.ClaimTimersWithRoom(ctx, tx, db.TimerClaim{Due: now, Overdue: now.Add(-24 * time.Hour),
					Limit: 500, TenantCap: 10})
				elapsed += time.Since(t0)
				if err != nil {
					return err
				}
				if len(timers) != min(500, total/100) {
					return fmt.Errorf("claimed %d", len(timers))
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				check(err)
			}
		}
		var plan []string
		check(db.WithBatchTx(ctx, conn, func(tx *sqlx.Tx) error {
			return tx.SelectContext(ctx, &plan, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)"+db.ClaimTimersQuery,
				now, 625, "{}", "{}", 10, now.Add(-24*time.Hour), 500, "{}", db.TenantClaimLocks)
		}))
		fmt.Fprintf(os.Stderr, "plan with %d timers:\n  %s\n", total, strings.Join(plan, "\n  "))
		scan := "?"
		for _, l := range plan {
			if strings.Contains(l, "Scan using") && strings.Contains(l, "scheduler_timer") {
				scan = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(l), "->"))
				break
			}
		}
		record(fmt.Sprintf("claim 500 due timers of %d stored (1%% due)", total),
			fmt.Sprintf("%.2f ms per batch", float64(elapsed.Microseconds())/iters/1000), "plan: "+scan)
	}
}

func rssMB() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			return f[1] + " kB"
		}
	}
	return "?"
}

func hostInfo() string {
	b, _ := os.ReadFile("/proc/meminfo")
	mem := strings.SplitN(string(b), "\n", 2)[0]
	return strings.Join(strings.Fields(mem), " ")
}

func mustExec(ctx context.Context, conn *sqlx.DB, q string, args ...any) {
	if _, err := conn.ExecContext(ctx, q, args...); err != nil {
		panic(fmt.Sprintf("%v: %s", err, q))
	}
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}

// printStatements lists the statements that took the most database time
// since the last reset.
func printStatements(ctx context.Context, conn *sqlx.DB) {
	var rows []struct {
		Calls int64   `db:"calls"`
		Total float64 `db:"total"`
		Rows  int64   `db:"rows"`
		Query string  `db:"query"`
	}
	check(conn.SelectContext(ctx, &rows, `
		SELECT calls, total_exec_time AS total, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15`))
	for _, r := range rows {
		fmt.Fprintf(os.Stderr, "%8.0f ms %6d calls %7d rows  %s\n", r.Total, r.Calls, r.Rows, r.Query)
	}
}
