package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"extcron/runner"
)

type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	// client, when set, makes each job call the loopback runner as a
	// scheduled run does.
	client *runner.Client
	call   runner.Call
}

func (w *noopWorker) Work(ctx context.Context, _ *river.Job[noopArgs]) error {
	if w.client != nil {
		if res := w.client.Execute(ctx, w.call); !res.Success {
			return fmt.Errorf("runner call: %s", res.Reason)
		}
	}
	return nil
}

// riverBench completes n no-op jobs inserted up front with River tuned as
// its users tune it for throughput, and reports jobs per second from the
// start of the client until every job is persisted as completed. With
// hop, each job makes the same loopback runner call as a scheduled run,
// with as many workers as the extcron case. With timedInsert the client
// is started idle and the clock starts when the jobs are inserted, as a
// scheduler must record its due fire times inside its measured window.
func riverBench(ctx context.Context, url string, n int, hop, timedInsert bool) {
	cfg, err := pgxpool.ParseConfig(url)
	check(err)
	cfg.MaxConns = 60
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	check(err)
	defer pool.Close()
	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, nil)
	check(err)
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	check(err)
	_, err = pool.Exec(ctx, `TRUNCATE river_job`)
	check(err)

	worker, maxWorkers, name := &noopWorker{}, 500, fmt.Sprintf("River v0.51.2 tuned: %d no-op jobs inserted up front", n)
	if hop {
		srv := noopRunner()
		defer srv.Close()
		maxWorkers = 1000
		worker.client = runner.NewClient(srv.URL, 10*time.Second, 0, runner.NewHTTPClient(maxWorkers))
		worker.call = noopCall()
		name = fmt.Sprintf("River v0.51.2 tuned, each job calling the loopback runner: %d jobs", n)
		if timedInsert {
			name += ", inserted inside the measured time"
		}
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	client, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		FetchCooldown:     time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Workers:           workers,
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	check(err)
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{}}
	}
	insert := func() {
		for i := 0; i < n; i += 5000 {
			_, err := client.InsertMany(ctx, params[i:min(i+5000, n)])
			check(err)
		}
	}
	// Completion is watched through River's completion events (sent once
	// a batch of completions is persisted), with a slow count as a
	// fallback should events be dropped.
	events, cancelEvents := client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: n, Kinds: []river.EventKind{river.EventKindJobCompleted}})
	defer cancelEvents()
	var start time.Time
	var cpu0 cpuTimes
	if timedInsert {
		check(client.Start(ctx))
		time.Sleep(100 * time.Millisecond) // let its producers settle, idle
		start, cpu0 = time.Now(), cpuNow()
		insert()
	} else {
		insert()
		start, cpu0 = time.Now(), cpuNow()
		check(client.Start(ctx))
	}
	deadline := start.Add(5 * time.Minute)
	fallback := time.NewTicker(250 * time.Millisecond)
	defer fallback.Stop()
	seen, done := 0, 0
	for done < n && time.Now().Before(deadline) {
		select {
		case <-events:
			seen++
			if seen >= n {
				done = seen
			}
		case <-fallback.C:
			check(pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&done))
		}
	}
	secs := time.Since(start).Seconds()
	cpu := cpuNow().sub(cpu0)
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	check(client.Stop(stopCtx))
	check(pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&done))
	record(name, fmt.Sprintf("%.0f jobs/s", float64(done)/secs),
		fmt.Sprintf("%d completed and persisted in %.2f s; FetchCooldown 1ms, FetchPollInterval 20ms, MaxWorkers %d; CPU per 1 000 jobs: %s",
			done, secs, maxWorkers, cpu.per(done)))
}
