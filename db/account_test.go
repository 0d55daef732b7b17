package db_test

import (
	"context"
	"testing"
	"time"

	"extcron/db"
	"extcron/db/dbtest"
	"extcron/db/dbtest/fixture"
)

// Pruning removes the sessions that have ended and keeps the live ones.
func TestDeleteExpiredSessions(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	admin := fixture.Tenant(t, d.DB, "")
	now := time.Now()
	for i, expires := range []time.Time{now.Add(-time.Hour), now.Add(-time.Second), now.Add(time.Hour)} {
		if err := db.InsertSession(ctx, d.DB, db.Session{TenantID: admin.TenantID, IDHash: []byte{byte(i)},
			UserID: admin.UserID, CSRFToken: "t", ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.DeleteExpiredSessions(ctx, d.DB, now)
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	if _, err := db.FindSession(ctx, d.DB, admin.TenantID, []byte{2}, now); err != nil {
		t.Fatalf("live session gone: %v", err)
	}
}
