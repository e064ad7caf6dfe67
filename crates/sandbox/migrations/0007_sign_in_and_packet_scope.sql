-- Throttling of failed sign-ins (cabinet and integration): consecutive failures per key
-- (`cabinet:<login>`, `integration:<login>`, `address:<ip>`) and when the next attempt is
-- allowed. An attempt is counted before its password is checked; a success forgives.
CREATE TABLE sign_in_failures (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_at         INTEGER NOT NULL,
    next_allowed_at INTEGER NOT NULL
);

-- A packet's index/id belongs to the organization that sent it: two organizations may use the
-- same id and neither learns of the other. `packet_id` stays the internal key (the id as sent,
-- or a fresh UUID when another organization's packet already holds it); `ref_id` is the id as
-- sent, unique per organization.
ALTER TABLE packets ADD COLUMN ref_id TEXT;
UPDATE packets SET ref_id = packet_id;
CREATE UNIQUE INDEX packets_org_ref ON packets (org_reg_num, ref_id);
