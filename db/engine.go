package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The scheduler engine's statements. Bulk reads and writes pass their rows
// as one round trip per batch, however many rows: the hot writes (fire,
// finish, schedule bookkeeping) as one typed array per column expanded
// with unnest (see column), the rare ones as a JSON document expanded
// with jsonb_to_recordset.

// WithBatchTx runs fn in a transaction for the engine's batch statements.
// Those join a batch (an unnest of a few hundred keys) to a large table by
// its key, and each should be a probe per key, whatever the statistics
// say. Left to itself the planner often hashes the whole table instead (a
// scan of every timer or schedule per batch, growing with the table), and
// with a table it believes small it even filters a scan against every row
// of the batch. So these transactions plan with index scans and nested
// loops only, and with generic plans: the statements are prepared (see
// StmtCache) and planned once per connection instead of on every call.
func WithBatchTx(ctx context.Context, conn *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	return WithTx(ctx, conn, func(tx *sqlx.Tx) error {
		// One round trip: without arguments this is a simple query, which
		// may hold several statements.
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;
			SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off;
			SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
			return fmt.Errorf("plan settings: %w", err)
		}
		return fn(tx)
	})
}

// DueTimer is a timer claimed by a fire cycle.
type DueTimer struct {
	TenantID   uuid.UUID `db:"tenant_id"`
	Key        string    `db:"key"`
	ScheduleID uuid.UUID `db:"schedule_id"`
	NextFireAt time.Time `db:"next_fire_at"`
}

// ClaimDueTimers locks up to limit timers due at now, oldest first. SKIP
// LOCKED lets any number of processes claim side by side: a timer another
// process holds is simply not seen, and the caller's transaction keeps the
// lock until it has recorded the runs and advanced the timer.
func ClaimDueTimers(ctx context.Context, q Queryer, now time.Time, limit int) ([]DueTimer, error) {
	var out []DueTimer
	err := q.SelectContext(ctx, &out, `
		SELECT tenant_id, key, schedule_id, next_fire_at
		FROM scheduler_timer
		WHERE NOT paused AND next_fire_at IS NOT NULL AND next_fire_at <= $1
		ORDER BY next_fire_at
		LIMIT $2
		FOR UPDATE SKIP LOCKED`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim due timers: %w", err)
	}
	return out, nil
}

// TimerClaim is a fire cycle's claim bounded by what the claiming process
// can start: at most Limit timers, and per tenant at most its room (Room
// when listed, else TenantCap). Tenants listed in Full are not even
// locked. Timers due at or before Overdue are taken whatever the room: they
// have waited long enough in their timer and are recorded as queued runs.
type TimerClaim struct {
	Due       time.Time
	Overdue   time.Time
	Limit     int
	TenantCap int
	Room      map[uuid.UUID]int
	Full      []uuid.UUID
}

// ClaimTimersQuery is ClaimTimersWithRoom's statement ($1 due, $2
// candidates locked, $3/$4 tenants and their room, $5 the tenant cap, $6
// overdue, $7 limit, $8 tenants at the cap, $9 the tenant claim locks'
// space), exported for the benchmark's EXPLAIN.
const ClaimTimersQuery = `
		WITH cand AS MATERIALIZED (
			SELECT tenant_id, key, schedule_id, next_fire_at
			FROM scheduler_timer
			WHERE NOT paused AND next_fire_at IS NOT NULL AND next_fire_at <= $1
			  -- A timer is a candidate only if its tenant's claim lock is
			  -- ours (see LockTenantsForClaim), tried last, for a timer the
			  -- claim may take; a tenant another claim is deciding for is
			  -- passed over and the batch fills from others.
			  AND CASE WHEN tenant_id = ANY ($8::uuid[]) AND next_fire_at > $6 THEN false
			           ELSE pg_try_advisory_xact_lock($9, hashtext(tenant_id::text)) END
			ORDER BY next_fire_at
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		), ranked AS (
			SELECT cand.*, row_number() OVER (PARTITION BY tenant_id ORDER BY next_fire_at, key) AS rn
			FROM cand
		)
		SELECT k.tenant_id, k.key, k.schedule_id, k.next_fire_at, (SELECT count(*) FROM cand) AS candidates,
		       cardinality($8::uuid[]) > 0 AND EXISTS (
		           SELECT 1 FROM scheduler_timer f
		           WHERE NOT f.paused AND f.next_fire_at IS NOT NULL AND f.next_fire_at <= $1
		             AND f.tenant_id = ANY ($8::uuid[])) AS held_back
		FROM ranked k
		LEFT JOIN unnest($3::uuid[], $4::integer[]) AS r(tenant_id, room) ON r.tenant_id = k.tenant_id
		WHERE k.rn <= coalesce(r.room, $5) OR k.next_fire_at <= $6
		ORDER BY k.next_fire_at
		LIMIT $7`

// ClaimTimersWithRoom claims per TimerClaim. more reports that due timers
// were left behind (over a tenant's room, or beyond the candidates looked
// at): the caller should look again when room frees up.
func ClaimTimersWithRoom(ctx context.Context, q Queryer, c TimerClaim) (timers []DueTimer, more bool, err error) {
	var roomT, roomN column
	for t, n := range c.Room {
		roomT.uuid(t)
		roomN.int(n)
	}
	var full column
	for _, t := range c.Full {
		full.uuid(t)
	}
	// Candidates beyond the limit let capped tenants' timers be passed
	// over and the batch still be filled from others.
	scan := min(max(c.Limit+c.Limit/4, 100), 10000)
	var rows []struct {
		DueTimer
		Candidates int  `db:"candidates"`
		HeldBack   bool `db:"held_back"`
	}
	err = q.SelectContext(ctx, &rows, ClaimTimersQuery,
		c.Due, scan, roomT.value(), roomN.value(), c.TenantCap, c.Overdue, c.Limit, full.value(), TenantClaimLocks)
	if err != nil {
		return nil, false, fmt.Errorf("claim due timers: %w", err)
	}
	timers = make([]DueTimer, len(rows))
	candidates, heldBack := 0, false
	for i, r := range rows {
		timers[i], candidates, heldBack = r.DueTimer, r.Candidates, r.HeldBack
	}
	if len(rows) == 0 && len(c.Full) > 0 {
		// Nothing claimed: the select above returned no row to carry the
		// flag, so ask on its own.
		err = q.GetContext(ctx, &heldBack, `
			SELECT EXISTS (SELECT 1 FROM scheduler_timer
			               WHERE NOT paused AND next_fire_at IS NOT NULL AND next_fire_at <= $1
			                 AND tenant_id = ANY ($2::uuid[]))`, c.Due, full.value())
		if err != nil {
			return nil, false, fmt.Errorf("look for held-back timers: %w", err)
		}
	}
	return timers, heldBack || candidates > len(rows) || candidates == scan, nil
}

