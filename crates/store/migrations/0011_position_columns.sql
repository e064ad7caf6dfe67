-- Columns derived from positions, so that read paths need not parse JSON they do not show.
-- A version's size and totals, fixed at approval: the version lists read these instead of the
-- snapshot and the packet XML. Rows approved before this step are filled in by
-- `Store::backfill_derived_columns` (in Rust: the JSON functions differ between the backends).
ALTER TABLE plan_versions ADD COLUMN position_count BIGINT;
ALTER TABLE plan_versions ADD COLUMN totals TEXT;

-- What the plan page filters and sums by, derived from each position's JSON on every write
-- (`store::plans::position_columns`): the lowercased title for search, the ОКПД2 codes between
-- spaces for prefix matching, the КВР, whether it is cancelled, and the financing by year in
-- kopecks so that SUM is exact on both backends. Rows written before this step are filled in
-- at start by `Store::backfill_derived_columns`.
ALTER TABLE positions ADD COLUMN search TEXT;
ALTER TABLE positions ADD COLUMN okpd2 TEXT;
ALTER TABLE positions ADD COLUMN kvr TEXT;
ALTER TABLE positions ADD COLUMN canceled BIGINT;
ALTER TABLE positions ADD COLUMN kop_current BIGINT;
ALTER TABLE positions ADD COLUMN kop_first BIGINT;
ALTER TABLE positions ADD COLUMN kop_second BIGINT;
ALTER TABLE positions ADD COLUMN kop_subsequent BIGINT;
-- The count and sums of a plan read this index alone, not the rows with their JSON.
CREATE INDEX positions_sums ON positions (plan_id, canceled, kop_current, kop_first, kop_second, kop_subsequent);
