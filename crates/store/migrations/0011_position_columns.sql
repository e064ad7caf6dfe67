-- Columns derived from positions, so that read paths need not parse JSON they do not show.
-- A version's size and totals, fixed at approval: the version lists read these instead of the
-- snapshot and the packet XML. Rows approved before this step are filled in by
-- `Store::backfill_derived_columns` (in Rust: the JSON functions differ between the backends).
ALTER TABLE plan_versions ADD COLUMN position_count BIGINT;
ALTER TABLE plan_versions ADD COLUMN totals TEXT;