// FireSchedule is what a fire cycle needs to know about a claimed timer's
// schedule: its timing and policies, whether it may run, its runs in
// flight, and what a call needs, so a run can start right away.
type FireSchedule struct {
	TenantID             uuid.UUID  `db:"tenant_id"`
	ID                   uuid.UUID  `db:"id"`
	InstallID            uuid.UUID  `db:"install_id"`
	Cron                 string     `db:"cron"`
	Timezone             string     `db:"timezone"`
	Enabled              bool       `db:"enabled"`
	OverlapPolicy        string     `db:"overlap_policy"`
	CatchupPolicy        string     `db:"catchup_policy"`
	CatchupWindowSeconds int        `db:"catchup_window_seconds"`
	Active               int        `db:"active"`
	Queued               int        `db:"queued"`
	ActiveRunID          *uuid.UUID `db:"active_run_id"`
	CallTarget
}

// CallTarget is what calling the runner for a run needs, read when the run
// starts (never a stale copy): the schedule's endpoint, payload and retry
// budget, the install's current version, settings and sealed secrets, the
// endpoint row, and the tenant's kill switch. Pointer fields are nil when
// those rows are gone.
type CallTarget struct {
	EndpointID       *uuid.UUID      `db:"endpoint_id"`
	Payload          json.RawMessage `db:"payload_json"`
	RetryMaxAttempts int             `db:"retry_max_attempts"`
	InstallFound     bool            `db:"install_found"`
	InstallEnabled   bool            `db:"install_enabled"`
	ExtensionID      *uuid.UUID      `db:"extension_id"`
	VersionID        *uuid.UUID      `db:"version_id"`
	Version          *string         `db:"version"`
	ContentHash      *string         `db:"content_hash"`
	Config           []byte          `db:"config"`
	Providers        []byte          `db:"providers"` // JSON array
	Secrets          []byte          `db:"secrets_ciphertext"`
	TenantSuspended  bool            `db:"tenant_suspended"`
	EndpointFound    bool            `db:"endpoint_found"`
	EndpointVersion  *uuid.UUID      `db:"endpoint_version"`
	EndpointMethod   *string         `db:"endpoint_method"`
	EndpointPath     *string         `db:"endpoint_path"`
}

// ScheduleRef names a schedule of a tenant.
type ScheduleRef struct {
	TenantID uuid.UUID `json:"tenant_id"`
	ID       uuid.UUID `json:"id"`
}

// LoadFireSchedules loads the schedules of a batch of claimed timers by
// key (the claim itself never joins tenant tables), with their install,
// version and endpoint as they are now.
func LoadFireSchedules(ctx context.Context, q Queryer, refs []ScheduleRef) ([]FireSchedule, error) {
	var tenant, id column
	for _, r := range refs {
		tenant.uuid(r.TenantID)
		id.uuid(r.ID)
	}
	var out []FireSchedule
	err := q.SelectContext(ctx, &out, `
		SELECT s.tenant_id, s.id, s.install_id, s.cron, s.timezone, s.enabled, s.overlap_policy,
		       s.catchup_policy, s.catchup_window_seconds,
		       i.id IS NOT NULL AS install_found, coalesce(i.enabled, false) AS install_enabled,
		       coalesce(t.schedules_suspended, false) AS tenant_suspended,
		       a.active, a.queued, a.active_run_id,
		       s.endpoint_id, coalesce(s.payload_json, 'null') AS payload_json, s.retry_max_attempts,
		       i.extension_id, i.version_id, v.version, v.content_hash, i.config,
		       to_jsonb(i.providers) AS providers, i.secrets_ciphertext,
		       ep.id IS NOT NULL AS endpoint_found, ep.version_id AS endpoint_version,
		       ep.method AS endpoint_method, ep.path AS endpoint_path
		FROM unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, id)
		JOIN tenant_extension_schedule s ON s.tenant_id = k.tenant_id AND s.id = k.id
		LEFT JOIN tenant_extension_install i ON i.tenant_id = s.tenant_id AND i.id = s.install_id
		LEFT JOIN extension_version v ON v.id = i.version_id
		LEFT JOIN extension_api_endpoint ep ON ep.id = s.endpoint_id
		LEFT JOIN tenant t ON t.id = s.tenant_id
		CROSS JOIN LATERAL (
			SELECT count(*) AS active,
			       count(*) FILTER (WHERE r.status = 'queued') AS queued,
			       (array_agg(r.id ORDER BY r.created_at))[1] AS active_run_id
			FROM tenant_extension_schedule_run r
			WHERE r.tenant_id = s.tenant_id AND r.schedule_id = s.id AND r.status IN ('queued', 'running')
		) a`, tenant.value(), id.value())
	if err != nil {
		return nil, fmt.Errorf("load schedules of due timers: %w", err)
	}
	return out, nil
}

// TenantClaimLocks is the advisory-lock space of the tenant claim locks
// (the first key of the two-key form; the second is a hash of the tenant).
const TenantClaimLocks = 0x78637274

// LockTenantsForClaim takes, for the calling transaction, the claim lock
// of each tenant that no other claim holds, and returns the tenants it
// locked. A claim starts runs of a tenant only under its lock and counts
// the tenant's runs in flight after taking it (CountRunning, a later
// statement, so a later snapshot): claims of the same tenant, in any
// process, are then decided one after the other, each seeing the runs the
// one before committed, and the tenant cap holds exactly. A tenant whose
// lock another claim holds is passed over, never waited for. q must be a
// transaction: the locks end with it.
func LockTenantsForClaim(ctx context.Context, q Queryer, tenants []uuid.UUID) (map[uuid.UUID]bool, error) {
	var locked []uuid.UUID
	err := q.SelectContext(ctx, &locked, `
		SELECT t FROM unnest($1::uuid[]) AS t
		WHERE pg_try_advisory_xact_lock($2, hashtext(t::text))`, uuidArray(tenants), TenantClaimLocks)
	if err != nil {
		return nil, fmt.Errorf("lock tenants for claim: %w", err)
	}
	out := make(map[uuid.UUID]bool, len(locked))
	for _, t := range locked {
		out[t] = true
	}
	return out, nil
}

