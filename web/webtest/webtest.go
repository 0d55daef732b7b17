// Package webtest starts the whole web app on a free loopback port for
// HTTP-level tests, on a test database from dbtest.
package webtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"extcron/account"
	"extcron/db/dbtest"
	"extcron/extensions"
	"extcron/operator"
	"extcron/schedule"
	"extcron/scheduler"
	"extcron/scheduler/cron"
	"extcron/web"
)

// App is a running app under test.
type App struct {
	URL      string
	DB       *dbtest.Database
	Accounts *account.Service
}

// Start serves the app on 127.0.0.1:0 until the test ends. mutate may
// adjust the options before the server is built.
func Start(t testing.TB, d *dbtest.Database, mutate func(*web.Options)) *App {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	accounts := account.NewService(d.DB, schedule.CheckZone, logger)
	sealer, err := extensions.SealerFromSecret("webtest secret key, long enough for a key")
	if err != nil {
		t.Fatal(err)
	}
	opts := web.Options{Logger: logger, DB: d.DB, Accounts: accounts, Zones: cron.Zones(), LoginAttemptsPerMinute: 5,
		Installs:  extensions.NewInstalls(d.DB, sealer, logger),
		Registry:  extensions.NewRegistry(d.DB, logger),
		Schedules: schedule.NewService(d.DB, scheduler.NewPGJobRunner(), schedule.DefaultLimits(), logger, nil),
	}
	opts.Installs.SetHooks(opts.Schedules)
	opts.Operator = operator.NewService(d.DB, scheduler.NewPGJobRunner(), opts.Registry,
		scheduler.NewEngine(d.DB, nil, scheduler.Options{ReconcileInterval: -1, Logger: logger}), logger, nil)
	if mutate != nil {
		mutate(&opts)
	}
	app := web.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return &App{URL: "http://" + ln.Addr().String(), DB: d, Accounts: accounts}
}

// User is a tenant user created for a test.
type User struct {
	TenantID string
	Email    string
	Password string
	Token    string
}

// NewTenantUser creates a tenant (named uniquely) and a user with role.
func (a *App) NewTenantUser(t testing.TB, tenant, role string) User {
	t.Helper()
	ctx := context.Background()
	tn, err := a.Accounts.CreateTenant(ctx, tenant, "")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return a.NewUser(t, tn.ID.String(), role)
}

var userCounter int

// NewUser adds a user to an existing tenant.
func (a *App) NewUser(t testing.TB, tenantID, role string) User {
	t.Helper()
	ctx := context.Background()
	userCounter++
	email := strings.ToLower(role) + "-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000000") + "@test.example"
	email = regexp.MustCompile(`[^a-zA-Z0-9@.\-]`).ReplaceAllString(email, "")
	u, err := a.Accounts.CreateUser(ctx, account.NewUser{Tenant: tenantID, Email: email, Password: "password-123", Role: role})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	token, err := a.Accounts.CreateToken(ctx, u.Email)
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	return User{TenantID: tenantID, Email: u.Email, Password: "password-123", Token: token}
}

// Browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
func Browser(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// CSRFFrom finds the CSRF token in a page.
func CSRFFrom(html string) string {
	m := csrfField.FindStringSubmatch(html)
	if m == nil {
		return ""
	}
	return m[1]
}

// SignIn logs the browser in through the login form and returns the
// session's CSRF token (from the profile page).
func (a *App) SignIn(t testing.TB, b *http.Client, email, password string) string {
	t.Helper()
	page := a.Get(t, b, "/login")
	res, body := a.PostForm(t, b, "/login", url.Values{"email": {email}, "password": {password}, "_csrf": {CSRFFrom(page)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: status %d, want 303: %s", res.StatusCode, body)
	}
	return CSRFFrom(a.Get(t, b, "/profile"))
}

// Get fetches a path and returns the body.
func (a *App) Get(t testing.TB, b *http.Client, path string) string {
	t.Helper()
	res, err := b.Get(a.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

// PostForm posts a form and returns the response and its body.
func (a *App) PostForm(t testing.TB, b *http.Client, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	res, err := b.PostForm(a.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// API sends a JSON API request with a bearer token and returns status and body.
func (a *App) API(t testing.TB, token, method, path, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.URL+"/api/v1"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
