//go:build wasip1

// Command webhooks-only is a sample extension whose endpoints are all
// non-schedulable (PUT, DELETE, PATCH and path parameters): installing it
// offers nothing to schedule, and the endpoint list says why.
package main

import (
	"strings"

	"extcron/extensions/samples/guest"
)

func main() {
	guest.Run(map[string]guest.HandlerFunc{
		"receiveEvent":   receiveEvent,
		"updateHook":     updateHook,
		"deleteHook":     deleteHook,
		"replayDelivery": replayDelivery,
	})
}

func receiveEvent(req *guest.Request) guest.Response {
	body, _ := req.Body()
	guest.Logf("webhooks-only: received %d bytes on %s", len(body), req.Path)
	return guest.JSON(202, map[string]any{"accepted": true, "payload_bytes": len(body)})
}

func updateHook(req *guest.Request) guest.Response {
	id := strings.TrimPrefix(req.Path, "/hooks/")
	guest.Logf("webhooks-only: updated hook %s", id)
	return guest.JSON(200, map[string]any{"updated": id})
}

func deleteHook(req *guest.Request) guest.Response {
	id := strings.TrimPrefix(req.Path, "/hooks/")
	guest.Logf("webhooks-only: deleted hook %s", id)
	return guest.JSON(200, map[string]any{"deleted": id})
}

func replayDelivery(req *guest.Request) guest.Response {
	guest.Logf("webhooks-only: replay requested for %s", req.Path)
	return guest.JSON(202, map[string]any{"replayed": req.Path})
}
