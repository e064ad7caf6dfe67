-- Who placed the plan through the exchange: the owner of its latest version (the customer for
-- ownerRole CU, the organization acting under an agreement for OA). NULL: the customer.
ALTER TABLE plans ADD COLUMN owner_reg_num TEXT REFERENCES organizations (reg_num);
ALTER TABLE plans ADD COLUMN owner_role TEXT CHECK (owner_role IN ('CU', 'OA'));
