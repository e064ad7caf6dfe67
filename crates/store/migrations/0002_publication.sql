-- What ЕИС assigns when a version is placed: the registry numbers of its positions, as JSON
-- {"0001": "202603722001001001000001", ...} keyed by purchase number.
ALTER TABLE plan_versions ADD COLUMN eis_position_numbers TEXT;
