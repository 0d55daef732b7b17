package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"extcron/account"
	"extcron/db/dbtest"
	"extcron/db/dbtest/fixture"
	"extcron/web/webtest"
)

type apiEnv struct {
	app    *webtest.App
	admin  webtest.User
	viewer webtest.User
	other  webtest.User
	ext    fixture.Published
}

func apiSetup(t *testing.T) *apiEnv {
	t.Helper()
	d := dbtest.New(t)
	app := webtest.Start(t, d, nil)
	e := &apiEnv{app: app}
	e.admin = app.NewTenantUser(t, "Tenant A", account.RoleAdmin)
	e.viewer = app.NewUser(t, e.admin.TenantID, account.RoleViewer)
	e.other = app.NewTenantUser(t, "Tenant B", account.RoleAdmin)
	e.ext = fixture.Publish(t, d.DB, "jobs", "1.0.0", fixture.DefaultEndpoints, nil)
	for _, u := range []webtest.User{e.admin, e.other} {
		if status, body := app.API(t, u.Token, "POST", "/extensions/"+e.ext.Slug+"/install", `{"version":"1.0.0"}`); status != 201 {
			t.Fatalf("install: %d %s", status, body)
		}
	}
	return e
}

func (e *apiEnv) createBody(cron string) string {
	return fmt.Sprintf(`{"endpoint_id":%q,"cron":%q,"timezone":"UTC","payload_json":{"a":1}}`, e.ext.Endpoints["POST /sync"], cron)
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	return m
}

func TestScheduleAPILifecycle(t *testing.T) {
	t.Parallel()
	e := apiSetup(t)
	base := "/extensions/" + e.ext.Slug + "/schedules"
	status, body := e.app.API(t, e.admin.Token, "POST", base, e.createBody("0 9 * * *"))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	s := decode(t, body)
	for _, k := range []string{"id", "install_id", "endpoint_id", "endpoint_method", "endpoint_path", "runner_schedule_id",
		"next_run_at", "last_run_at", "last_run_status", "last_error", "last_success_at", "consecutive_failures",
		"created_at", "updated_at", "revision", "overlap_policy", "catchup_policy", "catchup_window_seconds",
		"retry_max_attempts", "pause_after_failures", "payload_json", "enabled", "name", "cron", "timezone"} {
		if _, ok := s[k]; !ok {
			t.Errorf("schedule object lacks %q: %s", k, body)
		}
	}
	if s["endpoint_method"] != "POST" || s["endpoint_path"] != "/sync" {
		t.Errorf("endpoint %v %v, want POST /sync", s["endpoint_method"], s["endpoint_path"])
	}
	id := s["id"].(string)

	status, body = e.app.API(t, e.admin.Token, "GET", base, "")
	if status != 200 || !strings.Contains(body, id) || !strings.HasPrefix(body, `{"items":[`) {
		t.Fatalf("list: %d %s", status, body)
	}
	status, body = e.app.API(t, e.admin.Token, "PATCH", base+"/"+id, `{"revision":1,"cron":"0 10 * * *"}`)
	if status != 200 || decode(t, body)["cron"] != "0 10 * * *" {
		t.Fatalf("patch: %d %s", status, body)
	}
	status, body = e.app.API(t, e.admin.Token, "PATCH", base+"/"+id, `{"revision":1,"cron":"0 11 * * *"}`)
	if status != http.StatusConflict || !strings.Contains(body, `"current":`) || !strings.Contains(body, `"0 10 * * *"`) {
		t.Fatalf("stale patch: %d %s, want 409 with the current state", status, body)
	}
	req := func(key string) (int, string) {
		r, _ := http.NewRequest("POST", e.app.URL+"/api/v1"+base+"/"+id+"/run-now", nil)
		r.Header.Set("Authorization", "bearer "+e.admin.Token) // the scheme is case-insensitive
		r.Header.Set("Idempotency-Key", key)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, "")
		buf := make([]byte, 4096)
		n, _ := res.Body.Read(buf)
		return res.StatusCode, string(buf[:n]) + res.Header.Get("Retry-After")
	}
	status, body = req("k-1")
	if status != http.StatusAccepted || !strings.Contains(body, `"trigger":"manual"`) {
		t.Fatalf("run-now: %d %s", status, body)
	}
	runID := decode(t, strings.TrimRight(body, "0123456789"))["id"]
	status, body = req("k-1")
	if status != http.StatusAccepted || !strings.Contains(body, fmt.Sprint(runID)) {
		t.Fatalf("repeated run-now key: %d %s, want the same run", status, body)
	}
	status, body = req("k-2")
	if status != http.StatusTooManyRequests {
		t.Fatalf("run-now again at once: %d %s, want 429", status, body)
	}
	status, body = e.app.API(t, e.admin.Token, "GET", base+"/"+id+"/runs", "")
	if status != 200 || !strings.Contains(body, fmt.Sprint(runID)) || !strings.Contains(body, `"next_cursor"`) {
		t.Fatalf("runs: %d %s", status, body)
	}
	status, body = e.app.API(t, e.admin.Token, "DELETE", base+"/"+id, "")
	if status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, body)
	}
	status, _ = e.app.API(t, e.admin.Token, "GET", base+"/"+id, "")
	if status != http.StatusNotFound {
		t.Fatalf("get after delete: %d, want 404", status)
	}
}

