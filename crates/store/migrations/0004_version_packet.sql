-- The packet fixed when a version is approved: its XML, its index id, and what it was built
-- against ("new", "change:<plan number>:<base version>", or "pending:<base version>" when the
-- previous version was not yet placed in ЕИС, and so no packet could be fixed).
ALTER TABLE plan_versions ADD COLUMN packet_xml TEXT;
ALTER TABLE plan_versions ADD COLUMN packet_id TEXT;
ALTER TABLE plan_versions ADD COLUMN packet_basis TEXT;

-- Who places the plan-schedule in ЕИС: CU (the customer) or OA (its superior organization,
-- acting under an agreement). NULL reads as CU.
ALTER TABLE plans ADD COLUMN owner_role TEXT;
-- The person responsible for the plan, as JSON (last/first/middle name, position, phone).
ALTER TABLE plans ADD COLUMN responsible TEXT;
