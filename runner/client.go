package runner

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Client calls a Runner over HTTP (SPEC §3). It is safe for concurrent use.
type Client struct {
	baseURL          string
	timeout          time.Duration
	maxResponseBytes int64
	httpClient       *http.Client
	newID            func() string
}

// NewClient returns a client for the runner at baseURL. timeout is both the
// limits.timeout_ms sent to the runner and the deadline after which the client
// gives up (DefaultTimeout when ≤ 0); maxResponseBytes caps the runner's HTTP
// response body, enforced while reading (DefaultMaxResponseBytes when ≤ 0).
// httpClient may be nil; its own Timeout is not relied upon.
func NewClient(baseURL string, timeout time.Duration, maxResponseBytes int64, httpClient *http.Client) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if maxResponseBytes <= 0 {
		maxResponseBytes = DefaultMaxResponseBytes
	}
	if httpClient == nil {
		httpClient = NewHTTPClient(defaultIdleConns)
	}
	return &Client{
		baseURL:          strings.TrimRight(baseURL, "/"),
		timeout:          timeout,
		maxResponseBytes: maxResponseBytes,
		httpClient:       httpClient,
		newID:            func() string { return uuid.NewString() },
	}
}

// defaultIdleConns is the keep-alive pool of NewClient's default HTTP
// client.
const defaultIdleConns = 64

// NewHTTPClient returns an HTTP client for a runner that keeps up to
// idleConns connections alive to it, sized to the calls made at once (the
// scheduler's workers). http.DefaultTransport keeps only 2 per host: with
// more calls in flight, the connections beyond two are closed after each
// call, so most calls pay a new TCP connection (and leave a TIME_WAIT
// socket behind) at thousands of runs per second.
func NewHTTPClient(idleConns int) *http.Client {
	idleConns = max(idleConns, 2)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = idleConns
	t.MaxIdleConnsPerHost = idleConns
	return &http.Client{Transport: t}
}

// Call is what the caller knows about one attempt of a run. The client turns
// it into the wire Request.
type Call struct {
	TenantID     string
	ExtensionID  string
	InstallID    string
	VersionID    string
	ContentHash  string
	Config       map[string]string
	Trigger      string // "schedule", "manual" or "catchup"
	ScheduleID   string
	ScheduledFor time.Time
	InvocationID string // stable across the attempts of a run
	Attempt      int
	Method       string
	Path         string
	// Payload is the schedule's payload JSON; nil or JSON null means none.
	// It is sent (base64) only with POST.
	Payload        json.RawMessage
	Providers      []string
	SecretEnvelope *SecretEnvelope
	MemoryMB       int // DefaultMemoryMB when ≤ 0
}

// Result is the classified outcome of one call.
type Result struct {
	Success   bool
	Retryable bool
	// Reason says why the call failed, for humans; empty on success.
	Reason string
	// RunnerHTTPStatus is the runner's HTTP status, 0 without a response.
	RunnerHTTPStatus int
	// ExtensionStatus is the status the extension answered, 0 when unknown.
	ExtensionStatus int
	// Excerpt is the start (ExcerptBytes at most) of the decoded extension
	// body, as valid UTF-8 without NUL bytes.
	Excerpt string
	// Logs are the lines the extension wrote to stderr, when the runner
	// reports them.
	Logs []string
	// RequestID is the x-request-id sent with this call.
	RequestID string
	Duration  time.Duration
}

// Execute sends one call to the runner and classifies the outcome. It never
// returns later than the client timeout after it was called.
func (c *Client) Execute(ctx context.Context, call Call) Result {
	start := time.Now()
	requestID := c.newID()
	res := c.execute(ctx, call, requestID)
	res.RequestID = requestID
	res.Duration = time.Since(start)
	return res
}