func TestScheduleAPIValidation(t *testing.T) {
	t.Parallel()
	e := apiSetup(t)
	base := "/extensions/" + e.ext.Slug + "/schedules"
	ep := e.ext.Endpoints["POST /sync"]
	cases := []struct {
		name, body string
		status     int
		field      string
	}{
		{"every minute", fmt.Sprintf(`{"endpoint_id":%q,"cron":"0-59 * * * *"}`, ep), 422, "cron"},
		{"every 4 minutes", fmt.Sprintf(`{"endpoint_id":%q,"cron":"*/4 * * * *"}`, ep), 422, "cron"},
		{"six fields", fmt.Sprintf(`{"endpoint_id":%q,"cron":"0 0 9 * * *"}`, ep), 422, "cron"},
		{"@every", fmt.Sprintf(`{"endpoint_id":%q,"cron":"@every 1m"}`, ep), 422, "cron"},
		{"both days", fmt.Sprintf(`{"endpoint_id":%q,"cron":"0 9 1 * 1"}`, ep), 422, "cron"},
		{"out of range", fmt.Sprintf(`{"endpoint_id":%q,"cron":"0 25 * * *"}`, ep), 422, "cron"},
		{"unknown zone", fmt.Sprintf(`{"endpoint_id":%q,"cron":"0 9 * * *","timezone":"Mars/Base"}`, ep), 422, "timezone"},
		{"scalar payload", fmt.Sprintf(`{"endpoint_id":%q,"cron":"0 9 * * *","payload_json":7}`, ep), 422, "payload_json"},
		{"payload as JSON text", fmt.Sprintf(`{"endpoint_id":%q,"cron":"0 9 * * *","payload_json":"{\"a\":1}"}`, ep), 422, "payload_json"},
		{"oversized payload", fmt.Sprintf(`{"endpoint_id":%q,"cron":"0 9 * * *","payload_json":{"x":"%s"}}`, ep, strings.Repeat("a", 100_001)), 422, "payload_json"},
		{"cron of wrong type", fmt.Sprintf(`{"endpoint_id":%q,"cron":5}`, ep), 422, "cron"},
		{"unknown field", fmt.Sprintf(`{"endpoint_id":%q,"cron":"0 9 * * *","colour":"red"}`, ep), 422, "colour"},
		{"malformed JSON", `{"cron":`, 400, ""},
		{"body too large", `{"name":"` + strings.Repeat("a", 1<<20) + `"}`, 413, ""},
	}
	for _, tc := range cases {
		status, body := e.app.API(t, e.admin.Token, "POST", base, tc.body)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d: %.300s", tc.name, status, tc.status, body)
			continue
		}
		m := decode(t, body)
		if m["code"] == nil || m["message"] == nil {
			t.Errorf("%s: error body lacks code/message: %.300s", tc.name, body)
		}
		if tc.field != "" {
			fe, _ := m["field_errors"].(map[string]any)
			if fe[tc.field] == nil {
				t.Errorf("%s: no field error for %s: %.300s", tc.name, tc.field, body)
			}
		}
	}
	_, body := e.app.API(t, e.admin.Token, "GET", base, "")
	if body != `{"items":[]}` {
		t.Fatalf("invalid requests stored something: %s", body)
	}
	// Duplicate name.
	named := fmt.Sprintf(`{"endpoint_id":%q,"cron":"0 9 * * *","name":"nightly"}`, ep)
	if status, body := e.app.API(t, e.admin.Token, "POST", base, named); status != 201 {
		t.Fatalf("create named: %d %s", status, body)
	}
	if status, body := e.app.API(t, e.admin.Token, "POST", base, named); status != 422 || !strings.Contains(body, `"name"`) {
		t.Fatalf("duplicate name: %d %s", status, body)
	}
	// Preview.
	status, body := e.app.API(t, e.viewer.Token, "POST", "/schedules/preview",
		`{"cron":"0 * * * *","timezone":"America/New_York","from":"2026-11-01T04:30:00Z","count":3}`)
	if status != 200 || !strings.Contains(body, `"next_fire_times":["2026-11-01T05:00:00Z","2026-11-01T06:00:00Z","2026-11-01T07:00:00Z"]`) {
		t.Fatalf("preview: %d %s", status, body)
	}
	status, body = e.app.API(t, e.viewer.Token, "POST", "/schedules/preview", `{"cron":"@every 1m","timezone":"UTC"}`)
	if status != 422 || !strings.Contains(body, `"cron"`) {
		t.Fatalf("invalid preview: %d %s", status, body)
	}
}

