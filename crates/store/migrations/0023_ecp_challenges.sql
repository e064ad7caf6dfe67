-- One-time challenges of ЭЦП: the bytes a browser signs with the CryptoPro plug-in to sign in
-- with a certificate (`purpose` 'sign_in') or to bind its own certificate ('bind', `user_id`
-- the signed-in user). The challenge itself lives in an HttpOnly cookie of the browser that
-- asked for it; only its SHA-256 is kept, so a read of the database cannot answer one. A row
-- is deleted when it is used, and expired rows when the next challenge is issued.
CREATE TABLE ecp_challenges (
    id             {{ID}},
    challenge_hash TEXT NOT NULL UNIQUE,
    purpose        TEXT NOT NULL,
    user_id        BIGINT REFERENCES users(id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX ecp_challenges_expiry ON ecp_challenges (expires_at);
