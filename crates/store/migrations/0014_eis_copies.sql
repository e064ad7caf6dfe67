-- What plangraf read of ЕИС's copy of a plan-schedule (its export): a plan created in ЕИС
-- taken in by «Загрузить из ЕИС» (purpose 'import'), and every «Сверить с ЕИС» (purpose
-- 'reconciliation', with the number of differences found). The raw export is kept as ЕИС sent
-- it; `position_numbers` is ЕИС's registry number of each position as JSON keyed by purchase
-- number, as in plan_versions.eis_position_numbers.
CREATE TABLE eis_copies (
    id               {{ID}},
    plan_id          BIGINT NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    purpose          TEXT NOT NULL,
    plan_number      TEXT NOT NULL,
    version_number   BIGINT,
    position_numbers TEXT NOT NULL,
    differences      BIGINT,
    compared_with    BIGINT,
    fetched_by       BIGINT NOT NULL REFERENCES users(id),
    fetched_at       BIGINT NOT NULL,
    raw              TEXT NOT NULL
);
CREATE INDEX eis_copies_plan ON eis_copies (plan_id, purpose, id);
