// Package fault defines the domain errors every service returns. Each one
// carries a code that the web layer maps to one HTTP status and one kind of
// page, in one place; anything that is not a *fault.Error is unexpected, is
// logged with its context and is shown to users as a generic message.
package fault

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Code classifies a domain error.
type Code string

// The codes and the statuses they map to.
const (
	Invalid         Code = "invalid"         // 422, with per-field messages
	BadRequest      Code = "bad_request"     // 400: malformed input
	Unauthenticated Code = "unauthenticated" // 401
	Forbidden       Code = "forbidden"       // 403
	NotFound        Code = "not_found"       // 404: unknown or another tenant's
	Conflict        Code = "conflict"        // 409
	TooLarge        Code = "too_large"       // 413
	RateLimited     Code = "rate_limited"    // 429
	RemapFailed     Code = "SCHEDULE_REMAP_FAILED"
)

// Error is a domain error safe to show to the user.
type Error struct {
	Code    Code
	Message string
	// Fields holds per-field messages for Invalid, keyed by the API field
	// name (cron, timezone, payload_json, ...).
	Fields map[string]string
	// RetryAfterSeconds is set on RateLimited.
	RetryAfterSeconds int
	// Detail is an optional JSON-able value returned with the error (the
	// current state on a stale revision, the missing list on a remap).
	Detail any
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, strings.Join(parts, "; "))
}

// New builds an error with a code and a message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Fields is a builder for validation errors.
type Fields map[string]string

// Add records the first message for field.
func (f Fields) Add(field, message string) {
	if _, ok := f[field]; !ok {
		f[field] = message
	}
}

// Err returns nil when no field failed, else an Invalid error.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "Some fields are not valid.", Fields: map[string]string(f)}
}

// NotFoundf is a not_found error; the message never reveals whether the
// thing exists in another tenant.
func NotFoundf(what string) *Error { return New(NotFound, "%s not found", what) }

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Is reports whether err is a domain error with code.
func Is(err error, code Code) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