// Every schedule route: tenant B's token gets 404 for tenant A's ids, and
// a viewer of tenant A gets 403 on every mutation.
func TestScheduleAPIIsolation(t *testing.T) {
	t.Parallel()
	e := apiSetup(t)
	base := "/extensions/" + e.ext.Slug + "/schedules"
	status, body := e.app.API(t, e.admin.Token, "POST", base, e.createBody("0 9 * * *"))
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	id := decode(t, body)["id"].(string)
	routes := []struct {
		method, path, body string
		mutation           bool
	}{
		{"GET", base + "/" + id, "", false},
		{"GET", base + "/" + id + "/runs", "", false},
		{"PATCH", base + "/" + id, `{"revision":1,"cron":"0 1 * * *"}`, true},
		{"POST", base + "/" + id + "/run-now", "", true},
		{"DELETE", base + "/" + id, "", true},
	}
	for _, r := range routes {
		status, body := e.app.API(t, e.other.Token, r.method, r.path, r.body)
		if status != http.StatusNotFound {
			t.Errorf("tenant B %s %s: %d %s, want 404", r.method, r.path, status, body)
		}
		if r.mutation {
			status, body = e.app.API(t, e.viewer.Token, r.method, r.path, r.body)
			if status != http.StatusForbidden {
				t.Errorf("viewer %s %s: %d %s, want 403", r.method, r.path, status, body)
			}
		}
	}
	if status, body := e.app.API(t, e.viewer.Token, "POST", base, e.createBody("0 9 * * *")); status != http.StatusForbidden {
		t.Errorf("viewer create: %d %s, want 403", status, body)
	}
	// Tenant B's list does not show A's schedule; A's schedule is intact.
	_, body = e.app.API(t, e.other.Token, "GET", base, "")
	if strings.Contains(body, id) {
		t.Fatalf("tenant B lists tenant A's schedule: %s", body)
	}
	status, body = e.app.API(t, e.admin.Token, "GET", base+"/"+id, "")
	if status != 200 || decode(t, body)["revision"].(float64) != 1 {
		t.Fatalf("tenant A's schedule changed: %d %s", status, body)
	}
}

