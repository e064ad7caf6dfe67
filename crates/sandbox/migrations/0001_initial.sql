-- eis-sandbox storage. Times are milliseconds since the Unix epoch (UTC).

-- Organizations of the ЕИС directory, keyed by their СПЗ code.
CREATE TABLE organizations (
    reg_num    TEXT PRIMARY KEY CHECK (length(reg_num) = 11),
    full_name  TEXT NOT NULL,
    inn        TEXT NOT NULL,
    kpp        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Cabinet users. The alternative-integration login is fixed at creation; its password hash
-- is replaced on every generation (NULL until the first one).
CREATE TABLE users (
    id                        INTEGER PRIMARY KEY,
    login                     TEXT NOT NULL UNIQUE,
    password_hash             TEXT NOT NULL,
    org_reg_num               TEXT NOT NULL REFERENCES organizations (reg_num),
    full_name                 TEXT NOT NULL,
    is_org_admin              INTEGER NOT NULL DEFAULT 0,
    plan_rights               INTEGER NOT NULL DEFAULT 0,
    blocked                   INTEGER NOT NULL DEFAULT 0,
    integration_login         TEXT NOT NULL UNIQUE,
    integration_password_hash TEXT,
    integration_password_at   INTEGER,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
CREATE INDEX users_org ON users (org_reg_num);

-- Cabinet sessions: only the SHA-256 of the cookie token is kept.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Packets received over the exchange, with both confirmations computed at receipt:
-- `processing_reply` is served until `ready_at`, `final_reply` from then on.
CREATE TABLE packets (
    packet_id        TEXT PRIMARY KEY CHECK (length(packet_id) = 36),
    user_id          INTEGER NOT NULL REFERENCES users (id),
    org_reg_num      TEXT NOT NULL,
    root             TEXT NOT NULL,
    document         TEXT NOT NULL,
    received_at      INTEGER NOT NULL,
    ready_at         INTEGER NOT NULL,
    processing_reply TEXT NOT NULL,
    final_result     TEXT NOT NULL CHECK (final_result IN ('success', 'failure')),
    final_reply      TEXT NOT NULL
);

-- Plan-schedules per customer and year: created in ЕИС directly (source EIS) or integrated
-- from a РИС (source RIS).
CREATE TABLE plans (
    id          INTEGER PRIMARY KEY,
    org_reg_num TEXT NOT NULL REFERENCES organizations (reg_num),
    plan_year   INTEGER NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('EIS', 'RIS')),
    plan_number TEXT UNIQUE,
    created_at  INTEGER NOT NULL,
    UNIQUE (org_reg_num, plan_year)
);

CREATE TABLE plan_versions (
    id             INTEGER PRIMARY KEY,
    plan_id        INTEGER NOT NULL REFERENCES plans (id),
    version_number INTEGER NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('project', 'placed')),
    -- Deferred: the version row is written first, its id is the loadId of the reply.
    packet_id      TEXT REFERENCES packets (packet_id) DEFERRABLE INITIALLY DEFERRED,
    external_id    TEXT,
    position_count INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (plan_id, version_number)
);

-- Every reply the exchange served (passwords are never stored here).
CREATE TABLE exchange_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    endpoint    TEXT NOT NULL,
    login       TEXT,
    packet_id   TEXT,
    http_status INTEGER NOT NULL,
    reply       TEXT NOT NULL
);
