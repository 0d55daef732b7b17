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
)

type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// riverBench completes n no-op jobs inserted up front with River tuned as
// its users tune it for throughput, and reports jobs per second from the
// start of the client until every job is persisted as completed.
func riverBench(ctx context.Context, url string, n int) {
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

	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{})
	client, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 500}},
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
	for i := 0; i < n; i += 5000 {
		_, err := client.InsertMany(ctx, params[i:min(i+5000, n)])
		check(err)
	}
	start := time.Now()
	check(client.Start(ctx))
	deadline := start.Add(5 * time.Minute)
	var done int
	for time.Now().Before(deadline) {
		check(pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&done))
		if done >= n {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	secs := time.Since(start).Seconds()
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	check(client.Stop(stopCtx))
	record(fmt.Sprintf("River v0.51.2 tuned: %d no-op jobs inserted up front", n),
		fmt.Sprintf("%.0f jobs/s", float64(done)/secs),
		fmt.Sprintf("%d completed and persisted in %.2f s; FetchCooldown 1ms, FetchPollInterval 20ms, MaxWorkers 500", done, secs))
}
