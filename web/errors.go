package web

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"extcron/fault"
	"extcron/handlers"
	"extcron/views"
)

var statusOf = map[fault.Code]int{
	fault.Invalid:         fiber.StatusUnprocessableEntity,
	fault.BadRequest:      fiber.StatusBadRequest,
	fault.Unauthenticated: fiber.StatusUnauthorized,
	fault.Forbidden:       fiber.StatusForbidden,
	fault.NotFound:        fiber.StatusNotFound,
	fault.Conflict:        fiber.StatusConflict,
	fault.RemapFailed:     fiber.StatusConflict,
	fault.TooLarge:        fiber.StatusRequestEntityTooLarge,
	fault.RateLimited:     fiber.StatusTooManyRequests,
}

// codeOfStatus names fiber's own errors (unknown route, body too large)
// in the API's vocabulary.
var codeOfStatus = map[int]fault.Code{
	fiber.StatusBadRequest:            fault.BadRequest,
	fiber.StatusUnauthorized:          fault.Unauthenticated,
	fiber.StatusForbidden:             fault.Forbidden,
	fiber.StatusNotFound:              fault.NotFound,
	fiber.StatusMethodNotAllowed:      "method_not_allowed",
	fiber.StatusRequestEntityTooLarge: fault.TooLarge,
	fiber.StatusTooManyRequests:       fault.RateLimited,
}

// errorHandler is the one place that turns errors into responses: domain
// errors get their status and message; anything else is logged with its
// context and answered with a generic message that reveals no internals.
func errorHandler(logger *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, body := describe(c, logger, err)
		if body.Code == fault.RateLimited {
			if e, ok := fault.As(err); ok && e.RetryAfterSeconds > 0 {
				c.Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
			}
		}
		if isAPI(c) {
			return c.Status(status).JSON(body)
		}
		if handlers.IsHTMX(c) {
			// htmx swaps nothing on an error status; the toast shows the message.
			handlers.Toast(c, body.Message, "error")
			return c.Status(status).SendString(body.Message)
		}
		if status == fiber.StatusUnauthorized {
			return c.Redirect("/login?next="+c.OriginalURL(), fiber.StatusSeeOther)
		}
		return handlers.Render(c, status, views.ErrorPage(handlers.PageFor(c, "Error", ""), status, body.Message))
	}
}

// ErrorBody is the JSON error format of the API.
type ErrorBody struct {
	Code        fault.Code        `json:"code"`
	Message     string            `json:"message"`
	FieldErrors map[string]string `json:"field_errors,omitempty"`
	// Current carries the current state on a stale revision.
	Current any `json:"current,omitempty"`
	// Missing lists the schedules that block a version update.
	Missing any `json:"missing,omitempty"`
}

func describe(c *fiber.Ctx, logger *slog.Logger, err error) (int, ErrorBody) {
	if e, ok := fault.As(err); ok {
		status, known := statusOf[e.Code]
		if !known {
			status = fiber.StatusBadRequest
		}
		body := ErrorBody{Code: e.Code, Message: e.Message, FieldErrors: e.Fields}
		if e.Code == fault.RemapFailed {
			body.Missing = e.Detail
		} else if e.Detail != nil {
			body.Current = e.Detail
		}
		return status, body
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if code, ok := codeOfStatus[fe.Code]; ok {
			return fe.Code, ErrorBody{Code: code, Message: fe.Message}
		}
	}
	logger.ErrorContext(c.UserContext(), "request failed", "error", err,
		"method", c.Method(), "path", c.Path(), "request_id", c.Locals("requestid"))
	return fiber.StatusInternalServerError, ErrorBody{Code: "internal", Message: "Something went wrong on our side. It has been logged; please try again."}
}

func isAPI(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") }
