// Package dbtest gives every test its own fresh, migrated PostgreSQL
// database. One private cluster is started per test binary (the same
// launcher as extcron's embedded default); a template database is migrated
// once, and each test gets a clone of it, which takes milliseconds and
// keeps tests isolated and parallel-safe.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
// and in a test: conn := dbtest.New(t).
package dbtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"extcron/db"
	"extcron/db/pgcluster"
)

const templateName = "extcron_template"

var (
	cluster *pgcluster.Cluster
	admin   *sqlx.DB
	counter atomic.Int64
	// CREATE DATABASE ... TEMPLATE needs the template to have no other
	// connection; serialize clones so they never race each other.
	cloneMu sync.Mutex
)

// Main starts the cluster, migrates the template, runs the tests and stops
// the cluster. It exits the process with the tests' exit code.
func Main(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "extcron-test-")
	if err != nil {
		return 0, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cluster, err = pgcluster.New(dir, pgcluster.Options{MaxConnections: 300})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.Start(ctx); err != nil {
		return 0, err
	}
	defer func() { _ = cluster.Stop(); _ = cluster.Remove() }()

	admin, err = db.Open(ctx, cluster.URL("postgres"))
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+templateName); err != nil {
		return 0, fmt.Errorf("create template: %w", err)
	}
	tmpl, err := db.Open(ctx, cluster.URL(templateName))
	if err != nil {
		return 0, err
	}
	if _, err := db.Migrate(ctx, tmpl); err != nil {
		_ = tmpl.Close()
		return 0, err
	}
	if err := tmpl.Close(); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// Database is one test's database.
type Database struct {
	Name string
	URL  string
	DB   *sqlx.DB
}

// New creates a fresh migrated database for t, dropped at cleanup.
func New(t testing.TB) *Database {
	t.Helper()
	if admin == nil {
		t.Fatal("dbtest: call dbtest.Main(m) from TestMain")
	}
	name := fmt.Sprintf("t_%d_%s", counter.Add(1), sanitize(t.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cloneMu.Lock()
	_, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+templateName)
	cloneMu.Unlock()
	if err != nil {
		t.Fatalf("dbtest: clone template: %v", err)
	}
	conn, err := db.Open(ctx, cluster.URL(name))
	if err != nil {
		t.Fatalf("dbtest: open %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dbtest: drop %s: %v", name, err)
		}
	})
	return &Database{Name: name, URL: cluster.URL(name), DB: conn}
}

// Cluster is the running test cluster (for tests that restart it).
func Cluster() *pgcluster.Cluster { return cluster }

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}
