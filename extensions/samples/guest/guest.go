// Package guest is the tiny standard-library-only SDK shared by the sample
// extensions. It implements the embedded runner's WASI command ABI: the
// request arrives as one JSON object on stdin, the response leaves as one JSON
// object on stdout, and anything written to stderr becomes log lines attached
// to the run.
package guest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Request is what the runner writes to the module's stdin.
type Request struct {
	Handler string            `json:"handler"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query"`
	Headers map[string]string `json:"headers"`
	BodyB64 string            `json:"body_b64,omitempty"`
	Context Context           `json:"context"`
	Config  map[string]string `json:"config"`
}

// Context is the subset of the runner's execution context samples use.
type Context struct {
	RequestID    string `json:"request_id"`
	TenantID     string `json:"tenant_id"`
	InstallID    string `json:"install_id"`
	Trigger      string `json:"trigger"`
	ScheduleID   string `json:"schedule_id"`
	ScheduledFor string `json:"scheduled_for"`
	InvocationID string `json:"invocation_id"`
	Attempt      int    `json:"attempt"`
}

// Body returns the decoded request body (nil when there is none).
func (r *Request) Body() ([]byte, error) {
	if r.BodyB64 == "" {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(r.BodyB64)
}

// Decode unmarshals the request body into v; an absent body leaves v as is.
func (r *Request) Decode(v any) error {
	b, err := r.Body()
	if err != nil || len(b) == 0 {
		return err
	}
	return json.Unmarshal(b, v)
}

// Response is what a handler returns; Run writes it to stdout.
type Response struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// JSON builds a response with a JSON body.
func JSON(status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		return Response{Status: 500, Body: []byte(`{"error":"encoding response"}`)}
	}
	return Response{Status: status, Headers: map[string]string{"content-type": "application/json"}, Body: b}
}

// HandlerFunc handles one endpoint of an extension.
type HandlerFunc func(req *Request) Response

// Logf writes one log line to stderr.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

// Run reads the request, dispatches it to the handler named in the manifest
// and writes the response. Unknown handlers answer 404.
func Run(handlers map[string]HandlerFunc) {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		Logf("reading request: %v", err)
		os.Exit(1)
	}
	var req Request
	if err := json.Unmarshal(in, &req); err != nil {
		Logf("decoding request: %v", err)
		os.Exit(1)
	}
	h, ok := handlers[req.Handler]
	var resp Response
	if !ok {
		resp = JSON(404, map[string]string{"error": "unknown handler " + req.Handler})
	} else {
		resp = h(&req)
	}
	Write(resp)
}

// Write encodes resp in the runner's stdout format.
func Write(resp Response) {
	out := struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		BodyB64 string            `json:"body_b64,omitempty"`
	}{Status: resp.Status, Headers: resp.Headers, BodyB64: base64.StdEncoding.EncodeToString(resp.Body)}
	if out.Headers == nil {
		out.Headers = map[string]string{}
	}
	b, err := json.Marshal(out)
	if err != nil {
		Logf("encoding response: %v", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(b); err != nil {
		os.Exit(1)
	}
}
