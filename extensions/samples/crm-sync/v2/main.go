//go:build wasip1

// Command crm-sync v2 is a sample extension that pretends to keep a CRM in
// sync. Version 2 drops reminders (POST /reminders/send) and adds a deal sync
// (POST /sync/deals), which makes it the sample for schedule remapping.
package main

import (
	"strings"

	"extcron/extensions/samples/guest"
)

const version = "2.0.0"

func main() {
	guest.Run(map[string]guest.HandlerFunc{
		"syncContacts": syncContacts,
		"refreshCache": refreshCache,
		"syncDeals":    syncDeals,
		"getContact":   getContact,
		"clearCache":   clearCache,
	})
}

func syncContacts(req *guest.Request) guest.Response {
	body, err := req.Body()
	if err != nil {
		return guest.JSON(400, map[string]string{"error": "body is not base64"})
	}
	var p struct {
		Since string `json:"since"`
		Limit int    `json:"limit"`
	}
	if err := req.Decode(&p); err != nil {
		return guest.JSON(400, map[string]string{"error": "payload is not a JSON object"})
	}
	if p.Limit <= 0 {
		p.Limit = 100
	}
	region := req.Config["region"]
	if region == "" {
		region = "eu"
	}
	guest.Logf("crm-sync %s: synced %d contacts in region %s (trigger %s, attempt %d)", version, p.Limit, region, req.Context.Trigger, req.Context.Attempt)
	return guest.JSON(200, map[string]any{
		"action":        "sync_contacts",
		"version":       version,
		"synced":        p.Limit,
		"since":         p.Since,
		"region":        region,
		"payload_bytes": len(body),
		"invocation_id": req.Context.InvocationID,
	})
}

func refreshCache(req *guest.Request) guest.Response {
	guest.Logf("crm-sync %s: cache refreshed for install %s", version, req.Context.InstallID)
	return guest.JSON(200, map[string]any{
		"action":        "refresh_cache",
		"version":       version,
		"entries":       42,
		"payload_bytes": len(req.BodyB64),
		"scheduled_for": req.Context.ScheduledFor,
	})
}

func syncDeals(req *guest.Request) guest.Response {
	body, _ := req.Body()
	var p struct {
		Pipeline string `json:"pipeline"`
	}
	if err := req.Decode(&p); err != nil {
		return guest.JSON(400, map[string]string{"error": "payload is not a JSON object"})
	}
	guest.Logf("crm-sync %s: synced 7 deals of pipeline %q", version, p.Pipeline)
	return guest.JSON(200, map[string]any{
		"action":        "sync_deals",
		"version":       version,
		"synced":        7,
		"pipeline":      p.Pipeline,
		"payload_bytes": len(body),
	})
}

func getContact(req *guest.Request) guest.Response {
	id := strings.TrimPrefix(req.Path, "/contacts/")
	guest.Logf("crm-sync %s: looked up contact %s", version, id)
	return guest.JSON(200, map[string]any{"action": "get_contact", "version": version, "id": id, "name": "Ada Lovelace"})
}

func clearCache(req *guest.Request) guest.Response {
	guest.Logf("crm-sync %s: cache cleared", version)
	return guest.JSON(200, map[string]any{"action": "clear_cache", "version": version, "cleared": true})
}