// CountRunning counts, per tenant, the runs in flight in any process,
// except ended: the caller's runs whose call has ended and whose result is
// not yet committed (they still read running but no longer hold a slot).
func CountRunning(ctx context.Context, q Queryer, tenants []uuid.UUID, ended []uuid.UUID) (map[uuid.UUID]int, error) {
	var rows []struct {
		TenantID uuid.UUID `db:"tenant_id"`
		N        int       `db:"n"`
	}
	err := q.SelectContext(ctx, &rows, `
		SELECT tenant_id, count(*) AS n FROM tenant_extension_schedule_run
		WHERE status = 'running' AND tenant_id = ANY ($1::uuid[]) AND id <> ALL ($2::uuid[])
		GROUP BY tenant_id`, uuidArray(tenants), uuidArray(ended))
	if err != nil {
		return nil, fmt.Errorf("count runs in flight: %w", err)
	}
	out := make(map[uuid.UUID]int, len(rows))
	for _, r := range rows {
		out[r.TenantID] = r.N
	}
	return out, nil
}

// NewRun is a run row written by a fire cycle: queued, or already final
// (skipped, missed, or failed by a run-time check).
type NewRun struct {
	TenantID      uuid.UUID  `json:"tenant_id"`
	ID            uuid.UUID  `json:"id"`
	ScheduleID    uuid.UUID  `json:"schedule_id"`
	InstallID     uuid.UUID  `json:"install_id"`
	Trigger       string     `json:"trigger"`
	ScheduledFor  time.Time  `json:"scheduled_for"`
	InvocationID  uuid.UUID  `json:"invocation_id"`
	Status        string     `json:"status"`
	NextAttemptAt string     `json:"next_attempt_at"` // a timestamptz literal: an instant, "infinity" or "-infinity"
	Error         *string    `json:"error"`
	FinishedAt    *time.Time `json:"finished_at"`
	CreatedAt     time.Time  `json:"created_at"`
	// A run started by the fire cycle itself is written running, as its
	// first attempt, under the firing process's lease.
	Attempt        int        `json:"attempt"`
	LeaseOwner     *string    `json:"lease_owner"`
	LeaseExpiresAt *time.Time `json:"lease_expires_at"`
	StartedAt      *time.Time `json:"started_at"`
}

// InsertedRun reports a run row that was actually written.
type InsertedRun struct {
	TenantID     uuid.UUID `db:"tenant_id"`
	ID           uuid.UUID `db:"id"`
	ScheduleID   uuid.UUID `db:"schedule_id"`
	Status       string    `db:"status"`
	ScheduledFor time.Time `db:"scheduled_for"`
}

// TimerChange is what a fire cycle does to one claimed timer.
type TimerChange struct {
	TenantID   uuid.UUID  `json:"tenant_id"`
	Key        string     `json:"key"`
	NextFireAt *time.Time `json:"next_fire_at"` // nil: errored, never due again until repaired
	Paused     bool       `json:"paused"`
	Delete     bool       `json:"delete"`
}

// ScheduleFireUpdate is the bookkeeping a fire cycle writes on a schedule.
type ScheduleFireUpdate struct {
	TenantID  uuid.UUID  `json:"tenant_id"`
	ID        uuid.UUID  `json:"id"`
	NextRunAt *time.Time `json:"next_run_at"`
	// SetError replaces last_error with LastError (errored schedules).
	SetError  bool    `json:"set_error"`
	LastError *string `json:"last_error"`
	// LastStatus, when set, records a run that ended at fire time (a
	// run-time check failed before any call).
	LastStatus *string    `json:"last_status"`
	LastRunAt  *time.Time `json:"last_run_at"`
}

