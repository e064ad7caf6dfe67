-- Retry bookkeeping of a send. The backoff grows with failures in a row, not with every failure
-- of the send's life: `consecutive_failures` is reset by any exchange ЕИС answers, and
-- `failing_since` is when the current run of failures began (NULL while ЕИС answers).
-- `first_attempt_at` is when the runner first took the send; the retry ceiling counts from it.
-- The new final states (`request_refused`, `gave_up`) are not live: the partial unique index
-- `eis_sends_one_live_per_version` keeps its list of states and allows a new send after them.
ALTER TABLE eis_sends ADD COLUMN consecutive_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE eis_sends ADD COLUMN failing_since BIGINT;
ALTER TABLE eis_sends ADD COLUMN first_attempt_at BIGINT;
