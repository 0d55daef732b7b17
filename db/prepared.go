package db

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// StmtCache keeps statements prepared on a connection pool, for the
// engine's hot statements run thousands of times a minute. A prepared
// statement is parsed once per connection, and PostgreSQL keeps its plan
// (after a few runs, a generic plan), where an unprepared one is parsed,
// analysed and planned on every call and costs lib/pq a second round trip
// to describe its parameters. At thousands of runs per second that was a
// fifth of the database's CPU.
type StmtCache struct {
	conn  *sqlx.DB
	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

// NewStmtCache prepares lazily on conn: each statement on first use, on
// each connection when first used there (database/sql keeps track, and
// prepares again on a new connection after the old one broke).
func NewStmtCache(conn *sqlx.DB) *StmtCache {
	return &StmtCache{conn: conn, stmts: map[string]*sqlx.Stmt{}}
}

// On returns q with its reads and writes run as prepared statements. q is
// the cache's pool or a transaction on it; a nil cache returns q itself.
func (c *StmtCache) On(q Queryer) Queryer {
	if c == nil {
		return q
	}
	return preparedQueryer{c: c, q: q}
}

func (c *StmtCache) get(ctx context.Context, query string) (*sqlx.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	s, err := c.conn.PreparexContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare statement: %w", err)
	}
	c.stmts[query] = s
	return s, nil
}

// Close releases the prepared statements.
func (c *StmtCache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		_ = s.Close()
		delete(c.stmts, q)
	}
}

type preparedQueryer struct {
	c *StmtCache
	q Queryer
}

func (p preparedQueryer) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s, err := p.c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if tx, ok := p.q.(*sqlx.Tx); ok {
		// The transaction's copy reuses what its connection has prepared.
		return tx.StmtxContext(ctx, s), nil
	}
	return s, nil
}

func (p preparedQueryer) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	s, err := p.stmt(ctx, query)
	if err != nil {
		return err
	}
	return s.SelectContext(ctx, dest, args...)
}

func (p preparedQueryer) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	s, err := p.stmt(ctx, query)
	if err != nil {
		return err
	}
	return s.GetContext(ctx, dest, args...)
}

func (p preparedQueryer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// Row-by-row reads are not prepared.

func (p preparedQueryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.q.QueryContext(ctx, query, args...)
}

func (p preparedQueryer) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	return p.q.QueryxContext(ctx, query, args...)
}

func (p preparedQueryer) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	return p.q.QueryRowxContext(ctx, query, args...)
}
