// Package views holds the templ components of every page. Views render
// view-models handed to them by handlers; they know nothing of the database.
package views

import (
	"encoding/json"
	"net/http"
)

func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": token})
	return string(b)
}

func statusTitle(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Not found"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusTooManyRequests:
		return "Slow down"
	case http.StatusInternalServerError:
		return "Something went wrong"
	}
	return http.StatusText(status)
}