func (c *Client) execute(ctx context.Context, call Call, requestID string) Result {
	body, err := json.Marshal(c.buildRequest(call, requestID))
	if err != nil {
		return Result{Reason: "encoding runner request: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+ExecutePath, bytes.NewReader(body))
	if err != nil {
		return Result{Reason: "invalid runner URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderRequestID, requestID)
	req.Header.Set(HeaderIdempotencyKey, call.InvocationID)
	req.Header.Set(HeaderTenant, call.TenantID)
	req.Header.Set(HeaderExtension, call.ExtensionID)

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return c.transportFailure(ctx, err)
	}
	defer resp.Body.Close()
	// Read at most one byte more than allowed: enough to know the body is too
	// large without ever buffering an unbounded body.
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResponseBytes+1))
	if err != nil {
		res := c.transportFailure(ctx, err)
		res.RunnerHTTPStatus = resp.StatusCode
		return res
	}
	return classify(resp.StatusCode, raw, c.maxResponseBytes)
}

func (c *Client) buildRequest(call Call, requestID string) Request {
	config := call.Config
	if config == nil {
		config = map[string]string{}
	}
	memoryMB := call.MemoryMB
	if memoryMB <= 0 {
		memoryMB = DefaultMemoryMB
	}
	method := strings.ToUpper(strings.TrimSpace(call.Method))
	r := Request{
		Context: ExecContext{
			RequestID:    requestID,
			TenantID:     call.TenantID,
			ExtensionID:  call.ExtensionID,
			InstallID:    call.InstallID,
			VersionID:    call.VersionID,
			ContentHash:  call.ContentHash,
			Config:       config,
			Trigger:      call.Trigger,
			ScheduleID:   call.ScheduleID,
			ScheduledFor: call.ScheduledFor.UTC().Format(time.RFC3339),
			InvocationID: call.InvocationID,
			Attempt:      call.Attempt,
		},
		HTTP: HTTPRequest{
			Method:  method,
			Path:    call.Path,
			Query:   map[string]string{},
			Headers: map[string]string{},
		},
		Limits: Limits{
			TimeoutMS: c.timeout.Milliseconds(),
			MemoryMB:  memoryMB,
		},
		SecretEnvelope: call.SecretEnvelope,
	}
	if len(call.Providers) > 0 {
		r.Providers = call.Providers
	}
	if method == http.MethodPost && hasPayload(call.Payload) {
		r.HTTP.BodyB64 = base64.StdEncoding.EncodeToString(call.Payload)
	}
	return r
}

func hasPayload(p json.RawMessage) bool {
	t := bytes.TrimSpace(p)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// transportFailure classifies an error that left no usable response.
func (c *Client) transportFailure(ctx context.Context, err error) Result {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err) {
		return Result{Retryable: true, Reason: "timeout after " + c.timeout.String()}
	}
	if ctx.Err() != nil {
		return Result{Retryable: true, Reason: "call canceled before the runner answered"}
	}
	return Result{Retryable: true, Reason: "transport error: " + transportReason(err)}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// transportReason names a network failure without URLs or addresses.
func transportReason(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the runner"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "runner unreachable"
	case errors.As(err, &dnsErr):
		return "cannot resolve runner host " + dnsErr.Name
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	return oneLine(err.Error(), 200)
}

// classify turns a runner HTTP status and (size-limited) body into a Result.
// raw may be one byte longer than maxBytes, which means "too large".
func classify(runnerStatus int, raw []byte, maxBytes int64) Result {
	res := Result{RunnerHTTPStatus: runnerStatus}
	fail := func(retryable bool, reason string) Result {
		res.Retryable = retryable
		res.Reason = reason
		return res
	}
	tooLarge := int64(len(raw)) > maxBytes
	if runnerStatus < 200 || runnerStatus > 299 {
		reason := "runner HTTP " + strconv.Itoa(runnerStatus)
		if text := runnerErrorText(raw); text != "" && !tooLarge {
			reason += ": " + text
		}
		return fail(runnerStatus >= 500, reason)
	}
	if tooLarge {
		return fail(false, fmt.Sprintf("response too large (more than %d bytes)", maxBytes))
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return fail(false, "empty response from runner")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		if json.Valid(raw) {
			return fail(false, "runner response is not a JSON object")
		}
		return fail(false, "runner response is not JSON")
	}
	if text, ok := errorField(fields["error"]); ok {
		if !isNull(fields["logs"]) {
			_ = json.Unmarshal(fields["logs"], &res.Logs)
		}
		if text == "" {
			text = "unspecified"
		}
		return fail(false, "runner error: "+text)
	}
	var status int
	if err := json.Unmarshal(fields["status"], &status); err != nil || status == 0 {
		return fail(false, "runner response has no valid status")
	}
	res.ExtensionStatus = status
	if f, ok := fields["logs"]; ok && !isNull(f) {
		if err := json.Unmarshal(f, &res.Logs); err != nil {
			return fail(false, "runner response logs are invalid")
		}
	}
	var bodyB64 string
	if f, ok := fields["body_b64"]; ok && !isNull(f) {
		if err := json.Unmarshal(f, &bodyB64); err != nil {
			return fail(false, "runner response body_b64 is not a string")
		}
	}
	body, err := base64.StdEncoding.DecodeString(bodyB64)
	if err != nil {
		return fail(false, "runner response body_b64 is not valid base64")
	}
	res.Excerpt = Excerpt(body, ExcerptBytes)
	if status < 200 || status > 299 {
		return fail(status >= 500 || status == http.StatusTooManyRequests, "extension status "+strconv.Itoa(status))
	}
	res.Success = true
	return res
}

// errorField reports whether the runner's error field is set, and its text.
func errorField(f json.RawMessage) (string, bool) {
	if isNull(f) {
		return "", false
	}
	var s string
	if err := json.Unmarshal(f, &s); err == nil {
		if strings.TrimSpace(s) == "" {
			return "", false
		}
		return oneLine(s, 500), true
	}
	var obj struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(f, &obj); err == nil && obj.Message != "" {
		return oneLine(obj.Message, 500), true
	}
	return oneLine(string(f), 500), true
}

func isNull(f json.RawMessage) bool {
	t := bytes.TrimSpace(f)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// runnerErrorText extracts the error text of a non-2xx runner response, when
// the runner answered a JSON {error} body.
func runnerErrorText(raw []byte) string {
	var v struct {
		Error any `json:"error"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return ""
	}
	if s, ok := v.Error.(string); ok {
		return oneLine(s, 200)
	}
	return ""
}

// oneLine makes s safe for a one-line reason: valid UTF-8, no control
// characters, at most max bytes.
func oneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	return truncateUTF8(s, max)
}

// Excerpt returns the start of body, at most max bytes, as valid UTF-8
// without NUL bytes (PostgreSQL text rejects them). Invalid sequences become
// U+FFFD; a multi-byte character is never cut.
func Excerpt(body []byte, max int) string {
	if len(body) > max+utf8.UTFMax {
		body = body[:max+utf8.UTFMax]
	}
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	return truncateUTF8(s, max)
}

// truncateUTF8 cuts valid UTF-8 s to at most max bytes on a rune boundary.
func truncateUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}
