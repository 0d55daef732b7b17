package db_test

import (
	"context"
	"testing"

	"extcron/db"
	"extcron/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	applied, err := db.Migrate(context.Background(), d.DB)
	if err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", applied)
	}
}

func TestNoCascadingForeignKeys(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	var n int
	err := d.DB.GetContext(context.Background(), &n,
		`SELECT count(*) FROM information_schema.referential_constraints
		 WHERE delete_rule <> 'NO ACTION' OR update_rule <> 'NO ACTION'`)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d foreign keys cascade or set null; want none", n)
	}
}

// Every tenant table must lead its primary key with tenant_id so it can be
// distributed by tenant.
func TestTenantTablesKeyedByTenant(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	var bad []string
	err := d.DB.SelectContext(context.Background(), &bad, `
		SELECT c.relname
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
		WHERE i.indisprimary AND n.nspname = 'public'
		  AND c.relname NOT IN ('extension', 'extension_version', 'extension_api_endpoint',
		                        'tenant', 'user_login', 'goose_db_version', 'scheduler_reconciliation',
		                        'login_throttle')
		  AND a.attname <> 'tenant_id'`)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 0 {
		t.Fatalf("tables whose primary key does not start with tenant_id: %v", bad)
	}
}