// RecordFire writes what a fire cycle decided in one statement: the runs,
// the timers advanced or paused, and the schedules' next_run_at (and
// errors). The three touch different tables and none reads what another
// writes, so one round trip does the work of three. Timers to delete, rare,
// take a second statement. It returns the runs written.
//
// ON CONFLICT DO NOTHING on the (tenant, schedule, scheduled_for) unique
// index is the last line of exactly-once: a fire time already recorded, by
// whichever process, is never recorded twice.
func RecordFire(ctx context.Context, q Queryer, runs []NewRun, timers []TimerChange, schedules []ScheduleFireUpdate) ([]InsertedRun, error) {
	var rTenant, rID, rSched, rInstall, rTrigger, rFor, rInvocation, rStatus, rError, rFinished, rNext, rCreated column
	var rAttempt, rOwner, rLease, rStarted column
	for _, r := range runs {
		rAttempt.int(r.Attempt)
		rOwner.textPtr(r.LeaseOwner)
		rLease.timePtr(r.LeaseExpiresAt)
		rStarted.timePtr(r.StartedAt)
		rTenant.uuid(r.TenantID)
		rID.uuid(r.ID)
		rSched.uuid(r.ScheduleID)
		rInstall.uuid(r.InstallID)
		rTrigger.text(r.Trigger)
		rFor.time(r.ScheduledFor)
		rInvocation.uuid(r.InvocationID)
		rStatus.text(r.Status)
		rError.textPtr(r.Error)
		rFinished.timePtr(r.FinishedAt)
		rNext.text(r.NextAttemptAt)
		rCreated.time(r.CreatedAt)
	}
	var tTenant, tKey, tNext, tPaused, dTenant, dKey column
	for _, t := range timers {
		if t.Delete {
			dTenant.uuid(t.TenantID)
			dKey.text(t.Key)
			continue
		}
		tTenant.uuid(t.TenantID)
		tKey.text(t.Key)
		tNext.timePtr(t.NextFireAt)
		tPaused.bool(t.Paused)
	}
	var sTenant, sID, sNext, sSetErr, sErr, sStatus, sRunAt column
	for _, u := range schedules {
		sTenant.uuid(u.TenantID)
		sID.uuid(u.ID)
		sNext.timePtr(u.NextRunAt)
		sSetErr.bool(u.SetError)
		sErr.textPtr(u.LastError)
		sStatus.textPtr(u.LastStatus)
		sRunAt.timePtr(u.LastRunAt)
	}
	var out []InsertedRun
	err := q.SelectContext(ctx, &out, `
		WITH ins AS (
			INSERT INTO tenant_extension_schedule_run (
				tenant_id, id, schedule_id, install_id, trigger, scheduled_for, invocation_id, attempt,
				status, error, finished_at, next_attempt_at, created_at, lease_owner, lease_expires_at, started_at)
			SELECT x.tenant_id, x.id, x.schedule_id, x.install_id, x.trigger, x.scheduled_for, x.invocation_id,
			       x.attempt, x.status, x.error, x.finished_at, x.next_attempt_at, x.created_at,
			       x.lease_owner, x.lease_expires_at, x.started_at
			FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[], $7::uuid[],
				$8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
				$24::integer[], $25::text[], $26::timestamptz[], $27::timestamptz[])
				AS x(tenant_id, id, schedule_id, install_id, trigger, scheduled_for, invocation_id, status, error,
				     finished_at, next_attempt_at, created_at, attempt, lease_owner, lease_expires_at, started_at)
			ON CONFLICT DO NOTHING
			RETURNING tenant_id, id, schedule_id, status, scheduled_for
		), timers AS (
			UPDATE scheduler_timer t
			SET next_fire_at = x.next_fire_at, paused = x.paused
			FROM unnest($13::uuid[], $14::text[], $15::timestamptz[], $16::boolean[]) AS x(tenant_id, key, next_fire_at, paused)
			WHERE t.tenant_id = x.tenant_id AND t.key = x.key
		), schedules AS (
			UPDATE tenant_extension_schedule s
			SET next_run_at = x.next_run_at,
			    last_error = CASE WHEN x.set_error OR x.last_status IS NOT NULL THEN x.last_error ELSE s.last_error END,
			    last_run_status = coalesce(x.last_status, s.last_run_status),
			    last_run_at = coalesce(x.last_run_at, s.last_run_at)
			FROM unnest($17::uuid[], $18::uuid[], $19::timestamptz[], $20::boolean[], $21::text[], $22::text[],
				$23::timestamptz[]) AS x(tenant_id, id, next_run_at, set_error, last_error, last_status, last_run_at)
			WHERE s.tenant_id = x.tenant_id AND s.id = x.id
		)
		SELECT tenant_id, id, schedule_id, status, scheduled_for FROM ins`,
		rTenant.value(), rID.value(), rSched.value(), rInstall.value(), rTrigger.value(), rFor.value(),
		rInvocation.value(), rStatus.value(), rError.value(), rFinished.value(), rNext.value(), rCreated.value(),
		tTenant.value(), tKey.value(), tNext.value(), tPaused.value(),
		sTenant.value(), sID.value(), sNext.value(), sSetErr.value(), sErr.value(), sStatus.value(), sRunAt.value(),
		rAttempt.value(), rOwner.value(), rLease.value(), rStarted.value())
	if err != nil {
		return nil, fmt.Errorf("record fire cycle: %w", err)
	}
	if len(dTenant.b) > 0 {
		// Timers to delete (orphans, disabled schedules) are rare.
		if _, err := q.ExecContext(ctx, `
			DELETE FROM scheduler_timer t
			USING unnest($1::uuid[], $2::text[]) AS x(tenant_id, key)
			WHERE t.tenant_id = x.tenant_id AND t.key = x.key`, dTenant.value(), dKey.value()); err != nil {
			return nil, fmt.Errorf("delete timers: %w", err)
		}
	}
	return out, nil
}

// uuidArray is ids as a PostgreSQL uuid[] parameter.
func uuidArray(ids []uuid.UUID) any {
	var c column
	for _, id := range ids {
		c.uuid(id)
	}
	return c.value()
}

// ClaimedRun is a run taken for execution, with its call target.
type ClaimedRun struct {
	TenantID     uuid.UUID `db:"tenant_id"`
	ID           uuid.UUID `db:"id"`
	ScheduleID   uuid.UUID `db:"schedule_id"`
	InstallID    uuid.UUID `db:"install_id"`
	Trigger      string    `db:"trigger"`
	ScheduledFor time.Time `db:"scheduled_for"`
	InvocationID uuid.UUID `db:"invocation_id"`
	Attempt      int       `db:"attempt"`
	LeaseOwner   string    `db:"lease_owner"`
	// ScheduleFound and the call target are filled in after the claim
	// (ResolveClaimedRuns), or from the fire cycle's read.
	ScheduleFound bool `db:"-"`
	CallTarget
}

// ClaimRunsQuery is ClaimRuns' statement ($1 owner, $2 now, $3 lease
// end, $4 limit, $5 tenant cap, $6 candidates scanned, $7 the claiming
// process's runs whose call has ended but whose result is not yet
// committed, not counted as in flight, $8 the tenants whose claim lock
// the transaction holds), exported for the benchmark's EXPLAIN. It
// touches the run table only: what the call needs is resolved afterwards,
// once per schedule, install and endpoint of the batch
// (ResolveClaimedRuns), not once per run inside the claim.
const ClaimRunsQuery = `
		WITH cand AS MATERIALIZED (
			-- SKIP LOCKED: another process claiming at the same moment
			-- takes other rows instead of waiting for these.
			SELECT tenant_id, id, next_attempt_at
			FROM tenant_extension_schedule_run
			WHERE status = 'queued' AND next_attempt_at <= $2 AND tenant_id = ANY ($8::uuid[])
			ORDER BY next_attempt_at
			LIMIT $6
			FOR UPDATE SKIP LOCKED
		), busy AS MATERIALIZED (
			-- Runs in flight of the candidates' tenants, read through the
			-- running-only partial index (the lease index), which holds at
			-- most the runs in flight.
			SELECT r.tenant_id, count(*) AS n
			FROM tenant_extension_schedule_run r
			WHERE r.status = 'running' AND r.tenant_id = ANY (ARRAY(SELECT DISTINCT tenant_id FROM cand))
			  AND r.id <> ALL ($7::uuid[])
			GROUP BY r.tenant_id
		), picked AS MATERIALIZED (
			SELECT c.tenant_id, c.id
			FROM (SELECT cand.*, row_number() OVER (PARTITION BY tenant_id ORDER BY next_attempt_at, id) AS rn
			      FROM cand) c
			LEFT JOIN busy b ON b.tenant_id = c.tenant_id
			WHERE c.rn + coalesce(b.n, 0) <= $5
			ORDER BY c.next_attempt_at
			LIMIT $4
		)
		UPDATE tenant_extension_schedule_run r
		SET status = 'running', lease_owner = $1, lease_expires_at = $3, attempt = r.attempt + 1,
		    started_at = $2, finished_at = NULL
		FROM picked p
		WHERE r.tenant_id = p.tenant_id AND r.id = p.id
		RETURNING r.tenant_id, r.id, r.schedule_id, r.install_id, r.trigger, r.scheduled_for, r.invocation_id,
		          r.attempt, r.lease_owner`

