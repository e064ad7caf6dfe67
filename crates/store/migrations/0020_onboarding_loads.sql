-- «Загрузка организаций»: a file an administrator uploaded, kept between the check they saw
-- and their confirmation, so that what is loaded is what was checked and the client is not
-- trusted to carry the file back. Only its administrator reads it. `content` (the file,
-- base64) is dropped once the load ran or the row expired; `passwords` holds the temporary
-- passwords of the users the load created, as one CSV sealed with the application's key, until
-- the administrator downloads it once or it expires.
CREATE TABLE onboarding_loads (
    id                   {{ID}},
    admin_id             BIGINT NOT NULL REFERENCES users(id),
    file_name            TEXT NOT NULL,
    file_kind            TEXT NOT NULL,
    file_bytes           BIGINT NOT NULL,
    content              TEXT,
    job_id               BIGINT REFERENCES jobs(id),
    passwords            TEXT,
    passwords_count      BIGINT NOT NULL DEFAULT 0,
    passwords_expires_at BIGINT,
    passwords_taken_at   BIGINT,
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL
);
CREATE INDEX onboarding_loads_admin ON onboarding_loads (admin_id, id);
CREATE INDEX onboarding_loads_job ON onboarding_loads (job_id);
