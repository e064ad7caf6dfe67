-- The content stamp (`plans.content_version`) of the write that last changed a position's
-- content, set in that write's transaction (store::plans::write_position_columns, after the
-- stamp was moved). A reader that kept the working copy at stamp K reads only the positions
-- written after K, with the plan's count of positions to notice deletions, instead of the
-- version of every position. Rows written before this step have 0: a reader that kept
-- nothing reads every position anyway.
ALTER TABLE positions ADD COLUMN written_stamp BIGINT NOT NULL DEFAULT 0;
CREATE INDEX positions_written ON positions (plan_id, written_stamp);
