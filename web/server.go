// Package web assembles the HTTP server: middleware, routes and the one
// error handler. It wires handlers to services and knows no SQL.
package web

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/jmoiron/sqlx"

	"extcron/account"
	"extcron/db"
	"extcron/extensions"
	"extcron/handlers"
	"extcron/operator"
	"extcron/schedule"
	"extcron/static"
)

// Options are the server's dependencies.
type Options struct {
	Logger   *slog.Logger
	DB       *sqlx.DB
	Accounts *account.Service
	Installs *extensions.Installs
	Registry *extensions.Registry
	// Schedules is the schedule service.
	Schedules *schedule.Service
	// Operator is the service behind the operator tools (/admin).
	Operator *operator.Service
	// Zones are the IANA names offered by zone pickers.
	Zones []string
	// SecureCookies marks cookies Secure (set when served over TLS).
	SecureCookies bool
	// Metrics serves Prometheus metrics at /metrics (nil: no route).
	Metrics http.Handler
	// LoginAttemptsPerMinute caps failed logins per client and email.
	LoginAttemptsPerMinute int
}

// New builds the fiber app with every route.
func New(o Options) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "extcron",
		ErrorHandler:          errorHandler(o.Logger),
		BodyLimit:             80 << 20, // bundle uploads; other routes are capped below
		ReadTimeout:           60 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
	})
	app.Use(recover.New())
	app.Use(requestid.New())
	app.Use(accessLog(o.Logger))
	app.Use(securityHeaders(o.SecureCookies))
	app.Use(bodyCap(1<<20, "/admin/bundles"))

	health := handlers.NewHealth(o.DB)
	app.Get("/healthz", health.Live)
	app.Get("/readyz", health.Ready)
	if o.Metrics != nil {
		app.Get("/metrics", adaptor.HTTPHandler(o.Metrics))
	}
	app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static.Files), MaxAge: 3600}))

	app.Use(loadSession(o.Accounts))

	auth := handlers.NewAuth(o.Accounts, o.SecureCookies, newToken)
	attempts := o.LoginAttemptsPerMinute
	if attempts == 0 {
		attempts = 10
	}
	app.Get("/login", auth.LoginPage)
	var throttle fiber.Storage // in memory, for tests without a database
	if o.DB != nil {
		// Shared by every process, so the limit holds behind a load
		// balancer.
		throttle = db.ThrottleStore{Q: o.DB}
	}
	app.Post("/login", limiter.New(limiter.Config{
		Storage:                throttle,
		Max:                    attempts,
		Expiration:             time.Minute,
		SkipSuccessfulRequests: true,
		KeyGenerator: func(c *fiber.Ctx) string {
			return c.IP() + "|" + strings.ToLower(strings.TrimSpace(c.FormValue("email")))
		},
		LimitReached: auth.LoginLimited,
	}), auth.Login)

	api := app.Group("/api/v1", apiAuth(o.Accounts), checkCSRF)
	adminAPIRoutes(api, o) // before apiRoutes: its catch-all answers 404
	apiRoutes(api, o)

	page := app.Group("", requireSession, checkCSRF)
	page.Post("/logout", auth.Logout)
	page.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/extensions", fiber.StatusSeeOther) })
	profile := handlers.NewProfile(o.Accounts, o.Zones)
	page.Get("/profile", profile.Show)
	page.Post("/profile", profile.Update)
	adminPageRoutes(page, o)
	pageRoutes(page, o)

	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return app
}

// bodyCap answers 413 for bodies over limit, except under the given
// prefixes (which rely on the app-wide limit).
func bodyCap(limit int, except ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		for _, p := range except {
			if strings.HasPrefix(c.Path(), p) {
				return c.Next()
			}
		}
		if len(c.Body()) > limit {
			return fiber.ErrRequestEntityTooLarge
		}
		return c.Next()
	}
}

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
