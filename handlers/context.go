// Package handlers holds the HTML and JSON handlers. A handler parses the
// request, calls one service method and renders the result; errors go back
// to fiber's error handler, which maps domain errors to responses in one
// place (package web).
package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/views"
)

const (
	localActor = "actor"
	localCSRF  = "csrf"
	localFlash = "flash"
)

// SetActor stores the authenticated actor on the request.
func SetActor(c *fiber.Ctx, a account.Actor) { c.Locals(localActor, a) }

// ActorOf returns the request's actor; ok is false for anonymous requests.
func ActorOf(c *fiber.Ctx) (account.Actor, bool) {
	a, ok := c.Locals(localActor).(account.Actor)
	return a, ok
}

// SetCSRF stores the session's CSRF token on the request.
func SetCSRF(c *fiber.Ctx, token string) { c.Locals(localCSRF, token) }

// CSRFOf returns the session's CSRF token.
func CSRFOf(c *fiber.Ctx) string {
	s, _ := c.Locals(localCSRF).(string)
	return s
}

// SetFlash stores a one-shot message read from the flash cookie.
func SetFlash(c *fiber.Ctx, msg string) { c.Locals(localFlash, msg) }

// PageFor builds the page chrome for the request.
func PageFor(c *fiber.Ctx, title, nav string) views.Page {
	p := views.Page{Title: title, Nav: nav, CSRF: CSRFOf(c)}
	if a, ok := ActorOf(c); ok {
		p.User = a.Email
		p.Operator = a.Operator
	}
	p.Flash, _ = c.Locals(localFlash).(string)
	return p
}

// IsHTMX reports whether the request came from htmx (wants a fragment).
func IsHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// Render writes a templ component as HTML with the given status.
func Render(c *fiber.Ctx, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.UserContext(), &buf); err != nil {
		return err
	}
	c.Status(status)
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}

// Flash sets a message shown once on the next page.
// The value is URL-escaped: cookie values must be ASCII without ; or ,.
func Flash(c *fiber.Ctx, msg string) {
	c.Cookie(&fiber.Cookie{Name: FlashCookie, Value: flashValue(msg), Path: "/", HTTPOnly: true, SameSite: "Lax", MaxAge: 60})
}

func flashValue(msg string) string { return url.QueryEscape(msg) }

// FlashCookie carries a one-shot message across a redirect.
const FlashCookie = "extcron_flash"

// ReadFlash decodes the flash cookie's value.
func ReadFlash(value string) string {
	msg, err := url.QueryUnescape(value)
	if err != nil {
		return ""
	}
	return msg
}

// ctx gives service calls a deadline tied to the request.
func ctx(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.UserContext(), 30*time.Second)
}

// Toast asks the page (through htmx's HX-Trigger header) to show a message
// in the toast region; kind is "success", "error" or "info".
func Toast(c *fiber.Ctx, message, kind string) {
	b, _ := json.Marshal(map[string]any{"toast": map[string]string{"message": message, "kind": kind}})
	c.Set("HX-Trigger", asciiJSON(b))
}

// asciiJSON escapes every non-ASCII character of a JSON text as \uXXXX,
// so it survives as an HTTP header value; JSON.parse restores it.
func asciiJSON(b []byte) string {
	var out strings.Builder
	for _, r := range string(b) {
		switch {
		case r < 0x80:
			out.WriteRune(r)
		case r > 0xFFFF:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(&out, "\\u%04x\\u%04x", hi, lo)
		default:
			fmt.Fprintf(&out, "\\u%04x", r)
		}
	}
	return out.String()
}
