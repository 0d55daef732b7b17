package runner

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func contains(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func TestEmbeddedRunsSampleOverHTTP(t *testing.T) {
	t.Parallel()
	f := shared(t)
	client := NewClient(f.url, 30*time.Second, 0, nil)

	call := f.call("crm-sync-v1", "POST", "/sync/contacts", `{"since":"2026-01-01","limit":5}`)
	call.TenantID = "tenant-over-http"
	call.Config = map[string]string{"region": "us"}
	res := client.Execute(context.Background(), call)
	if !res.Success || res.ExtensionStatus != 200 || res.RunnerHTTPStatus != 200 {
		t.Fatalf("Execute = %+v, want success with status 200", res)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(res.Excerpt), &body); err != nil {
		t.Fatalf("excerpt is not the extension's JSON: %q", res.Excerpt)
	}
	want := map[string]any{
		"action": "sync_contacts", "version": "1.0.0", "synced": float64(5), "region": "us",
		"since": "2026-01-01", "payload_bytes": float64(len(call.Payload)), "invocation_id": call.InvocationID,
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("extension answered %s = %v, want %v (body %s)", k, body[k], v, res.Excerpt)
		}
	}
	if !contains(res.Logs, "synced 5 contacts in region us (trigger schedule, attempt 2)") {
		t.Errorf("stderr lines = %q, want the sync log line", res.Logs)
	}
	logged := f.logs.String()
	for _, frag := range []string{`"msg":"extension log"`, `"tenant_id":"tenant-over-http"`, `"install_id":"` + call.InstallID + `"`, `"request_id":"` + res.RequestID + `"`} {
		if !strings.Contains(logged, frag) {
			t.Errorf("runner log lacks %s", frag)
		}
	}

	// GET never carries a body; the templated path finds its handler.
	res = client.Execute(context.Background(), f.call("crm-sync-v1", "GET", "/cache/refresh", `{"ignored":true}`))
	if !res.Success || !strings.Contains(res.Excerpt, `"payload_bytes":0`) || !strings.Contains(res.Excerpt, `"scheduled_for":"2026-03-29T07:00:00Z"`) {
		t.Errorf("GET /cache/refresh = %+v", res)
	}
	res = client.Execute(context.Background(), f.call("crm-sync-v1", "GET", "/contacts/42", ""))
	if !res.Success || !strings.Contains(res.Excerpt, `"id":"42"`) {
		t.Errorf("GET /contacts/42 = %+v", res)
	}
}

func TestEmbeddedVersionsDifferInEndpoints(t *testing.T) {
	t.Parallel()
	f := shared(t)
	client := NewClient(f.url, 30*time.Second, 0, nil)
	if res := client.Execute(context.Background(), f.call("crm-sync-v1", "POST", "/reminders/send", `{"template":"t1"}`)); !res.Success {
		t.Errorf("v1 POST /reminders/send = %+v, want success", res)
	}
	res := client.Execute(context.Background(), f.call("crm-sync-v2", "POST", "/reminders/send", `{}`))
	if want := "runner error: the extension version declares no endpoint POST /reminders/send"; res.Success || res.Retryable || res.Reason != want {
		t.Errorf("v2 POST /reminders/send = %+v, want final failure %q", res, want)
	}
	res = client.Execute(context.Background(), f.call("crm-sync-v2", "POST", "/sync/deals", `{"pipeline":"b2b"}`))
	if !res.Success || !strings.Contains(res.Excerpt, `"version":"2.0.0"`) {
		t.Errorf("v2 POST /sync/deals = %+v", res)
	}
}