func TestExtensionAPI(t *testing.T) {
	t.Parallel()
	e := apiSetup(t)
	status, body := e.app.API(t, e.admin.Token, "GET", "/extensions", "")
	if status != 200 || !strings.Contains(body, `"slug":"`+e.ext.Slug+`"`) || !strings.Contains(body, `"install_id"`) {
		t.Fatalf("list installs: %d %s", status, body)
	}
	status, body = e.app.API(t, e.viewer.Token, "GET", "/extensions/"+e.ext.Slug+"/endpoints", "")
	if status != 200 {
		t.Fatalf("endpoints: %d %s", status, body)
	}
	var eps struct {
		Items []struct {
			Method, Path, Reason string
			Schedulable          bool
		}
	}
	if err := json.Unmarshal([]byte(body), &eps); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, ep := range eps.Items {
		got[ep.Method+" "+ep.Path] = ep.Schedulable
		if !ep.Schedulable && ep.Reason == "" {
			t.Errorf("%s %s is not schedulable but has no reason", ep.Method, ep.Path)
		}
	}
	if !got["POST /sync"] || got["DELETE /cache"] || got["GET /items/{id}"] {
		t.Fatalf("schedulable flags %v", got)
	}
	if status, _ := e.app.API(t, e.viewer.Token, "POST", "/extensions/"+e.ext.Slug+"/disable", ""); status != 403 {
		t.Fatalf("viewer disable: %d, want 403", status)
	}
	if status, body := e.app.API(t, e.admin.Token, "POST", "/extensions/"+e.ext.Slug+"/disable", ""); status != 200 || !strings.Contains(body, `"enabled":false`) {
		t.Fatalf("disable: %d %s", status, body)
	}
	if status, _ := e.app.API(t, e.admin.Token, "GET", "/extensions/fixture.nope", ""); status != 404 {
		t.Fatalf("unknown extension: %d, want 404", status)
	}
	if status, body := e.app.API(t, e.admin.Token, "DELETE", "/extensions/"+e.ext.Slug, ""); status != 204 {
		t.Fatalf("uninstall: %d %s", status, body)
	}
	if status, _ := e.app.API(t, e.admin.Token, "GET", "/extensions/"+e.ext.Slug, ""); status != 404 {
		t.Fatalf("get after uninstall: %d, want 404", status)
	}
	// Tenant B's install is untouched.
	if status, _ := e.app.API(t, e.other.Token, "GET", "/extensions/"+e.ext.Slug, ""); status != 200 {
		t.Fatalf("tenant B's install: %d, want 200", status)
	}
}

// A known path with a method it does not have answers 405 naming the ones
// it has; an unknown path answers 404.
func TestAPIWrongMethod(t *testing.T) {
	t.Parallel()
	e := apiSetup(t)
	req, err := http.NewRequest("PUT", e.app.URL+"/api/v1/extensions/"+e.ext.Slug+"/schedules/"+fmt.Sprint(e.ext.VersionID), strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.admin.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "DELETE, GET, PATCH" || body["code"] != "method_not_allowed" {
		t.Fatalf("PUT on a schedule: %d, Allow %q, %v; want 405, Allow DELETE, GET, PATCH", res.StatusCode, res.Header.Get("Allow"), body)
	}
	if status, body := e.app.API(t, e.admin.Token, "GET", "/extensions/"+e.ext.Slug+"/nothing-here", ""); status != 404 || !strings.Contains(body, `"not_found"`) {
		t.Fatalf("unknown path: %d %s, want 404", status, body)
	}
	if status, _ := e.app.API(t, e.admin.Token, "GET", "/schedules/preview", ""); status != http.StatusMethodNotAllowed {
		t.Fatalf("GET on the preview route: %d, want 405", status)
	}
}
