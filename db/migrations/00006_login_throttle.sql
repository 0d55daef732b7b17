-- +goose Up
-- Failed-login counters of the login rate limit, shared by every process
-- behind a load balancer (kept in memory, each process would allow the
-- limit once more). Keyed by client address and email, not by tenant: the
-- login form comes before any tenant is known.
CREATE TABLE login_throttle (
    key        text PRIMARY KEY,
    value      bytea NOT NULL,
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE login_throttle;
