-- +goose Up
-- The whole data model of extcron.
--
-- Registry tables (extension, extension_version, extension_api_endpoint) are
-- global and read-mostly: under Citus they become reference tables. Every
-- other table is tenant data: it carries tenant_id, tenant_id leads every
-- primary and unique key, and every lookup index starts with it, so the
-- tables can be distributed by tenant_id without cross-shard joins.
--
-- Foreign keys never cascade: deleting is business logic with an explicit
-- order (uninstall removes runs, timers and schedules before the install),
-- and a forgotten step must fail loudly instead of silently deleting data.

CREATE TABLE extension (
    id           uuid PRIMARY KEY,
    slug         text NOT NULL UNIQUE,
    publisher    text NOT NULL,
    name         text NOT NULL,
    display_name text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE extension_version (
    id           uuid PRIMARY KEY,
    extension_id uuid NOT NULL REFERENCES extension (id),
    version      text NOT NULL,
    manifest     jsonb NOT NULL,
    content_hash text NOT NULL,
    module       bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (extension_id, version)
);

-- Endpoint ids are derived from (version_id, method, path), so
-- materializing a version twice yields the same rows and ids.
CREATE TABLE extension_api_endpoint (
    id         uuid PRIMARY KEY,
    version_id uuid NOT NULL REFERENCES extension_version (id),
    method     text NOT NULL,
    path       text NOT NULL,
    handler    text NOT NULL,
    UNIQUE (version_id, method, path)
);

CREATE TABLE tenant (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL UNIQUE,
    default_timezone    text,
    schedules_suspended boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app_user (
    tenant_id     uuid NOT NULL REFERENCES tenant (id),
    id            uuid NOT NULL,
    email         text NOT NULL,
    password_hash text NOT NULL,
    display_name  text NOT NULL DEFAULT '',
    timezone      text,
    role          text NOT NULL CHECK (role IN ('admin', 'viewer')),
    is_operator   boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);

-- The login is platform-wide, but app_user is keyed by tenant. This small
-- routing table maps a (lower-cased) email to its tenant and user; it is the
-- one place that enforces platform-wide uniqueness of emails.
CREATE TABLE user_login (
    email     text PRIMARY KEY,
    tenant_id uuid NOT NULL,
    user_id   uuid NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id)
);

-- Only the SHA-256 of a token is stored; the token itself names its tenant
-- so the lookup stays on one shard.
CREATE TABLE api_token (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    user_id      uuid NOT NULL,
    token_hash   bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id)
);
CREATE INDEX api_token_user_idx ON api_token (tenant_id, user_id);

-- Server-side sessions. As with tokens, only a hash of the cookie secret
-- is stored.
CREATE TABLE web_session (
    tenant_id  uuid NOT NULL,
    id_hash    bytea NOT NULL,
    user_id    uuid NOT NULL,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id)
);
CREATE INDEX web_session_user_idx ON web_session (tenant_id, user_id);
CREATE INDEX web_session_expires_idx ON web_session (expires_at);

CREATE TABLE tenant_extension_install (
    tenant_id          uuid NOT NULL REFERENCES tenant (id),
    id                 uuid NOT NULL,
    extension_id       uuid NOT NULL REFERENCES extension (id),
    version_id         uuid NOT NULL REFERENCES extension_version (id),
    enabled            boolean NOT NULL DEFAULT true,
    config             jsonb NOT NULL DEFAULT '{}',
    providers          text[] NOT NULL DEFAULT '{}',
    -- AES-GCM sealed JSON object of secret values; never rendered back.
    secrets_ciphertext bytea,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, extension_id)
);
CREATE INDEX tenant_extension_install_version_idx ON tenant_extension_install (version_id);

