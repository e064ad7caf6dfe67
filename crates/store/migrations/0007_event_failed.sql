-- Whether a timeline event records a failed attempt that left the send's state as it was (a
-- loaded send whose placement could not be checked, a poll ЕИС did not answer). The timeline
-- then titles it by what happened, not by the state it kept. 0 for the events before.
ALTER TABLE eis_send_events ADD COLUMN failed BIGINT NOT NULL DEFAULT 0;
