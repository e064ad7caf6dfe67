-- Sign-in throttling with growing delays, keyed by login and client address together, by the
-- address alone and by the login alone (see store::users). Replaces the hard 15-minute lock.
DROP TABLE sign_in_failures;

CREATE TABLE sign_in_throttle (
    throttle_key  TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    next_at       BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX sign_in_throttle_updated ON sign_in_throttle (updated_at);

-- Blocked users cannot sign in; failed attempts since the last sign-in are told at the next one.
ALTER TABLE users ADD COLUMN blocked BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_sign_ins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_failed_sign_in_at BIGINT;

-- The periodic clean-up deletes expired sessions and tokens; revocation deletes by user.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX api_tokens_expires ON api_tokens (expires_at);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- A one-time notice for the session's first page (failed attempts since the last sign-in).
ALTER TABLE sessions ADD COLUMN notice TEXT;