// ClaimRuns takes up to limit queued runs that are due at now and marks
// them running under owner's lease, as their next attempt. A tenant never
// gets more than tenantCap runs in flight: the claim takes the claim locks
// of the due runs' tenants first (LockTenantsForClaim) and counts in a
// second statement, so q must be a transaction. The runs come back
// unresolved; ResolveClaimedRuns fills in what the call needs. ended lists
// runs of owner whose call has ended, their result not yet committed: they
// still read running but no longer count toward their tenant's cap, so a
// slot is reused without waiting for the result's commit.
func ClaimRuns(ctx context.Context, q Queryer, owner string, now, leaseUntil time.Time, limit, tenantCap int,
	ended []uuid.UUID) ([]ClaimedRun, error) {
	// Candidates beyond limit leave room for the tenant cap to skip capped
	// tenants' runs and still fill the batch from others.
	scan := min(max(limit*4, 100), 10000)
	var due []uuid.UUID
	err := q.SelectContext(ctx, &due, `
		SELECT DISTINCT tenant_id FROM (
			SELECT tenant_id FROM tenant_extension_schedule_run
			WHERE status = 'queued' AND next_attempt_at <= $1
			ORDER BY next_attempt_at
			LIMIT $2) c`, now, scan)
	if err != nil || len(due) == 0 {
		return nil, wrap("find tenants with due runs", err)
	}
	locked, err := LockTenantsForClaim(ctx, q, due)
	if err != nil || len(locked) == 0 {
		return nil, err
	}
	tenants := make([]uuid.UUID, 0, len(locked))
	for t := range locked {
		tenants = append(tenants, t)
	}
	var out []ClaimedRun
	err = q.SelectContext(ctx, &out, ClaimRunsQuery,
		owner, now, leaseUntil, limit, tenantCap, scan, uuidArray(ended), uuidArray(tenants))
	if err != nil {
		return nil, fmt.Errorf("claim runs: %w", err)
	}
	return out, nil
}

// ResolveClaimedRuns fills in, for a batch of claimed runs, the schedule,
// install (with its version and tenant) and endpoint each call needs: three
// set-based reads per batch, each row read once however many runs share it.
func ResolveClaimedRuns(ctx context.Context, q Queryer, runs []ClaimedRun) error {
	if len(runs) == 0 {
		return nil
	}
	type key struct{ tenantID, id uuid.UUID }
	var sT, sID, iT, iID []string
	seenS, seenI := map[key]bool{}, map[key]bool{}
	for _, r := range runs {
		if k := (key{r.TenantID, r.ScheduleID}); !seenS[k] {
			seenS[k] = true
			sT, sID = append(sT, r.TenantID.String()), append(sID, r.ScheduleID.String())
		}
		if k := (key{r.TenantID, r.InstallID}); !seenI[k] {
			seenI[k] = true
			iT, iID = append(iT, r.TenantID.String()), append(iID, r.InstallID.String())
		}
	}
	var scheds []struct {
		TenantID         uuid.UUID       `db:"tenant_id"`
		ID               uuid.UUID       `db:"id"`
		EndpointID       uuid.UUID       `db:"endpoint_id"`
		Payload          json.RawMessage `db:"payload_json"`
		RetryMaxAttempts int             `db:"retry_max_attempts"`
	}
	if err := q.SelectContext(ctx, &scheds, `
		SELECT s.tenant_id, s.id, s.endpoint_id, coalesce(s.payload_json, 'null') AS payload_json, s.retry_max_attempts
		FROM unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, id)
		JOIN tenant_extension_schedule s ON s.tenant_id = k.tenant_id AND s.id = k.id`,
		pq.Array(sT), pq.Array(sID)); err != nil {
		return fmt.Errorf("resolve claimed runs' schedules: %w", err)
	}
	var installs []struct {
		TenantID    uuid.UUID `db:"tenant_id"`
		ID          uuid.UUID `db:"id"`
		Enabled     bool      `db:"enabled"`
		ExtensionID uuid.UUID `db:"extension_id"`
		VersionID   uuid.UUID `db:"version_id"`
		Version     *string   `db:"version"`
		ContentHash *string   `db:"content_hash"`
		Config      []byte    `db:"config"`
		Providers   []byte    `db:"providers"`
		Secrets     []byte    `db:"secrets_ciphertext"`
	}
	if err := q.SelectContext(ctx, &installs, `
		SELECT i.tenant_id, i.id, i.enabled, i.extension_id, i.version_id, v.version, v.content_hash, i.config,
		       to_jsonb(i.providers) AS providers, i.secrets_ciphertext
		FROM unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, id)
		JOIN tenant_extension_install i ON i.tenant_id = k.tenant_id AND i.id = k.id
		LEFT JOIN extension_version v ON v.id = i.version_id`,
		pq.Array(iT), pq.Array(iID)); err != nil {
		return fmt.Errorf("resolve claimed runs' installs: %w", err)
	}
	// The kill switch of a tenant whose install is gone still applies.
	var tenants []string
	seenT := map[uuid.UUID]bool{}
	for _, r := range runs {
		if !seenT[r.TenantID] {
			seenT[r.TenantID] = true
			tenants = append(tenants, r.TenantID.String())
		}
	}
	var suspended []uuid.UUID
	if err := q.SelectContext(ctx, &suspended, `
		SELECT id FROM tenant WHERE id = ANY ($1::uuid[]) AND schedules_suspended`, pq.Array(tenants)); err != nil {
		return fmt.Errorf("resolve claimed runs' tenants: %w", err)
	}
	endpointIDs := make([]string, 0, len(scheds))
	seenE := map[uuid.UUID]bool{}
	for _, s := range scheds {
		if !seenE[s.EndpointID] {
			seenE[s.EndpointID] = true
			endpointIDs = append(endpointIDs, s.EndpointID.String())
		}
	}
	var endpoints []struct {
		ID        uuid.UUID `db:"id"`
		VersionID uuid.UUID `db:"version_id"`
		Method    string    `db:"method"`
		Path      string    `db:"path"`
	}
	if err := q.SelectContext(ctx, &endpoints, `
		SELECT id, version_id, method, path FROM extension_api_endpoint WHERE id = ANY ($1::uuid[])`,
		pq.Array(endpointIDs)); err != nil {
		return fmt.Errorf("resolve claimed runs' endpoints: %w", err)
	}

	schedByKey := make(map[key]int, len(scheds))
	for i, s := range scheds {
		schedByKey[key{s.TenantID, s.ID}] = i
	}
	installByKey := make(map[key]int, len(installs))
	for i, in := range installs {
		installByKey[key{in.TenantID, in.ID}] = i
	}
	endpointByID := make(map[uuid.UUID]int, len(endpoints))
	for i, e := range endpoints {
		endpointByID[e.ID] = i
	}
	isSuspended := make(map[uuid.UUID]bool, len(suspended))
	for _, t := range suspended {
		isSuspended[t] = true
	}
	for j := range runs {
		r := &runs[j]
		r.TenantSuspended = isSuspended[r.TenantID]
		r.Payload, r.RetryMaxAttempts = json.RawMessage("null"), 1
		if i, ok := schedByKey[key{r.TenantID, r.ScheduleID}]; ok {
			s := scheds[i]
			r.ScheduleFound = true
			ep := s.EndpointID
			r.EndpointID, r.Payload, r.RetryMaxAttempts = &ep, s.Payload, s.RetryMaxAttempts
			if i, ok := endpointByID[s.EndpointID]; ok {
				e := endpoints[i]
				r.EndpointFound = true
				r.EndpointVersion, r.EndpointMethod, r.EndpointPath = &e.VersionID, &e.Method, &e.Path
			}
		}
		if i, ok := installByKey[key{r.TenantID, r.InstallID}]; ok {
			in := installs[i]
			r.InstallFound, r.InstallEnabled = true, in.Enabled
			r.ExtensionID, r.VersionID = &in.ExtensionID, &in.VersionID
			r.Version, r.ContentHash = in.Version, in.ContentHash
			r.Config, r.Providers, r.Secrets = in.Config, in.Providers, in.Secrets
		}
	}
	return nil
}

