-- Long operations that run as jobs rather than inside one HTTP request («Отправить все»,
-- «Утвердить выбранные»), with their progress: the page of a job reads it while the job runs.
-- `problems` is a JSON array of Russian lines (bounded by the code); `heartbeat_at` moves with
-- every step, so a job whose instance stopped is told apart from one still running.
CREATE TABLE jobs (
    id           {{ID}},
    kind         TEXT NOT NULL,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    status       TEXT NOT NULL,
    total        BIGINT NOT NULL DEFAULT 0,
    done         BIGINT NOT NULL DEFAULT 0,
    succeeded    BIGINT NOT NULL DEFAULT 0,
    problems     TEXT NOT NULL DEFAULT '[]',
    message      TEXT,
    created_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX jobs_user ON jobs (user_id, id);
