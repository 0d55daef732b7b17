package handlers

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/db"
	"extcron/views"
)

// PageAudit is what the audit page needs.
type PageAudit interface {
	AuditEvents(ctx context.Context, actor account.Actor, before time.Time, limit int) ([]db.AuditEvent, error)
	Tenant(ctx context.Context, actor account.Actor) (db.Tenant, error)
}

// AuditPage serves the tenant's audit log.
type AuditPage struct {
	audit PageAudit
	now   func() time.Time
}

// NewAuditPage builds the audit page handler.
func NewAuditPage(audit PageAudit) *AuditPage { return &AuditPage{audit: audit, now: time.Now} }

const auditPageSize = 50

// List renders a page of audit events, newest first; ?before= pages back.
func (h *AuditPage) List(c *fiber.Ctx) error {
	actor, _ := ActorOf(c)
	var before time.Time
	if raw := c.Query("before"); raw != "" {
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "The page link is not valid; start from the newest events.")
		}
		before = t
	}
	ctx, cancel := ctx(c)
	defer cancel()
	events, err := h.audit.AuditEvents(ctx, actor, before, auditPageSize+1)
	if err != nil {
		return err
	}
	v := views.AuditView{Now: h.now(), Newest: before.IsZero(), ViewerZone: actor.Timezone}
	if v.ViewerZone == "" {
		if t, err := h.audit.Tenant(ctx, actor); err == nil && t.DefaultTimezone != nil {
			v.ViewerZone = *t.DefaultTimezone
		}
	}
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		last := events[len(events)-1].CreatedAt
		v.OlderURL = "/audit?before=" + url.QueryEscape(last.UTC().Format(time.RFC3339Nano))
	}
	for _, e := range events {
		target := e.TargetType
		if e.TargetID != "" {
			target += " " + e.TargetID
		}
		v.Entries = append(v.Entries, views.AuditEntry{At: e.CreatedAt, Actor: e.Actor, Action: e.Action,
			Target: target, Before: indentJSON(e.Before), After: indentJSON(e.After)})
	}
	return Render(c, fiber.StatusOK, views.AuditPage(PageFor(c, "Audit log", "audit"), v))
}

// indentJSON renders an audit detail for reading; null is "".
func indentJSON(raw json.RawMessage) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil || v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}