func TestEmbeddedStopsGuestsAtTheDeadline(t *testing.T) {
	t.Parallel()
	f := shared(t)
	const timeout = 500 * time.Millisecond
	for _, path := range []string{"/sleep", "/spin"} {
		t.Run("runner"+path, func(t *testing.T) {
			t.Parallel()
			req := &Request{
				Context: ExecContext{VersionID: "slowpoke", ContentHash: f.hashes["slowpoke"]},
				HTTP:    HTTPRequest{Method: "GET", Path: path},
				Limits:  Limits{TimeoutMS: timeout.Milliseconds()},
			}
			start := time.Now()
			status, resp := f.runner.execute(context.Background(), req)
			elapsed := time.Since(start)
			if status != http.StatusGatewayTimeout || resp.Error != "extension exceeded its time limit" {
				t.Errorf("execute = %d %+v, want 504 with the time limit error", status, resp)
			}
			// The guest itself was stopped: execute only returns once it has.
			if elapsed > timeout+5*time.Second {
				t.Errorf("guest stopped after %v, want about %v", elapsed, timeout)
			}
		})
		t.Run("client"+path, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			res := NewClient(f.url, timeout, 0, nil).Execute(context.Background(), f.call("slowpoke", "GET", path, ""))
			elapsed := time.Since(start)
			// Client and runner share the deadline; either may report first,
			// and both are retryable timeouts.
			if res.Success || !res.Retryable ||
				(res.Reason != "timeout after 500ms" && res.Reason != "runner HTTP 504: extension exceeded its time limit") {
				t.Errorf("Execute = %+v, want a retryable timeout", res)
			}
			if elapsed > timeout+5*time.Second {
				t.Errorf("Execute returned after %v, want about %v", elapsed, timeout)
			}
		})
	}
}

func TestEmbeddedEnforcesMemoryLimit(t *testing.T) {
	t.Parallel()
	f := shared(t)
	client := NewClient(f.url, 30*time.Second, 0, nil)
	call := f.call("slowpoke", "POST", "/alloc", `{"mb":512}`)
	call.MemoryMB = 64
	res := client.Execute(context.Background(), call)
	if want := "runner error: extension exceeded its memory limit"; res.Success || res.Retryable || res.Reason != want {
		t.Errorf("alloc 512 MiB in 64 MiB = %+v, want %q", res, want)
	}
	call.Payload = json.RawMessage(`{"mb":8}`)
	if res := client.Execute(context.Background(), call); !res.Success || !strings.Contains(res.Excerpt, `"allocated_mb":8`) {
		t.Errorf("alloc 8 MiB in 64 MiB = %+v, want success", res)
	}
	call.MemoryMB = 1 // below the module's initial memory
	if res := client.Execute(context.Background(), call); res.Reason != "runner error: extension exceeded its memory limit" {
		t.Errorf("1 MiB limit = %+v, want the memory limit failure", res)
	}
}

