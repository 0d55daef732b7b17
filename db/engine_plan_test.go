package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"extcron/db"
	"extcron/db/dbtest"
)

// The fire cycle's claim reads the due-timer index and touches about the
// same number of pages however many timers are stored: with 200 due, 20×
// more stored timers must not make it read anywhere near 20× the buffers.
// (The benchmark measures the time; this checks the shape, which does not
// depend on the machine.)
func TestTimerClaimIsAnIndexScanOfFlatCost(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	var buffers []int
	for _, stored := range []int{2_000, 40_000} {
		if _, err := d.DB.ExecContext(ctx, `TRUNCATE scheduler_timer`); err != nil {
			t.Fatal(err)
		}
		// 200 due, 10 in each of 20 tenants; the rest due over the next month.
		if _, err := d.DB.ExecContext(ctx, `
			INSERT INTO scheduler_timer (tenant_id, key, schedule_id, next_fire_at)
			SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(g % 20), 12, '0'))::uuid, 'extsched:' || g, gen_random_uuid(),
			       CASE WHEN g <= 200 THEN $2::timestamptz - g * interval '1 second'
			            ELSE $2::timestamptz + g * interval '1 minute' END
			FROM generate_series(1, $1::int) AS g`, stored, now); err != nil {
			t.Fatal(err)
		}
		if _, err := d.DB.ExecContext(ctx, `VACUUM ANALYZE scheduler_timer`); err != nil {
			t.Fatal(err)
		}
		plan := explain(t, d.DB, db.ClaimTimersQuery, now, 625, "{}", "{}", 10, now.Add(-time.Hour), 500, "{}", db.TenantClaimLocks)
		if !strings.Contains(plan.text, "scheduler_timer_due_idx") || strings.Contains(plan.text, "Seq Scan on scheduler_timer") {
			t.Fatalf("claim plan with %d timers does not read the due index:\n%s", stored, plan.text)
		}
		if plan.rows != 200 {
			t.Fatalf("claimed %d of 200 due", plan.rows)
		}
		buffers = append(buffers, plan.buffers)
	}
	if buffers[1] > 2*buffers[0] {
		t.Fatalf("claim read %d buffers with 2 000 timers and %d with 40 000: it grows with the table", buffers[0], buffers[1])
	}
	t.Logf("claim buffers: %d with 2 000 timers, %d with 40 000", buffers[0], buffers[1])
}

type plan struct {
	text    string // the whole JSON plan, for node and index names
	rows    int    // rows the statement returned
	buffers int    // shared buffers hit and read
}

// explain runs EXPLAIN ANALYZE of query inside a batch transaction (so it
// is planned as the engine plans it) and rolls back what it changed.
func explain(t *testing.T, conn *sqlx.DB, query string, args ...any) plan {
	t.Helper()
	var raw string
	rollback := errors.New("rollback")
	err := db.WithBatchTx(context.Background(), conn, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(context.Background(), &raw, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)"+query, args...); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	var out []struct {
		Plan struct {
			Rows int `json:"Actual Rows"`
			Hit  int `json:"Shared Hit Blocks"`
			Read int `json:"Shared Read Blocks"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil || len(out) != 1 {
		t.Fatalf("EXPLAIN output: %v\n%s", err, raw)
	}
	return plan{text: raw, rows: out[0].Plan.Rows, buffers: out[0].Plan.Hit + out[0].Plan.Read}
}
