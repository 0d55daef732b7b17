package account

import (
	"context"
	"time"

	"extcron/db"
)

// AuditEvents returns a page of the actor's tenant's audit log, newest
// first: at most limit events created before the given time (zero = now).
// Anyone who may read the tenant's extensions may read its audit log.
func (s *Service) AuditEvents(ctx context.Context, actor Actor, before time.Time, limit int) ([]db.AuditEvent, error) {
	if err := actor.Require(ExtensionRead); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	return db.ListAudit(ctx, s.conn, actor.TenantID, before, limit)
}