func TestEmbeddedFailureModes(t *testing.T) {
	t.Parallel()
	f := shared(t)
	tests := []struct {
		mode      string
		success   bool
		retryable bool
		reason    string
		excerpt   string
		log       string
	}{
		{"ok", true, false, "", `{"result":"ok"}`, `flaky: mode "ok"`},
		{"fail500", false, true, "extension status 500", `{"error":"internal failure"}`, ""},
		{"fail400", false, false, "extension status 400", `{"error":"bad request"}`, ""},
		{"429", false, true, "extension status 429", `{"error":"slow down"}`, ""},
		{"garbage", false, false, "runner error: extension wrote invalid output", "", ""},
		{"empty", false, false, "runner error: extension wrote no output", "", ""},
		{"crash", false, false, "runner error: extension crashed: exit code 2", "", "panic: flaky: crashing on purpose"},
		{"readfile", true, false, "", `"readfile":"denied"`, ""},
		{"env", true, false, "", `{"args":["extension"],"env":[]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			res := NewClient(f.url, 30*time.Second, 0, nil).Execute(context.Background(), f.call("flaky", "POST", "/work", `{"mode":"`+tt.mode+`"}`))
			if res.Success != tt.success || res.Retryable != tt.retryable || res.Reason != tt.reason {
				t.Errorf("got success=%v retryable=%v reason=%q, want %v %v %q", res.Success, res.Retryable, res.Reason, tt.success, tt.retryable, tt.reason)
			}
			if !strings.Contains(res.Excerpt, tt.excerpt) {
				t.Errorf("excerpt = %q, want it to contain %q", res.Excerpt, tt.excerpt)
			}
			if tt.log != "" && !contains(res.Logs, tt.log) {
				t.Errorf("logs = %q, want a line with %q", res.Logs, tt.log)
			}
		})
	}
}

func TestEmbeddedHugeOutputIsTooLargeForTheClient(t *testing.T) {
	t.Parallel()
	f := shared(t)
	res := NewClient(f.url, 30*time.Second, 262144, nil).Execute(context.Background(), f.call("flaky", "POST", "/work", `{"mode":"huge","kb":1024}`))
	if want := "response too large (more than 262144 bytes)"; res.Success || res.Retryable || res.Reason != want {
		t.Errorf("huge = %+v, want %q", res, want)
	}
	// Past the runner's own output cap, the runner refuses it itself.
	res = NewClient(f.url, 30*time.Second, 262144, nil).Execute(context.Background(), f.call("flaky", "POST", "/work", `{"mode":"huge","kb":9000}`))
	if want := "runner error: extension wrote too much output (more than 8388608 bytes)"; res.Reason != want {
		t.Errorf("very huge = %+v, want %q", res, want)
	}
}

func TestEmbeddedCachesCompiledModules(t *testing.T) {
	t.Parallel()
	f := newEmbeddedFixture(t)
	client := NewClient(f.url, 30*time.Second, 0, nil)
	var wg sync.WaitGroup
	for range 4 { // concurrent first calls compile once
		wg.Go(func() {
			if res := client.Execute(context.Background(), f.call("crm-sync-v1", "GET", "/cache/refresh", "")); !res.Success {
				t.Errorf("call = %+v", res)
			}
		})
	}
	wg.Wait()
	if res := client.Execute(context.Background(), f.call("crm-sync-v1", "GET", "/cache/refresh", "")); !res.Success {
		t.Errorf("call = %+v", res)
	}
	got := f.runner.Stats()
	if got.Compiles != 1 || got.CachedModules != 1 || got.Executions != 5 {
		t.Errorf("Stats = %+v, want 1 compile, 1 cached module, 5 executions", got)
	}
}

// The cache keeps at most WithMaxModules compiled modules: the least
// recently used goes, and comes back compiled again when called.
func TestEmbeddedDropsLeastRecentlyUsedModule(t *testing.T) {
	t.Parallel()
	shared(t) // fills the compilation cache first
	store, hashes := sampleStore(t)
	e := NewEmbedded(store, nil, WithCompilationCache(testCompilationCache()), WithMaxModules(1))
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := e.Close(context.Background()); err != nil {
			t.Errorf("closing the embedded runner: %v", err)
		}
	})
	f := &embeddedFixture{runner: e, store: store, hashes: hashes, url: srv.URL}
	client := NewClient(srv.URL, 30*time.Second, 0, nil)
	for _, sample := range []string{"crm-sync-v1", "crm-sync-v2", "crm-sync-v1"} {
		if res := client.Execute(context.Background(), f.call(sample, "GET", "/cache/refresh", "")); !res.Success {
			t.Fatalf("%s: %+v", sample, res)
		}
	}
	if s := e.Stats(); s.Compiles != 3 || s.CachedModules != 1 || s.Executions != 3 {
		t.Errorf("Stats = %+v, want 3 compiles, 1 cached module, 3 executions", s)
	}
}

func TestEmbeddedRefusesContentHashMismatch(t *testing.T) {
	t.Parallel()
	f := newEmbeddedFixture(t)
	call := f.call("crm-sync-v1", "GET", "/cache/refresh", "")
	call.ContentHash = f.hashes["crm-sync-v2"] // the store's bytes are v1's
	res := NewClient(f.url, 30*time.Second, 0, nil).Execute(context.Background(), call)
	if want := "runner error: extension module does not match its content hash"; res.Success || res.Reason != want {
		t.Errorf("mismatch = %+v, want %q", res, want)
	}
	if s := f.runner.Stats(); s.Compiles != 0 || s.CachedModules != 0 {
		t.Errorf("Stats = %+v, want nothing compiled", s)
	}
}

// failingStore is a ModuleStore whose backend is down.
type failingStore struct{}

func (failingStore) Handler(context.Context, string, string, string) (string, error) {
	return "", errors.New("connection to database lost")
}

func (failingStore) Module(context.Context, string, string) ([]byte, error) {
	return nil, errors.New("connection to database lost")
}

func TestEmbeddedStoreErrors(t *testing.T) {
	t.Parallel()
	e := NewEmbedded(failingStore{}, nil)
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	defer e.Close(context.Background())
	call := testCall()
	call.ContentHash = ContentHash([]byte("x"))
	res := NewClient(srv.URL, time.Second, 0, nil).Execute(context.Background(), call)
	if want := "runner HTTP 503: module store unavailable"; res.Success || !res.Retryable || res.Reason != want {
		t.Errorf("store down = %+v, want a retryable %q", res, want)
	}

	// An unknown version is final.
	e2 := NewEmbedded(NewMemoryStore(), nil)
	defer e2.Close(context.Background())
	status, resp := e2.execute(context.Background(), &Request{
		Context: ExecContext{VersionID: "nope", ContentHash: call.ContentHash},
		HTTP:    HTTPRequest{Method: "GET", Path: "/x"},
	})
	if status != 200 || !strings.Contains(resp.Error, "declares no endpoint GET /x") {
		t.Errorf("unknown version = %d %+v", status, resp)
	}
}

func TestEmbeddedRejectsBadRequests(t *testing.T) {
	t.Parallel()
	e := NewEmbedded(NewMemoryStore(), nil)
	defer e.Close(context.Background())
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	valid := `{"context":{"version_id":"v","content_hash":"` + ContentHash(nil) + `"},"http":{"method":"GET","path":"/x"},"limits":{}}`
	tests := []struct {
		name   string
		method string
		body   string
		status int
		err    string
	}{
		{"too large", "POST", `{"http":{"body_b64":"` + strings.Repeat("A", MaxRequestBytes) + `"}}`, 413, "request too large (more than 2097152 bytes)"},
		{"not JSON", "POST", `{`, 400, "invalid request: body is not a valid execute request"},
		{"bad hash", "POST", strings.Replace(valid, "sha256:", "md5:", 1), 400, "invalid request: context.content_hash must be sha256:<64 hex digits>"},
		{"no path", "POST", strings.Replace(valid, `"/x"`, `""`, 1), 400, "invalid request: http.path must start with /"},
		{"memory too big", "POST", strings.Replace(valid, `"limits":{}`, `"limits":{"memory_mb":5000}`, 1), 400, "invalid request: limits.memory_mb must be between 0 and 4096"},
		{"bad body", "POST", strings.Replace(valid, `"path":"/x"`, `"path":"/x","body_b64":"%%"`, 1), 400, "invalid request: http.body_b64 is not valid base64"},
		{"valid but unknown", "POST", valid, 200, "the extension version declares no endpoint GET /x"},
		{"wrong method", "GET", "", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+ExecutePath, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tt.status, raw)
			}
			if tt.err == "" {
				return
			}
			var r Response
			if err := json.Unmarshal(raw, &r); err != nil || r.Error != tt.err {
				t.Errorf("body = %s, want error %q", raw, tt.err)
			}
		})
	}
}

func TestEmbeddedPassesTheRequestToTheGuest(t *testing.T) {
	t.Parallel()
	f := shared(t)
	// Query and headers reach the guest (for non-scheduled callers); the body
	// is decoded by the guest as sent.
	payload := `{"mode":"ok"}`
	req := &Request{
		Context: ExecContext{VersionID: "flaky", ContentHash: f.hashes["flaky"], TenantID: "t", Attempt: 3},
		HTTP:    HTTPRequest{Method: "post", Path: "/work", BodyB64: base64.StdEncoding.EncodeToString([]byte(payload))},
	}
	status, resp := f.runner.execute(context.Background(), req)
	if status != 200 || resp.Status != 200 || !contains(resp.Logs, `mode "ok" (attempt 3)`) {
		t.Errorf("execute = %d %+v", status, resp)
	}
}

func TestEmbeddedServe(t *testing.T) {
	t.Parallel()
	e := NewEmbedded(NewMemoryStore(), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, []byte("ok\n")) {
		t.Errorf("healthz = %d %q", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v, want nil after shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after cancel")
	}
	if status, resp := e.execute(context.Background(), &Request{}); status != 503 || resp.Error != "runner is shutting down" {
		t.Errorf("after Serve returned: %d %+v, want 503 shutting down", status, resp)
	}
}

func TestMatchPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		template, path string
		want           bool
	}{
		{"/cache/refresh", "/cache/refresh", true},
		{"/contacts/{id}", "/contacts/42", true},
		{"/contacts/{id}", "/contacts/", false},
		{"/contacts/{id}", "/contacts/42/notes", false},
		{"/hooks/:id", "/hooks/abc", true},
		{"/deliveries/*/replay", "/deliveries/7/replay", true},
		{"/files/*", "/files/a/b/c", true},
		{"/files/*", "/files", false},
		{"/a", "/b", false},
	}
	for _, tt := range tests {
		if got := MatchPath(tt.template, tt.path); got != tt.want {
			t.Errorf("MatchPath(%q, %q) = %v, want %v", tt.template, tt.path, got, tt.want)
		}
	}
	eps := []Endpoint{{"GET", "/contacts/{id}", "byID"}, {"GET", "/contacts/me", "me"}}
	if h, _ := FindHandler(eps, "get", "/contacts/me"); h != "me" {
		t.Errorf("FindHandler preferred %q over the exact match", h)
	}
	if _, err := FindHandler(eps, "POST", "/contacts/me"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindHandler(POST) error = %v, want ErrNotFound", err)
	}
}

// BenchmarkEmbeddedCall measures one call to crm-sync GET /cache/refresh
// through the contract client and the embedded runner on loopback: cold (a
// new runner each time, so the module is compiled) and warm (cached module).
func BenchmarkEmbeddedCall(b *testing.B) {
	store, hashes := sampleStore(b)
	call := testCall()
	call.VersionID, call.ContentHash, call.Method, call.Path, call.Payload = "crm-sync-v1", hashes["crm-sync-v1"], "GET", "/cache/refresh", nil

	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			e := NewEmbedded(store, nil)
			srv := httptest.NewServer(e.Handler())
			if res := NewClient(srv.URL, time.Minute, 0, nil).Execute(context.Background(), call); !res.Success {
				b.Fatalf("call = %+v", res)
			}
			srv.Close()
			_ = e.Close(context.Background())
		}
	})
	b.Run("warm", func(b *testing.B) {
		e := NewEmbedded(store, nil)
		defer e.Close(context.Background())
		srv := httptest.NewServer(e.Handler())
		defer srv.Close()
		client := NewClient(srv.URL, time.Minute, 0, nil)
		if res := client.Execute(context.Background(), call); !res.Success {
			b.Fatalf("warm-up call = %+v", res)
		}
		for b.Loop() {
			if res := client.Execute(context.Background(), call); !res.Success {
				b.Fatalf("call = %+v", res)
			}
		}
	})
}

func TestSampleManifests(t *testing.T) {
	t.Parallel()
	dirs := []string{"crm-sync/v1", "crm-sync/v2", "slowpoke", "flaky", "webhooks-only"}
	endpoints := map[string]map[string]bool{}
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join("..", "extensions", "samples", dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Publisher    string   `json:"publisher"`
			Name         string   `json:"name"`
			Version      string   `json:"version"`
			DisplayName  string   `json:"display_name"`
			Description  string   `json:"description"`
			Runtime      string   `json:"runtime"`
			Module       string   `json:"module"`
			Capabilities []string `json:"capabilities"`
			API          struct {
				Endpoints []struct{ Method, Path, Handler string } `json:"endpoints"`
			} `json:"api"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if m.Publisher != "acme" || m.Name == "" || m.DisplayName == "" || m.Description == "" ||
			m.Runtime != "wasm32-wasip1" || m.Module != "module.wasm" || len(m.Capabilities) == 0 ||
			len(m.API.Endpoints) == 0 || len(strings.Split(m.Version, ".")) != 3 {
			t.Errorf("%s: incomplete manifest: %+v", dir, m)
		}
		endpoints[dir] = map[string]bool{}
		for _, ep := range m.API.Endpoints {
			endpoints[dir][ep.Method+" "+ep.Path] = true
		}
	}
	if !endpoints["crm-sync/v1"]["POST /reminders/send"] || endpoints["crm-sync/v2"]["POST /reminders/send"] {
		t.Error("crm-sync v2 must drop POST /reminders/send that v1 declares")
	}
	for ep := range endpoints["webhooks-only"] {
		if strings.HasPrefix(ep, "GET ") || (strings.HasPrefix(ep, "POST ") && !strings.ContainsAny(ep, ":{}*")) {
			t.Errorf("webhooks-only declares schedulable endpoint %s", ep)
		}
	}
}

func TestSampleHandlersExist(t *testing.T) {
	t.Parallel()
	f := shared(t)
	client := NewClient(f.url, 30*time.Second, 0, nil)
	for _, sample := range []string{"crm-sync-v1", "crm-sync-v2", "flaky"} {
		for _, ep := range manifestEndpoints(t, sample) {
			path := strings.ReplaceAll(ep.Path, "{id}", "7")
			res := client.Execute(context.Background(), f.call(sample, ep.Method, path, `{}`))
			if !res.Success {
				t.Errorf("%s %s %s = %+v, want success", sample, ep.Method, path, res)
			}
		}
	}
}

// TestEmbeddedLeavesNoGoroutines runs a normal call and a guest stopped at its
// deadline, then closes the runner: nothing it started may outlive Close. Not
// parallel, so other tests' goroutines do not interfere.
func TestEmbeddedLeavesNoGoroutines(t *testing.T) {
	store, hashes := sampleStore(t)
	shared(t) // fill the compilation cache before measuring
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	e := NewEmbedded(store, nil, WithCompilationCache(testCompilationCache()))
	status, resp := e.execute(context.Background(), &Request{
		Context: ExecContext{VersionID: "crm-sync-v1", ContentHash: hashes["crm-sync-v1"]},
		HTTP:    HTTPRequest{Method: "GET", Path: "/cache/refresh"},
		Limits:  Limits{TimeoutMS: 60_000},
	})
	if status != 200 || resp.Status != 200 {
		t.Errorf("refresh = %d %+v", status, resp)
	}
	status, resp = e.execute(context.Background(), &Request{
		Context: ExecContext{VersionID: "slowpoke", ContentHash: hashes["slowpoke"]},
		HTTP:    HTTPRequest{Method: "GET", Path: "/sleep"},
		Limits:  Limits{TimeoutMS: 300},
	})
	if status != http.StatusGatewayTimeout {
		t.Errorf("sleep = %d %+v, want 504", status, resp)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
