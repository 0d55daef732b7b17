package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jmoiron/sqlx"

	"extcron/db"
	"extcron/db/pgcluster"
)

// database is an open connection plus whatever must be stopped with it.
type database struct {
	conn    *sqlx.DB
	url     string             // for the scheduler's LISTEN connection
	cluster *pgcluster.Cluster // nil with DATABASE_URL
	// fresh is true when this start created the embedded database.
	fresh bool
}

// openDatabase connects to DATABASE_URL, or starts (creating on first use)
// the embedded cluster of the data dir. When the cluster is already running
// (serve is up) it is shared and left running at close unless own is set.
func openDatabase(ctx context.Context, cfg config, logger *slog.Logger, own bool) (*database, error) {
	if cfg.DatabaseURL != "" {
		conn, err := db.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, err
		}
		return &database{conn: conn, url: cfg.DatabaseURL}, nil
	}
	cluster, err := pgcluster.New(cfg.DataDir, pgcluster.Options{Durable: true})
	if err != nil {
		return nil, err
	}
	if err := cluster.Start(ctx); err != nil {
		return nil, err
	}
	if own {
		cluster.Adopt()
	}
	d := &database{cluster: cluster}
	if cluster.Started() {
		logger.Info("embedded PostgreSQL started", "dir", cluster.Dir())
	}
	admin, err := db.Open(ctx, cluster.URL("postgres"))
	if err != nil {
		d.close()
		return nil, err
	}
	var exists bool
	err = admin.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'extcron')`)
	if err == nil && !exists {
		_, err = admin.ExecContext(ctx, `CREATE DATABASE extcron`)
		d.fresh = err == nil
		if err != nil && strings.Contains(err.Error(), "already exists") {
			err = nil // another command created it a moment ago
		}
	}
	_ = admin.Close()
	if err != nil {
		d.close()
		return nil, fmt.Errorf("create database: %w", err)
	}
	d.url = cluster.URL("extcron")
	d.conn, err = db.Open(ctx, d.url)
	if err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// close closes the connection and stops the cluster if we own it.
func (d *database) close() {
	if d.conn != nil {
		_ = d.conn.Close()
	}
	if d.cluster != nil {
		if err := d.cluster.Stop(); err != nil {
			slog.Error("stop embedded PostgreSQL", "error", err)
		}
	}
}
