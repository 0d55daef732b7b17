package handlers

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/fault"
	"extcron/views"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "extcron_session"

// LoginCSRFCookie carries the double-submit CSRF token of the login form,
// which is posted before any session exists.
const LoginCSRFCookie = "extcron_login_csrf"

// Auth serves login and logout.
type Auth struct {
	accounts     AccountService
	secureCookie bool
	newToken     func() string
}

// AccountService is the subset of the account service the handlers use.
type AccountService interface {
	Login(ctx context.Context, email, password string) (string, error)
	Logout(ctx context.Context, cookie string) error
}

// NewAuth builds the login/logout handlers.
func NewAuth(accounts AccountService, secureCookie bool, newToken func() string) *Auth {
	return &Auth{accounts: accounts, secureCookie: secureCookie, newToken: newToken}
}

// LoginPage shows the login form.
func (h *Auth) LoginPage(c *fiber.Ctx) error {
	if _, ok := ActorOf(c); ok {
		return c.Redirect("/extensions", fiber.StatusSeeOther)
	}
	return h.renderLogin(c, fiber.StatusOK, views.LoginForm{Next: safeNext(c.Query("next"))})
}

func (h *Auth) renderLogin(c *fiber.Ctx, status int, f views.LoginForm) error {
	token := c.Cookies(LoginCSRFCookie)
	if token == "" {
		token = h.newToken()
		c.Cookie(&fiber.Cookie{Name: LoginCSRFCookie, Value: token, Path: "/login", HTTPOnly: true, SameSite: "Lax", Secure: h.secureCookie})
	}
	f.CSRF = token
	return Render(c, status, views.Login(PageFor(c, "Sign in", ""), f))
}

// Login checks the credentials, rotates the session and redirects.
func (h *Auth) Login(c *fiber.Ctx) error {
	form := views.LoginForm{Email: strings.TrimSpace(c.FormValue("email")), Next: safeNext(c.FormValue("next"))}
	if !account.CheckCSRF(c.Cookies(LoginCSRFCookie), c.FormValue("_csrf")) {
		form.Error = "Your sign-in form expired. Please try again."
		c.ClearCookie(LoginCSRFCookie)
		return h.renderLogin(c, fiber.StatusForbidden, form)
	}
	ctx, cancel := ctx(c)
	defer cancel()
	cookie, err := h.accounts.Login(ctx, form.Email, c.FormValue("password"))
	if fault.Is(err, fault.Unauthenticated) {
		form.Error = "Email or password is incorrect."
		return h.renderLogin(c, fiber.StatusUnauthorized, form)
	}
	if err != nil {
		return err
	}
	// Rotation: whatever session the browser had before is ended.
	if old := c.Cookies(SessionCookie); old != "" {
		if err := h.accounts.Logout(ctx, old); err != nil {
			return err
		}
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: cookie, Path: "/", HTTPOnly: true, SameSite: "Lax",
		Secure: h.secureCookie, MaxAge: int(account.SessionLifetime.Seconds())})
	c.ClearCookie(LoginCSRFCookie)
	next := form.Next
	if next == "" {
		next = "/extensions"
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

// LoginLimited answers when the login rate limit is hit.
func (h *Auth) LoginLimited(c *fiber.Ctx) error {
	c.Set("Retry-After", "60")
	return h.renderLogin(c, fiber.StatusTooManyRequests, views.LoginForm{
		Email: c.FormValue("email"),
		Error: "Too many sign-in attempts. Wait a minute and try again.",
	})
}

// Logout ends the session.
func (h *Auth) Logout(c *fiber.Ctx) error {
	ctx, cancel := ctx(c)
	defer cancel()
	if err := h.accounts.Logout(ctx, c.Cookies(SessionCookie)); err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: "Lax", Secure: h.secureCookie, MaxAge: -1})
	Flash(c, "You are signed out.")
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// safeNext keeps redirects after login on this site.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return ""
}
