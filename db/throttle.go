package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ThrottleStore keeps rate-limit counters in PostgreSQL for fiber's
// limiter (it implements fiber.Storage), so a limit holds across every
// process sharing the database. Entries past their expiry read as absent
// and are pruned by PruneThrottle.
type ThrottleStore struct {
	Q       Queryer
	Timeout time.Duration // per statement [5s]
}

func (s ThrottleStore) ctx() (context.Context, context.CancelFunc) {
	d := s.Timeout
	if d <= 0 {
		d = 5 * time.Second
	}
	return context.WithTimeout(context.Background(), d)
}

// Get returns the value stored under key, nil when absent or expired
// (fiber.Storage asks for nil, nil then, not an error).
func (s ThrottleStore) Get(key string) ([]byte, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var v []byte
	err := s.Q.GetContext(ctx, &v, `SELECT value FROM login_throttle WHERE key = $1 AND expires_at > now()`, key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read throttle %q: %w", key, err)
	}
	return v, nil
}

// Set stores val under key for exp (0: a day).
func (s ThrottleStore) Set(key string, val []byte, exp time.Duration) error {
	if exp <= 0 {
		exp = 24 * time.Hour
	}
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.Q.ExecContext(ctx, `
		INSERT INTO login_throttle (key, value, expires_at) VALUES ($1, $2, now() + $3 * interval '1 microsecond')
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
		key, val, exp.Microseconds())
	if err != nil {
		return fmt.Errorf("write throttle %q: %w", key, err)
	}
	return nil
}

// Delete removes key.
func (s ThrottleStore) Delete(key string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.Q.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, key); err != nil {
		return fmt.Errorf("delete throttle %q: %w", key, err)
	}
	return nil
}

// Reset removes every counter.
func (s ThrottleStore) Reset() error {
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.Q.ExecContext(ctx, `DELETE FROM login_throttle`); err != nil {
		return fmt.Errorf("reset throttle: %w", err)
	}
	return nil
}

// Close does nothing: the connection pool is not the store's.
func (s ThrottleStore) Close() error { return nil }

// PruneThrottle deletes expired counters.
func PruneThrottle(ctx context.Context, q Queryer) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM login_throttle WHERE expires_at <= now()`)
	if err != nil {
		return 0, fmt.Errorf("prune throttle: %w", err)
	}
	return res.RowsAffected()
}
