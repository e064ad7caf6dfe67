-- The packet fixed when a version is approved: its XML, its index id, and what it was built
-- against ("new", "change:<plan number>:<base version>", or "pending:<base version>" when the
-- previous version was not yet placed in ЕИС, and so no packet could be fixed).
ALTER TABLE plan_versions ADD COLUMN packet_xml TEXT;
ALTER TABLE plan_versions ADD COLUMN packet_id TEXT;
ALTER TABLE plan_versions ADD COLUMN packet_basis TEXT;
