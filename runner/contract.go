package runner

import "time"

// Request is the JSON body of POST /v1/execute (SPEC §3). There is no user
// field: scheduled and manual runs act as the system, never as a user.
type Request struct {
	Context        ExecContext     `json:"context"`
	HTTP           HTTPRequest     `json:"http"`
	Limits         Limits          `json:"limits"`
	Providers      []string        `json:"providers,omitempty"`
	SecretEnvelope *SecretEnvelope `json:"secret_envelope,omitempty"`
}

// ExecContext identifies what is executed, for whom and why.
type ExecContext struct {
	RequestID    string            `json:"request_id"`
	TenantID     string            `json:"tenant_id"`
	ExtensionID  string            `json:"extension_id"`
	InstallID    string            `json:"install_id"`
	VersionID    string            `json:"version_id"`
	ContentHash  string            `json:"content_hash"`
	Config       map[string]string `json:"config"`
	Trigger      string            `json:"trigger"`
	ScheduleID   string            `json:"schedule_id"`
	ScheduledFor string            `json:"scheduled_for"` // RFC 3339, UTC
	InvocationID string            `json:"invocation_id"`
	Attempt      int               `json:"attempt"`
}

// HTTPRequest is the request handed to the extension's endpoint. Query and
// Headers are always encoded as objects ({} when empty); scheduled runs never
// carry headers.
type HTTPRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query"`
	Headers map[string]string `json:"headers"`
	BodyB64 string            `json:"body_b64,omitempty"`
}

// Limits bound one execution.
type Limits struct {
	TimeoutMS int64 `json:"timeout_ms"`
	MemoryMB  int   `json:"memory_mb"`
}

// SecretEnvelope carries an install's secrets, encrypted; the runner (or a
// provider it grants) is the only party able to open it.
type SecretEnvelope struct {
	CiphertextB64 string `json:"ciphertext_b64"`
	NonceB64      string `json:"nonce_b64,omitempty"`
	KeyID         string `json:"key_id,omitempty"`
	Algorithm     string `json:"algorithm,omitempty"`
}

// Response is the JSON body the runner answers. Error set means the runner
// could not produce an extension response; Logs (an extension to the minimal
// contract) carries the lines the extension wrote to stderr.
type Response struct {
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	BodyB64 string            `json:"body_b64,omitempty"`
	Error   string            `json:"error,omitempty"`
	Logs    []string          `json:"logs,omitempty"`
}

// Header names of the runner contract.
const (
	HeaderRequestID      = "X-Request-Id"
	HeaderIdempotencyKey = "X-Idempotency-Key"
	HeaderTenant         = "X-Extcron-Tenant"
	HeaderExtension      = "X-Extcron-Extension"
)

// ExecutePath is the runner endpoint, relative to the runner's base URL.
const ExecutePath = "/v1/execute"

// Defaults of the contract (SPEC §3, §10).
const (
	DefaultTimeout                = 30 * time.Second
	DefaultMaxResponseBytes int64 = 262144
	DefaultMemoryMB               = 256
	// ExcerptBytes is how much of the decoded extension body a run keeps.
	ExcerptBytes = 2048
)