// ExpiredRun is a running run whose lease has expired: its holder died or
// lost the database for longer than the lease.
type ExpiredRun struct {
	TenantID         uuid.UUID `db:"tenant_id"`
	ID               uuid.UUID `db:"id"`
	ScheduleID       uuid.UUID `db:"schedule_id"`
	Attempt          int       `db:"attempt"`
	LeaseOwner       string    `db:"lease_owner"`
	RetryMaxAttempts int       `db:"retry_max_attempts"`
	Trigger          string    `db:"trigger"`
	ScheduledFor     time.Time `db:"scheduled_for"`
}

// LockExpiredRuns locks up to limit runs whose lease expired at now.
func LockExpiredRuns(ctx context.Context, q Queryer, now time.Time, limit int) ([]ExpiredRun, error) {
	var out []ExpiredRun
	err := q.SelectContext(ctx, &out, `
		SELECT r.tenant_id, r.id, r.schedule_id, r.attempt, coalesce(r.lease_owner, '') AS lease_owner,
		       coalesce((SELECT s.retry_max_attempts FROM tenant_extension_schedule s
		                 WHERE s.tenant_id = r.tenant_id AND s.id = r.schedule_id), 1) AS retry_max_attempts,
		       r.trigger, r.scheduled_for
		FROM tenant_extension_schedule_run r
		WHERE r.status = 'running' AND r.lease_expires_at <= $1
		ORDER BY r.lease_expires_at
		LIMIT $2
		FOR UPDATE OF r SKIP LOCKED`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("lock expired runs: %w", err)
	}
	return out, nil
}

// AnyLeaseExpired reports whether a running run's lease expired at now
// (a probe of the lease index).
func AnyLeaseExpired(ctx context.Context, q Queryer, now time.Time) (bool, error) {
	var any bool
	err := q.GetContext(ctx, &any, `
		SELECT EXISTS (SELECT 1 FROM tenant_extension_schedule_run WHERE status = 'running' AND lease_expires_at <= $1)`, now)
	if err != nil {
		return false, fmt.Errorf("look for expired leases: %w", err)
	}
	return any, nil
}

// RenewLeases extends owner's leases on the given runs.
func RenewLeases(ctx context.Context, q Queryer, owner string, runs []ScheduleRef, until time.Time) error {
	if len(runs) == 0 {
		return nil
	}
	doc, err := json.Marshal(runs)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `
		UPDATE tenant_extension_schedule_run r SET lease_expires_at = $3
		FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id uuid, id uuid)
		WHERE r.tenant_id = x.tenant_id AND r.id = x.id AND r.status = 'running' AND r.lease_owner = $2`,
		string(doc), owner, until)
	if err != nil {
		return fmt.Errorf("renew leases: %w", err)
	}
	return nil
}

// RunOutcome is the end of one attempt, as written to its run row.
type RunOutcome struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	ID         uuid.UUID `json:"id"`
	LeaseOwner string    `json:"lease_owner"`
	Attempt    int       `json:"attempt"`
	// Status is final (success, failure, timeout) or queued for a retry.
	Status          string     `json:"status"`
	NextAttemptAt   *time.Time `json:"next_attempt_at"`
	FinishedAt      time.Time  `json:"finished_at"`
	DurationMS      *int       `json:"duration_ms"`
	HTTPStatus      *int       `json:"http_status"`
	ResponseExcerpt *string    `json:"response_excerpt"`
	Error           *string    `json:"error"`
	VersionID       *uuid.UUID `json:"version_id"`
	ContentHash     *string    `json:"content_hash"`
}

// FinishedRun is a run row a RunOutcome was written to.
type FinishedRun struct {
	TenantID   uuid.UUID `db:"tenant_id"`
	ID         uuid.UUID `db:"id"`
	ScheduleID uuid.UUID `db:"schedule_id"`
	Status     string    `db:"status"`
}

