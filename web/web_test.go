package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"extcron/db/dbtest"
	"extcron/web/webtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	app := webtest.Start(t, dbtest.New(t), nil)
	res, err := http.Get(app.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for name, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q must allow only same-origin scripts and deny framing", csp)
	}
}

func TestAPIAuthentication(t *testing.T) {
	t.Parallel()
	app := webtest.Start(t, dbtest.New(t), nil)
	u := app.NewTenantUser(t, "Acme", "admin")

	status, body := app.API(t, "", "GET", "/extensions", "")
	if status != 401 || !strings.Contains(body, `"code":"unauthenticated"`) {
		t.Fatalf("no token: %d %s, want 401 unauthenticated", status, body)
	}
	status, body = app.API(t, u.Token+"x", "GET", "/extensions", "")
	if status != 401 {
		t.Fatalf("bad token: %d %s, want 401", status, body)
	}
	status, body = app.API(t, u.Token, "GET", "/extensions", "")
	if status != 200 || !strings.Contains(body, `"items":`) {
		t.Fatalf("good token: %d %s, want 200 with items", status, body)
	}
	status, body = app.API(t, u.Token, "GET", "/no-such-route", "")
	if status != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Fatalf("unknown route: %d %s, want JSON 404", status, body)
	}
}

func TestCSRFRequiredOnStateChanges(t *testing.T) {
	t.Parallel()
	app := webtest.Start(t, dbtest.New(t), nil)
	u := app.NewTenantUser(t, "Acme", "admin")
	b := webtest.Browser(t)
	csrf := app.SignIn(t, b, u.Email, u.Password)
	if csrf == "" {
		t.Fatal("profile page has no CSRF token")
	}

	res, _ := app.PostForm(t, b, "/profile", url.Values{"timezone": {"Asia/Tokyo"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without token: %d, want 403", res.StatusCode)
	}
	if page := app.Get(t, b, "/profile"); strings.Contains(page, `list="zone-list" value="Asia/Tokyo"`) {
		t.Fatal("a refused POST changed the time zone")
	}
	// htmx sends the token in a header.
	req, _ := http.NewRequest("POST", app.URL+"/profile", strings.NewReader("timezone=Asia%2FTokyo"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST with header token: %d, want 303", res.StatusCode)
	}
	if page := app.Get(t, b, "/profile"); !strings.Contains(page, `list="zone-list" value="Asia/Tokyo"`) {
		t.Fatal("time zone not saved")
	}
}

func TestLoginRotatesSessionAndLogoutEndsIt(t *testing.T) {
	t.Parallel()
	app := webtest.Start(t, dbtest.New(t), nil)
	u := app.NewTenantUser(t, "Acme", "admin")
	b := webtest.Browser(t)
	base, _ := url.Parse(app.URL)
	app.SignIn(t, b, u.Email, u.Password)
	first := sessionCookie(b, base)
	// Signing in again from a browser that still holds the first session
	// (a fresh login form, the old cookie still sent) must replace it.
	b = webtest.Browser(t)
	page := app.Get(t, b, "/login")
	b.Jar.SetCookies(base, []*http.Cookie{{Name: "extcron_session", Value: first}})
	res, _ := app.PostForm(t, b, "/login", url.Values{"email": {u.Email}, "password": {u.Password}, "_csrf": {webtest.CSRFFrom(page)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign in: %d", res.StatusCode)
	}
	second := sessionCookie(b, base)
	if first == "" || first == second {
		t.Fatalf("session not rotated at login: %q then %q", first, second)
	}
	csrf := webtest.CSRFFrom(app.Get(t, b, "/profile"))
	// The old session is gone.
	old := webtest.Browser(t)
	old.Jar.SetCookies(base, []*http.Cookie{{Name: "extcron_session", Value: first}})
	res, err := old.Get(app.URL + "/profile")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("old session still works: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = app.PostForm(t, b, "/logout", url.Values{"_csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	again := webtest.Browser(t)
	again.Jar.SetCookies(base, []*http.Cookie{{Name: "extcron_session", Value: second}})
	res, err = again.Get(app.URL + "/profile")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("session survives logout: %d", res.StatusCode)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	app := webtest.Start(t, dbtest.New(t), nil)
	u := app.NewTenantUser(t, "Acme", "admin")
	b := webtest.Browser(t)
	page := app.Get(t, b, "/login")
	res, _ := app.PostForm(t, b, "/login", url.Values{"email": {u.Email}, "password": {u.Password}, "_csrf": {webtest.CSRFFrom(page)}})
	var found bool
	for _, c := range res.Cookies() {
		if c.Name == "extcron_session" {
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("session cookie HttpOnly=%v SameSite=%v, want HttpOnly and Lax", c.HttpOnly, c.SameSite)
			}
		}
	}
	if !found {
		t.Fatal("no session cookie set at login")
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	app := webtest.Start(t, dbtest.New(t), nil) // 5 failures per minute
	u := app.NewTenantUser(t, "Acme", "admin")
	b := webtest.Browser(t)
	token := webtest.CSRFFrom(app.Get(t, b, "/login"))
	var last int
	for i := 0; i < 7; i++ {
		res, _ := app.PostForm(t, b, "/login", url.Values{"email": {u.Email}, "password": {"wrong-password"}, "_csrf": {token}})
		last = res.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("7th failed login: %d, want 429", last)
	}
	res, _ := app.PostForm(t, b, "/login", url.Values{"email": {u.Email}, "password": {u.Password}, "_csrf": {token}})
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("login during the lockout: %d, want 429", res.StatusCode)
	}
}

// The limit holds across processes: failures spread over two app
// instances on one database add up.
func TestLoginRateLimitAcrossProcesses(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	apps := []*webtest.App{webtest.Start(t, d, nil), webtest.Start(t, d, nil)} // 5 failures per minute
	u := apps[0].NewTenantUser(t, "Acme", "admin")
	var last int
	for i := 0; i < 6; i++ {
		app := apps[i%2]
		b := webtest.Browser(t)
		token := webtest.CSRFFrom(app.Get(t, b, "/login"))
		res, _ := app.PostForm(t, b, "/login", url.Values{"email": {u.Email}, "password": {"wrong-password"}, "_csrf": {token}})
		last = res.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("6th failed login over two processes: %d, want 429", last)
	}
}

func TestLoginWithoutFormTokenIsRefused(t *testing.T) {
	t.Parallel()
	app := webtest.Start(t, dbtest.New(t), nil)
	u := app.NewTenantUser(t, "Acme", "admin")
	res, _ := app.PostForm(t, webtest.Browser(t), "/login", url.Values{"email": {u.Email}, "password": {u.Password}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("login without CSRF token: %d, want 403", res.StatusCode)
	}
}

func sessionCookie(b *http.Client, u *url.URL) string {
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == "extcron_session" {
			return c.Value
		}
	}
	return ""
}
