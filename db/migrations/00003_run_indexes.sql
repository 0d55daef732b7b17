-- +goose Up
-- Fewer index writes per run. Every run row is written three times (queued
-- at fire time, running at claim, final at finish) and, because status is
-- in partial-index predicates, each update writes a new entry into every
-- btree whose predicate the row matches.
--
-- Retention prunes by age, which correlates with the physical order of an
-- append-mostly table: a BRIN summary serves it, where the btree it
-- replaces took an entry on every insert and every update.
DROP INDEX tenant_extension_schedule_run_created_idx;
CREATE INDEX tenant_extension_schedule_run_created_brin
    ON tenant_extension_schedule_run USING brin (created_at);
-- Runs by install are read only to delete them when an extension is
-- uninstalled, a rare operation that the tenant-leading primary key (and
-- the history index) still bounds to the tenant's runs; an index written
-- on every insert and update of every run is not worth it.
DROP INDEX tenant_extension_schedule_run_install_idx;
-- Releasing a held follow-up (buffer_one, catch-up chain) after each
-- finished run looks for held runs of the schedules that ended. Held runs
-- are rare, so this index is nearly empty and costs nothing for other
-- runs, and the common case (nothing held) is an empty index probe instead
-- of a walk over the schedule's runs in flight.
CREATE INDEX tenant_extension_schedule_run_held_idx
    ON tenant_extension_schedule_run (tenant_id, schedule_id)
    WHERE status = 'queued' AND next_attempt_at = 'infinity';
-- +goose Down
CREATE INDEX tenant_extension_schedule_run_install_idx
    ON tenant_extension_schedule_run (tenant_id, install_id);
DROP INDEX tenant_extension_schedule_run_held_idx;
DROP INDEX tenant_extension_schedule_run_created_brin;
CREATE INDEX tenant_extension_schedule_run_created_idx
    ON tenant_extension_schedule_run (created_at);