CREATE TABLE tenant_extension_schedule (
    tenant_id              uuid NOT NULL,
    id                     uuid NOT NULL,
    install_id             uuid NOT NULL,
    -- No foreign key to the endpoint: an endpoint can disappear (a broken
    -- backfill, a manual repair) and the scheduler must then record a failed
    -- run and disable the schedule rather than be unable to load it.
    endpoint_id            uuid NOT NULL,
    name                   text,
    cron                   text NOT NULL,
    timezone               text NOT NULL,
    enabled                boolean NOT NULL DEFAULT true,
    payload_json           jsonb,
    overlap_policy         text NOT NULL DEFAULT 'skip'
                           CHECK (overlap_policy IN ('skip', 'buffer_one', 'allow')),
    catchup_policy         text NOT NULL DEFAULT 'latest'
                           CHECK (catchup_policy IN ('latest', 'skip', 'all')),
    catchup_window_seconds integer NOT NULL DEFAULT 3600,
    retry_max_attempts     integer NOT NULL DEFAULT 3,
    pause_after_failures   integer NOT NULL DEFAULT 0,
    revision               integer NOT NULL DEFAULT 1,
    runner_schedule_id     text,
    next_run_at            timestamptz,
    last_run_at            timestamptz,
    last_run_status        text,
    last_error             text,
    last_success_at        timestamptz,
    consecutive_failures   integer NOT NULL DEFAULT 0,
    created_by             uuid,
    updated_by             uuid,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, install_id) REFERENCES tenant_extension_install (tenant_id, id)
);
CREATE INDEX tenant_extension_schedule_install_idx ON tenant_extension_schedule (tenant_id, install_id);
CREATE UNIQUE INDEX tenant_extension_schedule_name_idx
    ON tenant_extension_schedule (tenant_id, install_id, name) WHERE name IS NOT NULL;

CREATE TABLE tenant_extension_schedule_run (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL,
    schedule_id      uuid NOT NULL,
    install_id       uuid NOT NULL,
    trigger          text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'catchup')),
    scheduled_for    timestamptz NOT NULL,
    invocation_id    uuid NOT NULL,
    attempt          integer NOT NULL DEFAULT 0,
    status           text NOT NULL
                     CHECK (status IN ('queued', 'running', 'success', 'failure', 'timeout', 'skipped', 'missed')),
    idempotency_key  text,
    started_at       timestamptz,
    finished_at      timestamptz,
    duration_ms      integer,
    http_status      integer,
    response_excerpt text,
    error            text,
    version_id       uuid,
    content_hash     text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, schedule_id) REFERENCES tenant_extension_schedule (tenant_id, id)
);
-- A fire time can never produce two runs, whichever process claims it.
CREATE UNIQUE INDEX tenant_extension_schedule_run_fire_idx
    ON tenant_extension_schedule_run (tenant_id, schedule_id, scheduled_for)
    WHERE trigger IN ('schedule', 'catchup');
-- A repeated run-now with the same key returns the first run.
CREATE UNIQUE INDEX tenant_extension_schedule_run_idem_idx
    ON tenant_extension_schedule_run (tenant_id, schedule_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX tenant_extension_schedule_run_history_idx
    ON tenant_extension_schedule_run (tenant_id, schedule_id, created_at DESC);
CREATE INDEX tenant_extension_schedule_run_install_idx
    ON tenant_extension_schedule_run (tenant_id, install_id);

-- The job runner's durable timers: only what claiming needs, so the claim
-- query never joins tenant tables.
CREATE TABLE scheduler_timer (
    tenant_id    uuid NOT NULL,
    key          text NOT NULL,
    schedule_id  uuid NOT NULL,
    next_fire_at timestamptz,
    paused       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, key)
);
-- Claims read "due and not paused, oldest first"; the partial index keeps
-- that an index range scan however many timers are stored.
CREATE INDEX scheduler_timer_due_idx ON scheduler_timer (next_fire_at)
    WHERE NOT paused AND next_fire_at IS NOT NULL;
CREATE UNIQUE INDEX scheduler_timer_schedule_idx ON scheduler_timer (tenant_id, schedule_id);

CREATE TABLE audit_event (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    actor_id    uuid,
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    before      jsonb,
    after       jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_event_tenant_time_idx ON audit_event (tenant_id, created_at DESC);

-- +goose Down
DROP TABLE audit_event;
DROP TABLE scheduler_timer;
DROP TABLE tenant_extension_schedule_run;
DROP TABLE tenant_extension_schedule;
DROP TABLE tenant_extension_install;
DROP TABLE web_session;
DROP TABLE api_token;
DROP TABLE user_login;
DROP TABLE app_user;
DROP TABLE tenant;
DROP TABLE extension_api_endpoint;
DROP TABLE extension_version;
DROP TABLE extension;
