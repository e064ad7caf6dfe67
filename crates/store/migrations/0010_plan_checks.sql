-- The schema check of a plan's working copy, run in the background after an edit: the result
-- for the content stamp it was computed at (see `app::checks`). Several instances share it.
-- `messages` is a JSON array of Russian messages; empty when the schemas accept the packet.
CREATE TABLE plan_checks (
    plan_id    BIGINT PRIMARY KEY REFERENCES plans(id) ON DELETE CASCADE,
    stamp      BIGINT NOT NULL,
    messages   TEXT NOT NULL,
    checked_at BIGINT NOT NULL
);
