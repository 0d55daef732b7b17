package db_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"extcron/db"
	"extcron/db/dbtest"
)

// The limiter's store keeps a value until it expires, replaces it on Set,
// and forgets it on Delete; pruning removes only expired entries.
func TestThrottleStore(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	s := db.ThrottleStore{Q: d.DB}
	if v, err := s.Get("nobody"); v != nil || err != nil {
		t.Fatalf("absent key: %q %v", v, err)
	}
	if err := s.Set("a", []byte("one"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("a", []byte("two"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("a"); !bytes.Equal(v, []byte("two")) {
		t.Fatalf("a = %q, want two", v)
	}
	if err := s.Set("gone", []byte("x"), time.Microsecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if v, _ := s.Get("gone"); v != nil {
		t.Fatalf("expired key read %q", v)
	}
	if n, err := db.PruneThrottle(context.Background(), d.DB); n != 1 || err != nil {
		t.Fatalf("pruned %d (%v), want the expired one", n, err)
	}
	if err := s.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("a"); v != nil {
		t.Fatalf("deleted key read %q", v)
	}
}
