package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// AuditEvent is one entry of a tenant's audit log.
type AuditEvent struct {
	TenantID   uuid.UUID       `db:"tenant_id"`
	ID         uuid.UUID       `db:"id"`
	ActorID    *uuid.UUID      `db:"actor_id"`
	Actor      string          `db:"actor"`
	Action     string          `db:"action"`
	TargetType string          `db:"target_type"`
	TargetID   string          `db:"target_id"`
	Before     json.RawMessage `db:"before"`
	After      json.RawMessage `db:"after"`
	CreatedAt  time.Time       `db:"created_at"`
}

// Audit describes an event to record; Before and After are marshalled to
// JSON (nil stays NULL).
type Audit struct {
	TenantID   uuid.UUID
	ActorID    *uuid.UUID
	Actor      string
	Action     string
	TargetType string
	TargetID   string
	Before     any
	After      any
}

// InsertAudit writes one audit event, normally inside the transaction of
// the change it describes.
func InsertAudit(ctx context.Context, q Queryer, a Audit) error {
	before, err := jsonOrNull(a.Before)
	if err != nil {
		return err
	}
	after, err := jsonOrNull(a.After)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `
		INSERT INTO audit_event (tenant_id, id, actor_id, actor, action, target_type, target_id, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.TenantID, uuid.New(), a.ActorID, a.Actor, a.Action, a.TargetType, a.TargetID, before, after)
	if err != nil {
		return fmt.Errorf("insert audit event %s: %w", a.Action, err)
	}
	return nil
}

// ListAudit returns a tenant's audit events, newest first, before the given
// time (zero = now), at most limit.
func ListAudit(ctx context.Context, q Queryer, tenantID uuid.UUID, before time.Time, limit int) ([]AuditEvent, error) {
	if before.IsZero() {
		before = time.Now().Add(time.Hour)
	}
	var events []AuditEvent
	err := q.SelectContext(ctx, &events, `
		SELECT tenant_id, id, actor_id, actor, action, target_type, target_id,
		       coalesce(before, 'null') AS before, coalesce(after, 'null') AS after, created_at
		FROM audit_event
		WHERE tenant_id = $1 AND created_at < $2
		ORDER BY created_at DESC
		LIMIT $3`, tenantID, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return events, nil
}

func jsonOrNull(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal audit detail: %w", err)
	}
	return b, nil
}
