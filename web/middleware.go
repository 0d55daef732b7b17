package web

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/fault"
	"extcron/handlers"
)

// Sessions resolves session cookies and bearer tokens to actors.
type Sessions interface {
	Session(ctx context.Context, cookie string) (account.SessionInfo, error)
	ActorForToken(ctx context.Context, token string) (account.Actor, error)
}

// securityHeaders sets the headers every response carries. The CSP allows
// no inline script: all JavaScript lives in /static.
func securityHeaders(secure bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
		c.Set("X-Frame-Options", "DENY")
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("Referrer-Policy", "same-origin")
		c.Set("Cross-Origin-Opener-Policy", "same-origin")
		if secure {
			c.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return c.Next()
	}
}

// accessLog writes one structured line per request.
func accessLog(logger *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			if e, ok := err.(*fiber.Error); ok {
				status = e.Code
			} else if fe, ok := fault.As(err); ok {
				status = statusOf[fe.Code]
			} else {
				status = fiber.StatusInternalServerError
			}
		}
		logger.Info("http request", "method", c.Method(), "path", c.Path(), "status", status,
			"duration_ms", time.Since(start).Milliseconds(), "request_id", c.Locals("requestid"))
		return err
	}
}

// loadSession attaches the signed-in user, if any, to the request.
func loadSession(sessions Sessions) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if flash := c.Cookies(handlers.FlashCookie); flash != "" {
			handlers.SetFlash(c, handlers.ReadFlash(flash))
			c.ClearCookie(handlers.FlashCookie)
		}
		cookie := c.Cookies(handlers.SessionCookie)
		if cookie == "" {
			return c.Next()
		}
		ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
		defer cancel()
		info, err := sessions.Session(ctx, cookie)
		if fault.Is(err, fault.Unauthenticated) {
			return c.Next()
		}
		if err != nil {
			return err
		}
		handlers.SetActor(c, info.Actor)
		handlers.SetCSRF(c, info.CSRFToken)
		return c.Next()
	}
}

// requireSession sends anonymous browsers to the login page.
func requireSession(c *fiber.Ctx) error {
	if _, ok := handlers.ActorOf(c); !ok {
		return fault.New(fault.Unauthenticated, "Please sign in.")
	}
	return c.Next()
}

// checkCSRF refuses a state-changing request that does not carry the
// session's CSRF token (form field _csrf, or the X-CSRF-Token header that
// htmx sends from the body's hx-headers). Bearer-token requests carry no
// cookies, so they need no token.
func checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if c.Locals(localBearer) == true {
		return c.Next()
	}
	got := c.Get("X-CSRF-Token")
	if got == "" {
		got = c.FormValue("_csrf")
	}
	if !account.CheckCSRF(handlers.CSRFOf(c), got) {
		return fault.New(fault.Forbidden, "This request is missing its security token. Reload the page and try again.")
	}
	return c.Next()
}

const localBearer = "bearer"

// apiAuth authenticates API requests by bearer token or, failing that, by
// the session cookie.
func apiAuth(sessions Sessions) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// The scheme is case-insensitive (RFC 9110): "bearer x" is a token too.
		auth := c.Get(fiber.HeaderAuthorization)
		if scheme, token, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
			ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
			defer cancel()
			actor, err := sessions.ActorForToken(ctx, strings.TrimSpace(token))
			if err != nil {
				return err
			}
			handlers.SetActor(c, actor)
			c.Locals(localBearer, true)
			return c.Next()
		}
		if _, ok := handlers.ActorOf(c); !ok {
			return fault.New(fault.Unauthenticated, "Authenticate with a bearer token or a session.")
		}
		return c.Next()
	}
}

// requirePermission refuses actors without perm. Services check again:
// this keeps a route that forgets from doing anything at all.
func requirePermission(perm account.Permission) fiber.Handler {
	return func(c *fiber.Ctx) error {
		actor, _ := handlers.ActorOf(c)
		if err := actor.Require(perm); err != nil {
			return err
		}
		return c.Next()
	}
}

// requireWriteOnMutation lets reads through with extension:read and asks
// extension:write for everything else.
func requireWriteOnMutation(c *fiber.Ctx) error {
	actor, _ := handlers.ActorOf(c)
	perm := account.ExtensionWrite
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead:
		perm = account.ExtensionRead
	}
	if err := actor.Require(perm); err != nil {
		return err
	}
	return c.Next()
}

// requireOperator refuses everyone but operators.
func requireOperator(c *fiber.Ctx) error {
	actor, _ := handlers.ActorOf(c)
	if err := actor.RequireOperator(); err != nil {
		return err
	}
	return c.Next()
}
