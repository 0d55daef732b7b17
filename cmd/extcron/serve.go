package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
	_ "time/tzdata" // the tz database is embedded; the host's copy is not needed

	"extcron/account"
	"extcron/db"
	"extcron/web"
)

// services are the domain services, built once per process.
type services struct {
	accounts *account.Service
	zones    []string
}

func newServices(e env, d *database) (*services, error) {
	return &services{
		accounts: account.NewService(d.conn, checkZone, e.logger.With("component", "account")),
		zones:    zoneNames(),
	}, nil
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
	app := web.New(web.Options{
		Logger:                 e.logger,
		DB:                     d.conn,
		Accounts:               s.accounts,
		Zones:                  s.zones,
		SecureCookies:          e.cfg.SecureCookies,
		LoginAttemptsPerMinute: e.cfg.LoginAttemptsPerMin,
	})
	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (EXTCRON_ADDR): %w", e.cfg.Addr, err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	fmt.Fprintf(e.stdout, "extcron is running at %s\n", publicURL(ln.Addr()))
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("web server: %w", err)
	}
	e.logger.Info("shutting down")
	if err := app.ShutdownWithTimeout(20 * time.Second); err != nil {
		e.logger.Error("http shutdown", "error", err)
	}
	return nil
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

var _ = errors.New
var _ = slog.Info
