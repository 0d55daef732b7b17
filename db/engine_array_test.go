package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"extcron/db"
	"extcron/db/dbtest"
)

// The array literals of batch writes must carry any text, NULLs, uuids
// and instants through to PostgreSQL unchanged.
func TestArrayColumnRoundTrip(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()

	texts := []*string{ptr(""), ptr("NULL"), ptr(`a "quoted", {braced} \ back\\slash`), ptr("line\nbreak\ttab"),
		ptr("ünïcødé ✓"), nil, ptr(" spaced ")}
	var c db.ArrayColumn
	for _, s := range texts {
		if s == nil {
			c.NullForTest()
		} else {
			c.TextForTest(*s)
		}
	}
	var got []*string
	rows, err := d.DB.QueryContext(ctx, `SELECT x FROM unnest($1::text[]) AS x`, c.ValueForTest())
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s *string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("got %d elements, want %d", len(got), len(texts))
	}
	for i := range texts {
		if (texts[i] == nil) != (got[i] == nil) || (texts[i] != nil && *texts[i] != *got[i]) {
			t.Errorf("element %d: got %v, want %v", i, deref(got[i]), deref(texts[i]))
		}
	}

	at := time.Date(2026, 3, 29, 1, 30, 0, 123456000, time.FixedZone("x", 2*3600+30*60))
	id := uuid.New()
	var tc, uc, ic, bc, empty db.ArrayColumn
	tc.TimeForTest(at)
	uc.UUIDForTest(id)
	ic.IntForTest(-42)
	bc.BoolForTest(true)
	var row struct {
		At    time.Time `db:"at"`
		ID    uuid.UUID `db:"id"`
		N     int       `db:"n"`
		B     bool      `db:"b"`
		Empty int       `db:"empty"`
	}
	if err := d.DB.GetContext(ctx, &row, `
		SELECT ($1::timestamptz[])[1] AS at, ($2::uuid[])[1] AS id, ($3::integer[])[1] AS n,
		       ($4::boolean[])[1] AS b, cardinality($5::uuid[]) AS empty`,
		tc.ValueForTest(), uc.ValueForTest(), ic.ValueForTest(), bc.ValueForTest(), empty.ValueForTest()); err != nil {
		t.Fatal(err)
	}
	if !row.At.Equal(at) || row.ID != id || row.N != -42 || !row.B || row.Empty != 0 {
		t.Fatalf("got %+v", row)
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// A uuid is written in its canonical form, as uuid.String gives it.
func TestArrayColumnUUIDText(t *testing.T) {
	t.Parallel()
	var c db.ArrayColumn
	ids := []uuid.UUID{uuid.Nil, uuid.Max, uuid.New(), uuid.New()}
	want := "{"
	for i, id := range ids {
		c.UUIDForTest(id)
		if i > 0 {
			want += ","
		}
		want += id.String()
	}
	if got := c.ValueForTest(); got != want+"}" {
		t.Fatalf("got %s, want %s}", got, want)
	}
}
