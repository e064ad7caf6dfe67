-- The region's lists. A superior organization's subordinates in name order, so that a page of
-- their plans is read through the index instead of sorting every plan the superior sees.
CREATE INDEX organizations_superior ON organizations (superior_id, short_name, id);

-- How many plans of a superior's subordinates are in each status, kept in the transaction of
-- every plan creation and status change (store::plans::move_tally), so that the lists' counts
-- do not count thousands of plans per view. Organizations do not change their superior; code
-- that lets them must move their plans' tallies in the same transaction.
CREATE TABLE plan_tallies (
    superior_id BIGINT NOT NULL REFERENCES organizations(id),
    status      TEXT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (superior_id, status)
);
INSERT INTO plan_tallies (superior_id, status, n)
    SELECT o.superior_id, p.status, COUNT(*) FROM plans p JOIN organizations o ON o.id = p.org_id
    WHERE o.superior_id IS NOT NULL GROUP BY o.superior_id, p.status;

-- The count of each plan's positions, moved in the transaction of every add and delete
-- (store::plans::count_positions): the lists show it without counting a large plan's rows.
ALTER TABLE plans ADD COLUMN position_count BIGINT NOT NULL DEFAULT 0;
UPDATE plans SET position_count = (SELECT COUNT(*) FROM positions x WHERE x.plan_id = plans.id);
