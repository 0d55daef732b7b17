-- +goose Up
-- Run rows no longer carry a foreign key to their schedule. The check ran
-- as a trigger and a lookup with a share lock on the schedule row for every
-- run written, thousands per second in a busy fire cycle, and it guarded
-- nothing the services do not already guarantee (referential
-- checks live in the service layer, SPEC §1). Runs are inserted only by a fire
-- cycle, which holds the schedule's timer, and by run-now, which holds the
-- schedule's row. Deleting a schedule (or an install) deletes the timers
-- and locks the schedule rows first, waiting for both, and only then
-- deletes the runs and the schedules, in one transaction.
ALTER TABLE tenant_extension_schedule_run
    DROP CONSTRAINT tenant_extension_schedule_run_tenant_id_schedule_id_fkey;


-- A run has a lease owner exactly while it is running. Finishing a run is
-- fenced by its lease owner and attempt alone, which this makes the same
-- as "still running under that lease".
ALTER TABLE tenant_extension_schedule_run
    ADD CONSTRAINT tenant_extension_schedule_run_lease_check
    CHECK ((status = 'running') = (lease_owner IS NOT NULL));

-- +goose Down
ALTER TABLE tenant_extension_schedule_run DROP CONSTRAINT tenant_extension_schedule_run_lease_check;
ALTER TABLE tenant_extension_schedule_run
    ADD CONSTRAINT tenant_extension_schedule_run_tenant_id_schedule_id_fkey
    FOREIGN KEY (tenant_id, schedule_id) REFERENCES tenant_extension_schedule (tenant_id, id);
