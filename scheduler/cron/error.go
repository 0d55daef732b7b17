package cron

// Error is a validation error for a cron expression or a time zone. Message
// is written for an end user: it says what is wrong and what is accepted, so
// it can be shown under the form field as it is.
type Error struct {
	// Field names the input the message is about: "cron" or "timezone".
	Field string
	// Message is the human-readable explanation.
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

func cronError(msg string) *Error { return &Error{Field: "cron", Message: msg} }

func zoneError(msg string) *Error { return &Error{Field: "timezone", Message: msg} }