// FinishRuns writes outcomes, each only if the run is still running under
// the same lease owner and attempt (fencing): a late or duplicate finish
// — an old lease holder answering after the run was recovered — changes
// nothing. It returns the rows written.
func FinishRuns(ctx context.Context, q Queryer, outs []RunOutcome) ([]FinishedRun, error) {
	if len(outs) == 0 {
		return nil, nil
	}
	var tenant, id, owner, attempt, status, next, finished, dur, httpStatus, excerpt, errText, version, hash column
	for _, o := range outs {
		tenant.uuid(o.TenantID)
		id.uuid(o.ID)
		owner.text(o.LeaseOwner)
		attempt.int(o.Attempt)
		status.text(o.Status)
		next.timePtr(o.NextAttemptAt)
		finished.time(o.FinishedAt)
		dur.intPtr(o.DurationMS)
		httpStatus.intPtr(o.HTTPStatus)
		excerpt.textPtr(o.ResponseExcerpt)
		errText.textPtr(o.Error)
		version.uuidPtr(o.VersionID)
		hash.textPtr(o.ContentHash)
	}
	var done []FinishedRun
	err := q.SelectContext(ctx, &done, `
		UPDATE tenant_extension_schedule_run r
		SET status = x.status,
		    next_attempt_at = coalesce(x.next_attempt_at, '-infinity'),
		    lease_owner = NULL, lease_expires_at = NULL,
		    finished_at = CASE WHEN x.status = 'queued' THEN NULL ELSE x.finished_at END,
		    duration_ms = x.duration_ms, http_status = x.http_status, response_excerpt = x.response_excerpt,
		    error = x.error, version_id = coalesce(x.version_id, r.version_id),
		    content_hash = coalesce(x.content_hash, r.content_hash)
		FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::integer[], $5::text[], $6::timestamptz[],
			$7::timestamptz[], $8::integer[], $9::integer[], $10::text[], $11::text[], $12::uuid[], $13::text[])
			AS x(tenant_id, id, lease_owner, attempt, status, next_attempt_at, finished_at, duration_ms,
			     http_status, response_excerpt, error, version_id, content_hash)
		-- Fenced by lease owner and attempt: an owner is set exactly
		-- while the run is running (a check constraint says so). Not
		-- writing status = 'running' here keeps the planner from reading
		-- the in-flight index and filtering every run in flight against
		-- every row of the batch; the primary key finds each row.
		WHERE r.tenant_id = x.tenant_id AND r.id = x.id
		  AND r.lease_owner = x.lease_owner AND r.attempt = x.attempt
		RETURNING r.tenant_id, r.id, r.schedule_id, r.status`,
		tenant.value(), id.value(), owner.value(), attempt.value(), status.value(), next.value(), finished.value(),
		dur.value(), httpStatus.value(), excerpt.value(), errText.value(), version.value(), hash.value())
	if err != nil {
		return nil, fmt.Errorf("finish runs: %w", err)
	}
	return done, nil
}

