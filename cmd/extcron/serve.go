package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tetratelabs/wazero"

	"extcron/account"
	"extcron/db"
	"extcron/extensions"
	"extcron/operator"
	"extcron/runner"
	"extcron/schedule"
	"extcron/scheduler"
	"extcron/scheduler/cron"
	"extcron/web"
)

// services are the domain services, built once per process.
type services struct {
	accounts    *account.Service
	installs    *extensions.Installs
	registry    *extensions.Registry
	schedules   *schedule.Service
	moduleStore *extensions.ModuleStore
	jobs        scheduler.JobRunner
	operator    *operator.Service
}

func newServices(e env, d *database) (*services, error) {
	key, err := e.cfg.secretKey()
	if err != nil {
		return nil, err
	}
	sealer, err := extensions.SealerFromSecret(key)
	if err != nil {
		return nil, fmt.Errorf("EXTCRON_SECRET_KEY: %w", err)
	}
	registry := extensions.NewRegistry(d.conn, e.logger.With("component", "registry"))
	jobs := scheduler.NewPGJobRunner()
	limits := schedule.DefaultLimits()
	limits.MinInterval = e.cfg.MinInterval
	limits.MaxPayloadBytes = e.cfg.MaxPayloadBytes
	limits.MaxPerInstall = e.cfg.MaxPerInstall
	limits.MaxPerTenant = e.cfg.MaxPerTenant
	limits.RunNowPerTenant = e.cfg.RunNowPerTenant
	limits.RunNowPerSchedule = e.cfg.RunNowInterval
	s := &services{
		accounts:    account.NewService(d.conn, schedule.CheckZone, e.logger.With("component", "account")),
		installs:    extensions.NewInstalls(d.conn, sealer, e.logger.With("component", "installs")),
		registry:    registry,
		schedules:   schedule.NewService(d.conn, jobs, limits, e.logger.With("component", "schedules"), time.Now),
		moduleStore: extensions.NewModuleStore(registry),
		jobs:        jobs,
	}
	s.installs.SetHooks(s.schedules)
	return s, nil
}

// serve runs the web app until ctx is cancelled (SIGINT/SIGTERM), then
// shuts down in order: HTTP, scheduler, runner, database.
func serve(ctx context.Context, e env) error {
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	d, err := openDatabase(startCtx, e.cfg, e.logger, true)
	if err != nil {
		return err
	}
	defer d.close()
	if _, err := db.Migrate(startCtx, d.conn); err != nil {
		return err
	}
	s, err := newServices(e, d)
	if err != nil {
		return err
	}
	if d.fresh {
		if err := seedDemo(startCtx, e, s, bundlesDir()); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
	}

	// The embedded runner serves the same HTTP contract as a remote one, on
	// a private loopback port, so the scheduler always talks to a Runner
	// through one client.
	runnerURL := e.cfg.RunnerURL
	var embedded *runner.Embedded
	if runnerURL == "" {
		// Compiled modules are kept on disk so a restart does not pay the
		// compile again.
		cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(e.cfg.DataDir, "wasm-cache"))
		if err != nil {
			return fmt.Errorf("embedded runner cache: %w", err)
		}
		embedded = runner.NewEmbedded(s.moduleStore, e.logger.With("component", "runner"), runner.WithCompilationCache(cache),
			runner.WithMaxModules(e.cfg.RunnerMaxModules))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("embedded runner: %w", err)
		}
		runnerURL = "http://" + ln.Addr().String()
		srv := &http.Server{Handler: embedded.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			_ = embedded.Close(sctx)
		}()
	}

	// The engine is built even when this process does not schedule
	// (EXTCRON_SCHEDULER=off): the operator health page uses its
	// reconciliation on demand.
	metricsRegistry := prometheus.NewRegistry()
	metricsRegistry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	engine := scheduler.NewEngine(d.conn, runner.NewClient(runnerURL, e.cfg.RunnerTimeout, e.cfg.RunnerMaxResponse,
		runner.NewHTTPClient(e.cfg.Workers)), scheduler.Options{
		DatabaseURL:       d.url,
		Workers:           e.cfg.Workers,
		TenantConcurrency: e.cfg.TenantConcurrency,
		RunnerTimeout:     e.cfg.RunnerTimeout,
		RetentionRuns:     e.cfg.RetentionRuns,
		RetentionAge:      e.cfg.RetentionAge,
		Secrets:           s.installs,
		Logger:            e.logger.With("component", "scheduler"),
		Metrics:           scheduler.NewMetrics(metricsRegistry),
	})
	if e.cfg.Scheduler {
		if err := engine.Start(startCtx); err != nil {
			return fmt.Errorf("start scheduler: %w", err)
		}
		defer engine.Stop()
	}
	s.operator = operator.NewService(d.conn, s.jobs, s.registry, engine, e.logger.With("component", "operator"), time.Now)

	app := web.New(web.Options{
		Logger:                 e.logger,
		DB:                     d.conn,
		Accounts:               s.accounts,
		Installs:               s.installs,
		Registry:               s.registry,
		Schedules:              s.schedules,
		Operator:               s.operator,
		Metrics:                promhttp.HandlerFor(metricsRegistry, promhttp.HandlerOpts{}),
		Zones:                  cron.Zones(),
		SecureCookies:          e.cfg.SecureCookies,
		LoginAttemptsPerMinute: e.cfg.LoginAttemptsPerMin,
	})
	pruneCtx, stopPruning := context.WithCancel(context.Background())
	defer stopPruning()
	go pruneExpired(pruneCtx, d.conn, e.logger, time.Hour)

	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (EXTCRON_ADDR): %w", e.cfg.Addr, err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	fmt.Fprintf(e.stdout, "extcron is running at %s\n", publicURL(ln.Addr()))
	printDemoLogins(startCtx, e, d)
	select {
	case <-ctx.Done():
	case err := <-served:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("web server: %w", err)
		}
	}
	e.logger.Info("shutting down")
	if err := app.ShutdownWithTimeout(20 * time.Second); err != nil {
		e.logger.Error("http shutdown", "error", err)
	}
	return nil
}

// pruneExpired deletes ended web sessions and expired login-throttle
// counters every interval. Both are ignored once expired already; this
// keeps the tables from growing. Every process does it (cheap deletes), so
// a web-only deployment prunes too.
func pruneExpired(ctx context.Context, conn *sqlx.DB, logger *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sessions, err := db.DeleteExpiredSessions(ctx, conn, time.Now())
		if err == nil {
			_, err = db.PruneThrottle(ctx, conn)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("pruning expired sessions failed", "error", err)
		case sessions > 0:
			logger.Info("expired sessions pruned", "sessions", sessions)
		}
	}
}

// publicURL is the address to print: localhost when listening on all
// interfaces.
func publicURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("http://%s:%d", host, tcp.Port)
}
