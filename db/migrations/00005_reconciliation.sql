-- +goose Up
-- The last reconciliation's report, whichever process ran it (a scheduler's
-- background pass or an operator from the health page), so the health page
-- of every process shows it. One row, replaced each time. Not tenant data:
-- the report spans tenants, like the operator pages that read it.
CREATE TABLE scheduler_reconciliation (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    checked_at timestamptz NOT NULL,
    run_by     text NOT NULL,
    report     jsonb NOT NULL
);

-- +goose Down
DROP TABLE scheduler_reconciliation;
