-- Portable column types only (BIGINT, TEXT): the same queries run on SQLite and PostgreSQL.
-- Times are UTC milliseconds since the epoch; flags are 0/1; money and snapshots are text.
-- {{ID}} is the one backend-specific piece: an auto-increment primary key (see migrate.rs).
CREATE TABLE organizations (
    id            {{ID}},
    name          TEXT NOT NULL,
    short_name    TEXT NOT NULL,
    superior_id   BIGINT REFERENCES organizations(id),
    spz_code      TEXT NOT NULL UNIQUE,
    inn           TEXT NOT NULL,
    kpp           TEXT NOT NULL,
    org_type      TEXT NOT NULL,
    budget_level  BIGINT NOT NULL,
    oktmo         TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE users (
    id            {{ID}},
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    full_name     TEXT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES organizations(id),
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE sign_in_failures (
    login         TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL,
    locked_until  BIGINT NOT NULL
);

CREATE TABLE eis_credentials (
    user_id           BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    login             TEXT NOT NULL,
    password_secret   TEXT,
    updated_at        BIGINT NOT NULL,
    last_ok_at        BIGINT,
    last_fail_at      BIGINT,
    last_fail_message TEXT
);

CREATE TABLE plans (
    id              {{ID}},
    org_id          BIGINT NOT NULL REFERENCES organizations(id),
    plan_year       BIGINT NOT NULL,
    status          TEXT NOT NULL,
    return_comment  TEXT,
    eis_plan_number TEXT,
    row_version     BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (org_id, plan_year)
);

CREATE TABLE positions (
    id               {{ID}},
    plan_id          BIGINT NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    purchase_number  BIGINT NOT NULL,
    data             TEXT NOT NULL,
    UNIQUE (plan_id, purchase_number)
);

CREATE TABLE plan_versions (
    id              {{ID}},
    plan_id         BIGINT NOT NULL REFERENCES plans(id),
    version_number  BIGINT NOT NULL,
    snapshot        TEXT NOT NULL,
    approved_by     BIGINT NOT NULL REFERENCES users(id),
    approved_at     BIGINT NOT NULL,
    UNIQUE (plan_id, version_number)
);

CREATE TABLE eis_sends (
    id                  {{ID}},
    version_id          BIGINT NOT NULL REFERENCES plan_versions(id),
    org_id              BIGINT NOT NULL REFERENCES organizations(id),
    requested_by        BIGINT NOT NULL REFERENCES users(id),
    packet_id           TEXT NOT NULL UNIQUE,
    packet_xml          TEXT NOT NULL,
    eis_login           TEXT NOT NULL,
    eis_password_secret TEXT NOT NULL,
    status              TEXT NOT NULL,
    attempts            BIGINT NOT NULL,
    next_attempt_at     BIGINT NOT NULL,
    locked_by           TEXT,
    locked_until        BIGINT,
    last_error          TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX eis_sends_due ON eis_sends (status, next_attempt_at);
CREATE INDEX eis_sends_version ON eis_sends (version_id);

CREATE TABLE eis_send_events (
    id           {{ID}},
    send_id      BIGINT NOT NULL REFERENCES eis_sends(id),
    at           BIGINT NOT NULL,
    status       TEXT NOT NULL,
    message      TEXT NOT NULL,
    http_status  BIGINT,
    raw_reply    TEXT
);
CREATE INDEX eis_send_events_send ON eis_send_events (send_id);

CREATE TABLE audit_log (
    id         {{ID}},
    at         BIGINT NOT NULL,
    user_id    BIGINT,
    org_id     BIGINT,
    entity     TEXT NOT NULL,
    entity_id  BIGINT,
    action     TEXT NOT NULL,
    details    TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

-- Nothing is ever sent to ЕИС twice: at most one send per version may be queued, in processing,
-- loaded or placed. The database enforces it, whatever the number of plangraf instances.
CREATE UNIQUE INDEX eis_sends_one_live_per_version ON eis_sends (version_id)
    WHERE status IN ('queued', 'processing', 'loaded', 'published');