// ScheduleOutcome is the bookkeeping of a schedule's finished runs in one
// batch, folded in order.
type ScheduleOutcome struct {
	TenantID      uuid.UUID  `json:"tenant_id"`
	ID            uuid.UUID  `json:"id"`
	LastRunAt     time.Time  `json:"last_run_at"`
	LastStatus    string     `json:"last_status"`
	LastError     *string    `json:"last_error"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	// Reset: a success happened in the batch, so consecutive_failures
	// restarts from Failures (the failures after it); otherwise Failures
	// adds to the stored count.
	Reset    bool `json:"reset"`
	Failures int  `json:"failures"`
}

// PausedSchedule is a schedule that reached its pause-after-failures
// threshold.
type PausedSchedule struct {
	TenantID            uuid.UUID `db:"tenant_id"`
	ID                  uuid.UUID `db:"id"`
	InstallID           uuid.UUID `db:"install_id"`
	ConsecutiveFailures int       `db:"consecutive_failures"`
	LastError           *string   `db:"last_error"`
}

// ApplyScheduleOutcomes updates last_*, consecutive_failures and
// next_run_at (from the live timer) of schedules and returns those now due to be paused (pause_after_failures
// reached while still enabled). In the same statement it lets the oldest
// held run (buffer_one follow-up, catch-up chain) of each of these
// schedules start at releaseAt: the run ahead of it has ended.
func ApplyScheduleOutcomes(ctx context.Context, q Queryer, outs []ScheduleOutcome, releaseAt time.Time) ([]PausedSchedule, error) {
	if len(outs) == 0 {
		return nil, nil
	}
	var tenant, id, runAt, status, lastErr, successAt, reset, failures column
	for _, o := range outs {
		tenant.uuid(o.TenantID)
		id.uuid(o.ID)
		runAt.time(o.LastRunAt)
		status.text(o.LastStatus)
		lastErr.textPtr(o.LastError)
		successAt.timePtr(o.LastSuccessAt)
		reset.bool(o.Reset)
		failures.int(o.Failures)
	}
	var paused []PausedSchedule
	err := q.SelectContext(ctx, &paused, `
		WITH x AS MATERIALIZED (
			SELECT x.tenant_id, x.id, x.last_run_at, x.last_status, x.last_error, x.last_success_at, x.reset, x.failures
			FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::timestamptz[],
				$7::boolean[], $8::integer[])
				AS x(tenant_id, id, last_run_at, last_status, last_error, last_success_at, reset, failures)
		), upd AS (
			UPDATE tenant_extension_schedule s
			SET last_run_at = x.last_run_at, last_run_status = x.last_status, last_error = x.last_error,
			    last_success_at = coalesce(x.last_success_at, s.last_success_at),
			    -- The fire cycle that started the run advanced the timer
			    -- and left the schedule row alone; the row catches up here.
			    next_run_at = coalesce((SELECT t.next_fire_at FROM scheduler_timer t
			                            WHERE t.tenant_id = s.tenant_id AND t.schedule_id = s.id AND NOT t.paused),
			                           s.next_run_at),
			    consecutive_failures = CASE WHEN x.reset THEN x.failures ELSE s.consecutive_failures + x.failures END
			FROM x
			WHERE s.tenant_id = x.tenant_id AND s.id = x.id
			RETURNING s.tenant_id, s.id, s.install_id, s.enabled, s.pause_after_failures, s.consecutive_failures, s.last_error
		), released AS (
			UPDATE tenant_extension_schedule_run r SET next_attempt_at = $9
			FROM (
				SELECT DISTINCT ON (h.tenant_id, h.schedule_id) h.tenant_id, h.id
				FROM x
				-- The held-runs partial index: usually empty, so this is a
				-- probe per schedule, not a walk over its runs.
				JOIN tenant_extension_schedule_run h
				  ON h.tenant_id = x.tenant_id AND h.schedule_id = x.id
				 AND h.status = 'queued' AND h.next_attempt_at = 'infinity'
				-- Only when nothing else of the schedule is still in flight.
				WHERE NOT EXISTS (
					SELECT 1 FROM tenant_extension_schedule_run o
					WHERE o.tenant_id = x.tenant_id AND o.schedule_id = x.id
					  AND (o.status = 'running' OR (o.status = 'queued' AND o.next_attempt_at <> 'infinity')))
				ORDER BY h.tenant_id, h.schedule_id, h.scheduled_for, h.created_at
			) p
			WHERE r.tenant_id = p.tenant_id AND r.id = p.id
		)
		SELECT tenant_id, id, install_id, consecutive_failures, last_error FROM upd
		WHERE enabled AND pause_after_failures > 0 AND consecutive_failures >= pause_after_failures`,
		tenant.value(), id.value(), runAt.value(), status.value(), lastErr.value(), successAt.value(), reset.value(),
		failures.value(), releaseAt)
	if err != nil {
		return nil, fmt.Errorf("update schedules after runs: %w", err)
	}
	return paused, nil
}

// DisabledSchedule is a schedule the engine turns off, with the reason
// users see.
type DisabledSchedule struct {
	TenantID  uuid.UUID `json:"tenant_id"`
	ID        uuid.UUID `json:"id"`
	LastError string    `json:"last_error"`
}

// DisableSchedules disables schedules, deletes their timers (as the
// schedule service does for a disabled schedule) and records why, in two
// statements. It returns the schedules that were still enabled.
func DisableSchedules(ctx context.Context, q Queryer, list []DisabledSchedule) ([]ScheduleRef, error) {
	if len(list) == 0 {
		return nil, nil
	}
	doc, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		TenantID uuid.UUID `db:"tenant_id"`
		ID       uuid.UUID `db:"id"`
	}
	err = q.SelectContext(ctx, &rows, `
		UPDATE tenant_extension_schedule s
		SET enabled = false, last_error = x.last_error, next_run_at = NULL, runner_schedule_id = NULL,
		    revision = s.revision + 1, updated_at = now()
		FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id uuid, id uuid, last_error text)
		WHERE s.tenant_id = x.tenant_id AND s.id = x.id AND s.enabled
		RETURNING s.tenant_id, s.id`, string(doc))
	if err != nil {
		return nil, fmt.Errorf("disable schedules: %w", err)
	}
	if _, err := q.ExecContext(ctx, `
		DELETE FROM scheduler_timer t
		USING jsonb_to_recordset($1::jsonb) AS x(tenant_id uuid, id uuid)
		WHERE t.tenant_id = x.tenant_id AND t.schedule_id = x.id`, string(doc)); err != nil {
		return nil, fmt.Errorf("delete timers of disabled schedules: %w", err)
	}
	out := make([]ScheduleRef, 0, len(rows))
	for _, r := range rows {
		out = append(out, ScheduleRef{TenantID: r.TenantID, ID: r.ID})
	}
	return out, nil
}

// NextTimerDue reports when the earliest timer is due (nil: none).
func NextTimerDue(ctx context.Context, q Queryer) (*time.Time, error) {
	var at []time.Time
	err := q.SelectContext(ctx, &at, `
		SELECT next_fire_at FROM scheduler_timer
		WHERE NOT paused AND next_fire_at IS NOT NULL
		ORDER BY next_fire_at LIMIT 1`)
	if err != nil || len(at) == 0 {
		return nil, wrap("next timer due", err)
	}
	return &at[0], nil
}

// NextRunDue reports when the earliest queued run may start (nil: none;
// held runs wait for a run to end, not for a time; "as soon as possible"
// reads as the epoch).
func NextRunDue(ctx context.Context, q Queryer) (*time.Time, error) {
	var at []time.Time
	err := q.SelectContext(ctx, &at, `
		SELECT greatest(next_attempt_at, 'epoch') FROM tenant_extension_schedule_run
		WHERE status = 'queued' AND next_attempt_at <> 'infinity'
		ORDER BY next_attempt_at LIMIT 1`)
	if err != nil || len(at) == 0 {
		return nil, wrap("next run due", err)
	}
	return &at[0], nil
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// CountDue counts due timers and due queued runs at now (at most cap of
// each), for the backlog gauge.
func CountDue(ctx context.Context, q Queryer, now time.Time, cap int) (int, error) {
	var n int
	err := q.GetContext(ctx, &n, `
		SELECT (SELECT count(*) FROM (SELECT 1 FROM scheduler_timer
		         WHERE NOT paused AND next_fire_at IS NOT NULL AND next_fire_at <= $1 LIMIT $2) a)
		     + (SELECT count(*) FROM (SELECT 1 FROM tenant_extension_schedule_run
		         WHERE status = 'queued' AND next_attempt_at <= $1 LIMIT $2) b)`, now, cap)
	if err != nil {
		return 0, fmt.Errorf("count due: %w", err)
	}
	return n, nil
}

// RequeueUnstartedRuns puts back runs leased to owner that the owner is
// not executing: a claim whose answer was lost with the connection (the
// database restarted between commit and reply) leaves such rows behind.
// The attempt was never made, so its number is given back.
func RequeueUnstartedRuns(ctx context.Context, q Queryer, owner string, executing []ScheduleRef) (int64, error) {
	doc, err := json.Marshal(executing)
	if err != nil {
		return 0, err
	}
	res, err := q.ExecContext(ctx, `
		UPDATE tenant_extension_schedule_run r
		SET status = 'queued', attempt = r.attempt - 1, lease_owner = NULL, lease_expires_at = NULL,
		    next_attempt_at = '-infinity', started_at = NULL
		WHERE r.status = 'running' AND r.lease_owner = $1
		  AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($2::jsonb) AS x(tenant_id uuid, id uuid)
		                  WHERE x.tenant_id = r.tenant_id AND x.id = r.id)`, owner, string(doc))
	if err != nil {
		return 0, fmt.Errorf("requeue unstarted runs: %w", err)
	}
	return res.RowsAffected()
}
