-- +goose Up
-- What the scheduler engine needs to execute runs across many processes.
--
-- A run is claimed by one process at a time: lease_owner names the process
-- and lease_expires_at is renewed while the runner call is in flight. When a
-- process dies its leases expire and any other process recovers the run as
-- the next attempt (same invocation_id). Finishing a run checks the lease
-- owner and the attempt, so a late result from an old holder is discarded.
ALTER TABLE tenant_extension_schedule_run
    ADD COLUMN lease_owner      text,
    ADD COLUMN lease_expires_at timestamptz,
    -- When a queued run may start: '-infinity' = as soon as a worker is
    -- free (run-now, a fire time), a future instant = a retry backing off,
    -- 'infinity' = held behind the schedule's current run (buffer_one
    -- follow-up, catch-up 'all' chain) until that run ends.
    ADD COLUMN next_attempt_at  timestamptz NOT NULL DEFAULT '-infinity';

-- Claiming runs reads "queued and due, oldest first": a partial index keeps
-- it a short range scan however much history is stored.
CREATE INDEX tenant_extension_schedule_run_queued_idx
    ON tenant_extension_schedule_run (next_attempt_at)
    WHERE status = 'queued';
-- Lease recovery reads "running and expired".
CREATE INDEX tenant_extension_schedule_run_lease_idx
    ON tenant_extension_schedule_run (lease_expires_at)
    WHERE status = 'running';
-- The overlap check at each fire time and the per-tenant concurrency cap
-- look for a schedule's (or a tenant's) runs in flight.
CREATE INDEX tenant_extension_schedule_run_active_idx
    ON tenant_extension_schedule_run (tenant_id, schedule_id)
    WHERE status IN ('queued', 'running');
-- Retention prunes by age.
CREATE INDEX tenant_extension_schedule_run_created_idx
    ON tenant_extension_schedule_run (created_at);

-- +goose Down
DROP INDEX tenant_extension_schedule_run_created_idx;
DROP INDEX tenant_extension_schedule_run_active_idx;
DROP INDEX tenant_extension_schedule_run_lease_idx;
DROP INDEX tenant_extension_schedule_run_queued_idx;
ALTER TABLE tenant_extension_schedule_run
    DROP COLUMN next_attempt_at,
    DROP COLUMN lease_expires_at,
    DROP COLUMN lease_owner;
