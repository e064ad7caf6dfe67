-- A timeline event that happened again, identical (same state, message, HTTP status and raw
-- reply) right after itself, is counted on the first one instead of written again: `repeats`
-- is how many times it recurred, `last_at` when it last did (NULL while it has not).
ALTER TABLE eis_send_events ADD COLUMN repeats BIGINT NOT NULL DEFAULT 0;
ALTER TABLE eis_send_events ADD COLUMN last_at BIGINT;
