-- «Администрирование» → «Организации». An organization may be blocked: its users cannot sign
-- in, its sends ЕИС has not accepted yet wait, nothing new goes to ЕИС for it; all its history
-- stays. `row_version` guards the edit form against a concurrent change (the list loader bumps
-- it too).
ALTER TABLE organizations ADD COLUMN blocked_at BIGINT;
ALTER TABLE organizations ADD COLUMN row_version BIGINT NOT NULL DEFAULT 1;

-- «Соглашения о передаче полномочий»: the agreements under which a superior organization (the
-- agent) places a subordinate's plan-schedules in ЕИС (owner role OA). Dates are ISO text
-- (ГГГГ-ММ-ДД), compared as text; an agreement is never deleted, only revoked.
CREATE TABLE org_agreements (
    id             {{ID}},
    subordinate_id BIGINT NOT NULL REFERENCES organizations(id),
    agent_id       BIGINT NOT NULL REFERENCES organizations(id),
    number         TEXT NOT NULL,
    signed_on      TEXT NOT NULL,
    valid_from     TEXT,
    valid_to       TEXT,
    created_by     BIGINT REFERENCES users(id),
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_by     BIGINT REFERENCES users(id)
);
CREATE INDEX org_agreements_subordinate ON org_agreements (subordinate_id, agent_id);
