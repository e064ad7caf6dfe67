-- Per-position optimistic locking. A position's `row_version` guards its edit, cancellation
-- and deletion; the plan's own `row_version` guards only its header and transitions.
ALTER TABLE positions ADD COLUMN row_version BIGINT NOT NULL DEFAULT 1;
-- 1 when the position's purchase number is in the latest approved version (then it can only be
-- edited or cancelled with a justification), and `base_data` its content in that version (the
-- snapshot's position, as JSON). Both are set for every position at approval; positions added
-- later have 0 and NULL. Rows that existed before this step are filled in by `store::migrate`
-- from each plan's latest version. So one position is read, marked and checked without loading
-- a snapshot.
ALTER TABLE positions ADD COLUMN in_base BIGINT NOT NULL DEFAULT 0;
ALTER TABLE positions ADD COLUMN base_data TEXT;
-- Increases with every change of the working copy (header or any position) and at approval and
-- «Внести изменения»: (plan id, content_version) names one content to check.
ALTER TABLE plans ADD COLUMN content_version BIGINT NOT NULL DEFAULT 0;
UPDATE plans SET content_version = row_version;
