package runner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// recordedCall is what the test runner received.
type recordedCall struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// testRunner is a loopback runner that records every request and answers
// with whatever the test's respond function writes.
type testRunner struct {
	*httptest.Server
	mu    sync.Mutex
	calls []recordedCall
}

func newTestRunner(t *testing.T, respond http.HandlerFunc) *testRunner {
	t.Helper()
	tr := &testRunner{}
	tr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tr.mu.Lock()
		tr.calls = append(tr.calls, recordedCall{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		tr.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(tr.Close)
	return tr
}

// waitCall waits (bounded) until the runner has recorded call i: a client
// that timed out may return before the server goroutine got to record it.
func (tr *testRunner) waitCall(t *testing.T, i int) recordedCall {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr.mu.Lock()
		n := len(tr.calls)
		tr.mu.Unlock()
		if n > i || time.Now().After(deadline) {
			return tr.call(t, i)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (tr *testRunner) call(t *testing.T, i int) recordedCall {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if i >= len(tr.calls) {
		t.Fatalf("runner received %d calls, want at least %d", len(tr.calls), i+1)
	}
	return tr.calls[i]
}

// answer returns a responder writing status and body.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// extensionOK is a runner answer for a successful extension call.
var extensionOK = `{"status":200,"headers":{"content-type":"application/json"},"body_b64":"` + b64(`{"ok":true}`) + `"}`

// testCall returns a fully populated scheduled POST call.
func testCall() Call {
	return Call{
		TenantID:     "0b7d6f1e-0000-4000-8000-000000000001",
		ExtensionID:  "0b7d6f1e-0000-4000-8000-000000000002",
		InstallID:    "0b7d6f1e-0000-4000-8000-000000000003",
		VersionID:    "0b7d6f1e-0000-4000-8000-000000000004",
		ContentHash:  "sha256:" + strings.Repeat("ab", 32),
		Config:       map[string]string{"region": "eu"},
		Trigger:      "schedule",
		ScheduleID:   "0b7d6f1e-0000-4000-8000-000000000005",
		ScheduledFor: time.Date(2026, 3, 29, 9, 0, 0, 0, time.FixedZone("CEST", 2*3600)),
		InvocationID: "0b7d6f1e-0000-4000-8000-000000000006",
		Attempt:      2,
		Method:       "POST",
		Path:         "/sync/contacts",
		Payload:      json.RawMessage(`{"since":"2026-01-01","limit":10}`),
		MemoryMB:     128,
	}
}

func decodeObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("request body is not a JSON object: %v\n%s", err, b)
	}
	return m
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestClientSendsContractRequest(t *testing.T) {
	t.Parallel()
	tr := newTestRunner(t, answer(200, extensionOK))
	c := NewClient(tr.URL+"/", 30*time.Second, 0, nil)
	call := testCall()
	call.Providers = []string{"cap:log.emit", "cap:http.fetch"}
	call.SecretEnvelope = &SecretEnvelope{CiphertextB64: b64("sealed"), KeyID: "k1"}

	res := c.Execute(context.Background(), call)
	if !res.Success {
		t.Fatalf("Execute failed: %+v", res)
	}
	got := tr.call(t, 0)
	if got.Method != http.MethodPost || got.Path != "/v1/execute" {
		t.Errorf("request line = %s %s, want POST /v1/execute", got.Method, got.Path)
	}
	body := decodeObject(t, got.Body)

	wantTop := []string{"context", "http", "limits", "providers", "secret_envelope"}
	if ks := keys(body); len(ks) != len(wantTop) {
		t.Errorf("top-level keys = %v, want exactly %v", ks, wantTop)
	}
	if _, ok := body["user"]; ok {
		t.Error("request carries a user field; scheduled runs must not")
	}

	ctx := body["context"].(map[string]any)
	wantCtx := map[string]any{
		"request_id":    res.RequestID,
		"tenant_id":     call.TenantID,
		"extension_id":  call.ExtensionID,
		"install_id":    call.InstallID,
		"version_id":    call.VersionID,
		"content_hash":  call.ContentHash,
		"config":        map[string]any{"region": "eu"},
		"trigger":       "schedule",
		"schedule_id":   call.ScheduleID,
		"scheduled_for": "2026-03-29T07:00:00Z",
		"invocation_id": call.InvocationID,
		"attempt":       float64(2),
	}
	if !reflect.DeepEqual(ctx, wantCtx) {
		t.Errorf("context =\n%v\nwant\n%v", ctx, wantCtx)
	}
	if res.RequestID == "" {
		t.Error("Result.RequestID is empty")
	}

	httpPart := body["http"].(map[string]any)
	wantHTTP := map[string]any{
		"method":   "POST",
		"path":     "/sync/contacts",
		"query":    map[string]any{},
		"headers":  map[string]any{},
		"body_b64": b64(`{"since":"2026-01-01","limit":10}`),
	}
	if !reflect.DeepEqual(httpPart, wantHTTP) {
		t.Errorf("http = %v, want %v", httpPart, wantHTTP)
	}
	// The raw JSON must carry the empty objects, not null.
	for _, frag := range []string{`"query":{}`, `"headers":{}`} {
		if !strings.Contains(string(got.Body), frag) {
			t.Errorf("raw body lacks %s: %s", frag, got.Body)
		}
	}

	wantLimits := map[string]any{"timeout_ms": float64(30000), "memory_mb": float64(128)}
	if !reflect.DeepEqual(body["limits"], wantLimits) {
		t.Errorf("limits = %v, want %v", body["limits"], wantLimits)
	}
	if want := []any{"cap:log.emit", "cap:http.fetch"}; !reflect.DeepEqual(body["providers"], want) {
		t.Errorf("providers = %v, want %v", body["providers"], want)
	}
	wantEnv := map[string]any{"ciphertext_b64": b64("sealed"), "key_id": "k1"}
	if !reflect.DeepEqual(body["secret_envelope"], wantEnv) {
		t.Errorf("secret_envelope = %v, want %v", body["secret_envelope"], wantEnv)
	}

	wantHeaders := map[string]string{
		"Content-Type":        "application/json",
		"X-Request-Id":        res.RequestID,
		"X-Idempotency-Key":   call.InvocationID,
		"X-Extcron-Tenant":    call.TenantID,
		"X-Extcron-Extension": call.ExtensionID,
	}
	for k, want := range wantHeaders {
		if v := got.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
}

func TestClientOmitsOptionalFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		method  string
		payload json.RawMessage
	}{
		{"GET with payload", "GET", json.RawMessage(`{"a":1}`)},
		{"POST without payload", "POST", nil},
		{"POST with null payload", "POST", json.RawMessage(`null`)},
		{"POST with spaced null payload", "POST", json.RawMessage(" null\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRunner(t, answer(200, extensionOK))
			c := NewClient(tr.URL, time.Second, 0, nil)
			call := testCall()
			call.Method, call.Payload, call.Config, call.MemoryMB = tt.method, tt.payload, nil, 0
			if res := c.Execute(context.Background(), call); !res.Success {
				t.Fatalf("Execute failed: %+v", res)
			}
			body := decodeObject(t, tr.call(t, 0).Body)
			for _, k := range []string{"providers", "secret_envelope", "user"} {
				if _, ok := body[k]; ok {
					t.Errorf("request has %q, want it omitted", k)
				}
			}
			httpPart := body["http"].(map[string]any)
			if _, ok := httpPart["body_b64"]; ok {
				t.Errorf("http.body_b64 present, want absent: %v", httpPart)
			}
			if !reflect.DeepEqual(httpPart["headers"], map[string]any{}) {
				t.Errorf("http.headers = %v, want {}", httpPart["headers"])
			}
			ctx := body["context"].(map[string]any)
			if !reflect.DeepEqual(ctx["config"], map[string]any{}) {
				t.Errorf("context.config = %v, want {}", ctx["config"])
			}
			limits := body["limits"].(map[string]any)
			if limits["memory_mb"] != float64(DefaultMemoryMB) || limits["timeout_ms"] != float64(1000) {
				t.Errorf("limits = %v, want memory_mb %d and timeout_ms 1000", limits, DefaultMemoryMB)
			}
		})
	}
}

func TestClientRequestIDAndIdempotencyKey(t *testing.T) {
	t.Parallel()
	tr := newTestRunner(t, answer(200, extensionOK))
	c := NewClient(tr.URL, time.Second, 0, nil)
	call := testCall()
	first := c.Execute(context.Background(), call)
	call.Attempt++
	second := c.Execute(context.Background(), call)

	a, b := tr.call(t, 0), tr.call(t, 1)
	if a.Header.Get(HeaderRequestID) == b.Header.Get(HeaderRequestID) {
		t.Errorf("both attempts sent x-request-id %q; want a new one per attempt", a.Header.Get(HeaderRequestID))
	}
	for i, rc := range []recordedCall{a, b} {
		ctx := decodeObject(t, rc.Body)["context"].(map[string]any)
		if ctx["request_id"] != rc.Header.Get(HeaderRequestID) {
			t.Errorf("call %d: context.request_id %v != x-request-id %q", i, ctx["request_id"], rc.Header.Get(HeaderRequestID))
		}
		if got := rc.Header.Get(HeaderIdempotencyKey); got != call.InvocationID {
			t.Errorf("call %d: x-idempotency-key = %q, want the invocation id %q", i, got, call.InvocationID)
		}
	}
	if first.RequestID != a.Header.Get(HeaderRequestID) || second.RequestID != b.Header.Get(HeaderRequestID) {
		t.Error("Result.RequestID differs from the x-request-id sent")
	}
}

func TestClientClassifiesAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		body      string
		success   bool
		retryable bool
		reason    string
		extStatus int
		excerpt   string
	}{
		{"success", 200, extensionOK, true, false, "", 200, `{"ok":true}`},
		{"success with null error", 200, `{"status":201,"error":null,"body_b64":"` + b64("made") + `"}`, true, false, "", 201, "made"},
		{"success without body", 200, `{"status":204,"headers":{}}`, true, false, "", 204, ""},
		{"empty", 200, "", false, false, "empty response from runner", 0, ""},
		{"blank", 200, " \n", false, false, "empty response from runner", 0, ""},
		{"not JSON", 200, "<html>hello</html>", false, false, "runner response is not JSON", 0, ""},
		{"JSON but not an object", 200, `[1,2]`, false, false, "runner response is not a JSON object", 0, ""},
		{"runner 500", 500, `{"error":"module store unavailable"}`, false, true, "runner HTTP 500: module store unavailable", 0, ""},
		{"runner 502 from a proxy", 502, "<html>Bad Gateway</html>", false, true, "runner HTTP 502", 0, ""},
		{"runner 400", 400, `{"error":"invalid request: http.path must start with /"}`, false, false, "runner HTTP 400: invalid request: http.path must start with /", 0, ""},
		{"runner 413", 413, ``, false, false, "runner HTTP 413", 0, ""},
		{"error set", 200, `{"error":"extension crashed: exit code 2"}`, false, false, "runner error: extension crashed: exit code 2", 0, ""},
		{"error with status", 200, `{"status":200,"error":"boom\nat line 3"}`, false, false, "runner error: boom at line 3", 0, ""},
		{"error object", 200, `{"error":{"message":"quota"}}`, false, false, "runner error: quota", 0, ""},
		{"extension 404", 200, `{"status":404,"body_b64":"` + b64(`{"error":"no such contact"}`) + `"}`, false, false, "extension status 404", 404, `{"error":"no such contact"}`},
		{"extension 400", 200, `{"status":400}`, false, false, "extension status 400", 400, ""},
		{"extension 500", 200, `{"status":500}`, false, true, "extension status 500", 500, ""},
		{"extension 503", 200, `{"status":503}`, false, true, "extension status 503", 503, ""},
		{"extension 429", 200, `{"status":429}`, false, true, "extension status 429", 429, ""},
		{"extension 302", 200, `{"status":302}`, false, false, "extension status 302", 302, ""},
		{"no status", 200, `{"headers":{}}`, false, false, "runner response has no valid status", 0, ""},
		{"status a string", 200, `{"status":"200"}`, false, false, "runner response has no valid status", 0, ""},
		{"invalid base64", 200, `{"status":200,"body_b64":"!!!"}`, false, false, "runner response body_b64 is not valid base64", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRunner(t, answer(tt.status, tt.body))
			res := NewClient(tr.URL, 5*time.Second, 0, nil).Execute(context.Background(), testCall())
			if res.Success != tt.success || res.Retryable != tt.retryable || res.Reason != tt.reason {
				t.Errorf("got success=%v retryable=%v reason=%q, want success=%v retryable=%v reason=%q",
					res.Success, res.Retryable, res.Reason, tt.success, tt.retryable, tt.reason)
			}
			if res.RunnerHTTPStatus != tt.status {
				t.Errorf("RunnerHTTPStatus = %d, want %d", res.RunnerHTTPStatus, tt.status)
			}
			if res.ExtensionStatus != tt.extStatus {
				t.Errorf("ExtensionStatus = %d, want %d", res.ExtensionStatus, tt.extStatus)
			}
			if res.Excerpt != tt.excerpt {
				t.Errorf("Excerpt = %q, want %q", res.Excerpt, tt.excerpt)
			}
			if res.Duration <= 0 {
				t.Errorf("Duration = %v, want > 0", res.Duration)
			}
		})
	}
}

func TestClientTimesOutAtTheDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	tr := newTestRunner(t, func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up (or the test ends)
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	const timeout = 300 * time.Millisecond
	start := time.Now()
	res := NewClient(tr.URL, timeout, 0, nil).Execute(context.Background(), testCall())
	elapsed := time.Since(start)
	if res.Success || !res.Retryable || res.Reason != "timeout after 300ms" {
		t.Errorf("got %+v, want a retryable failure %q", res, "timeout after 300ms")
	}
	if elapsed < timeout || elapsed > timeout+5*time.Second { // generous: shared CI machines stall
		t.Errorf("Execute returned after %v, want about %v", elapsed, timeout)
	}
	limits := decodeObject(t, tr.waitCall(t, 0).Body)["limits"].(map[string]any)
	if limits["timeout_ms"] != float64(300) {
		t.Errorf("limits.timeout_ms = %v, want 300", limits["timeout_ms"])
	}
}

func TestClientTimesOutWhileReadingASlowBody(t *testing.T) {
	t.Parallel()
	tr := newTestRunner(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"status":200,`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	start := time.Now()
	res := NewClient(tr.URL, 300*time.Millisecond, 0, nil).Execute(context.Background(), testCall())
	// Under heavy load the deadline may strike before the headers arrive, so
	// the runner status may be unknown (0); the classification may not differ.
	if res.Reason != "timeout after 300ms" || !res.Retryable || (res.RunnerHTTPStatus != 200 && res.RunnerHTTPStatus != 0) {
		t.Errorf("got %+v, want a retryable timeout", res)
	}
	if elapsed := time.Since(start); elapsed > 5300*time.Millisecond {
		t.Errorf("Execute returned after %v, want about 300ms", elapsed)
	}
}

func TestClientStopsReadingHugeResponses(t *testing.T) {
	t.Parallel()
	const total = 256 << 20 // what the runner would send if let
	var written atomic.Int64
	done := make(chan struct{})
	tr := newTestRunner(t, func(w http.ResponseWriter, _ *http.Request) {
		defer close(done)
		w.WriteHeader(200)
		chunk := []byte(`{"status":200,"body_b64":"` + strings.Repeat("QUFB", 16<<10))
		for written.Load() < total {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	const limit = 262144
	res := NewClient(tr.URL, 20*time.Second, limit, nil).Execute(context.Background(), testCall())
	if res.Success || res.Retryable || res.Reason != "response too large (more than 262144 bytes)" {
		t.Errorf("got %+v, want a final failure %q", res, "response too large (more than 262144 bytes)")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the runner kept writing: the client did not close the connection")
	}
	// Socket buffers absorb a few MiB; the rest must never have been sent.
	if n := written.Load(); n >= total/4 {
		t.Errorf("runner wrote %d bytes before the client hung up, want far less than %d", n, total)
	}
}

func TestClientResponseAtTheLimitIsAccepted(t *testing.T) {
	t.Parallel()
	body := `{"status":200,"body_b64":"` + b64("x") + `"}`
	tr := newTestRunner(t, answer(200, body))
	res := NewClient(tr.URL, time.Second, int64(len(body)), nil).Execute(context.Background(), testCall())
	if !res.Success {
		t.Errorf("a body of exactly the limit failed: %+v", res)
	}
	res = NewClient(tr.URL, time.Second, int64(len(body)-1), nil).Execute(context.Background(), testCall())
	if want := fmt.Sprintf("response too large (more than %d bytes)", len(body)-1); res.Reason != want {
		t.Errorf("reason = %q, want %q", res.Reason, want)
	}
}

func TestClientConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	res := NewClient("http://"+addr, time.Second, 0, nil).Execute(context.Background(), testCall())
	if res.Success || !res.Retryable || res.Reason != "transport error: connection refused" {
		t.Errorf("got %+v, want a retryable %q", res, "transport error: connection refused")
	}
}

func TestClientConnectionDropped(t *testing.T) {
	t.Parallel()
	tr := newTestRunner(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	res := NewClient(tr.URL, time.Second, 0, nil).Execute(context.Background(), testCall())
	if res.Success || !res.Retryable || !strings.HasPrefix(res.Reason, "transport error: ") {
		t.Errorf("got %+v, want a retryable transport error", res)
	}
	if strings.Contains(res.Reason, "127.0.0.1") || strings.Contains(res.Reason, "http://") {
		t.Errorf("reason %q leaks addresses", res.Reason)
	}
}

func TestClientCanceledByCaller(t *testing.T) {
	t.Parallel()
	tr := newTestRunner(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res := NewClient(tr.URL, 10*time.Second, 0, nil).Execute(ctx, testCall())
	if res.Success || !res.Retryable || res.Reason != "call canceled before the runner answered" {
		t.Errorf("got %+v, want a retryable cancellation", res)
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short", "hello", 10, "hello"},
		{"cut", "hello world", 5, "hello"},
		{"never splits a rune", "aé", 2, "a"},
		{"keeps a whole rune", "aé", 3, "aé"},
		{"4-byte rune at the edge", "ab😀c", 5, "ab"},
		{"invalid bytes replaced", "a\xffb", 10, "a\uFFFDb"},
		{"NUL removed", "a\x00b", 10, "ab"},
	}
	for _, tt := range tests {
		if got := Excerpt([]byte(tt.in), tt.max); got != tt.want {
			t.Errorf("%s: Excerpt(%q, %d) = %q, want %q", tt.name, tt.in, tt.max, got, tt.want)
		}
	}
	long := strings.Repeat("é", 3000) // 6000 bytes
	got := Excerpt([]byte(long), ExcerptBytes)
	if len(got) != ExcerptBytes || !utf8.ValidString(got) {
		t.Errorf("excerpt of a long body: %d bytes, valid=%v; want %d valid bytes", len(got), utf8.ValidString(got), ExcerptBytes)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(200, []byte(extensionOK))
	f.Add(200, []byte(`{"status":404,"body_b64":"`+b64("\xff\xfe")+`"}`))
	f.Add(200, []byte(`{"error":{"message":1}}`))
	f.Add(500, []byte(`{"error":"x"}`))
	f.Add(200, []byte(`{"status":1e400}`))
	f.Add(200, []byte(""))
	f.Fuzz(func(t *testing.T, status int, raw []byte) {
		const max = 1024
		res := classify(status, raw, max)
		if res.Success && res.Reason != "" {
			t.Fatalf("success with a reason: %+v", res)
		}
		if !res.Success && res.Reason == "" {
			t.Fatalf("failure without a reason: %+v", res)
		}
		if res.Success && res.Retryable {
			t.Fatalf("success marked retryable: %+v", res)
		}
		if len(res.Excerpt) > ExcerptBytes || !utf8.ValidString(res.Excerpt) || strings.ContainsRune(res.Excerpt, 0) {
			t.Fatalf("bad excerpt %q", res.Excerpt)
		}
		if !utf8.ValidString(res.Reason) || strings.ContainsAny(res.Reason, "\n\r\x00") {
			t.Fatalf("reason is not one clean line: %q", res.Reason)
		}
		if len(raw) > max && res.Success {
			t.Fatalf("accepted a body over the limit")
		}
	})
}
