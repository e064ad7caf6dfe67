-- Placement («Разместить»): when a version was confirmed and published, the id of the
-- published document (publishedDocId of fcsDocProjectStatusResponse) and the placed content
-- (a tenderPlan2020 packet with plan and position numbers, the source of the export).
ALTER TABLE plan_versions ADD COLUMN confirmed_at INTEGER;
ALTER TABLE plan_versions ADD COLUMN published_at INTEGER;
ALTER TABLE plan_versions ADD COLUMN published_doc_id TEXT;
ALTER TABLE plan_versions ADD COLUMN placed_document TEXT;
CREATE UNIQUE INDEX plan_versions_published_doc ON plan_versions (published_doc_id);

-- Registry numbers of positions: a position keeps its number across versions, matched by
-- its extNumber within the plan.
CREATE TABLE plan_positions (
    plan_id         INTEGER NOT NULL REFERENCES plans (id),
    ext_number      TEXT NOT NULL,
    position_number TEXT NOT NULL UNIQUE CHECK (length(position_number) = 24),
    PRIMARY KEY (plan_id, ext_number)
);
