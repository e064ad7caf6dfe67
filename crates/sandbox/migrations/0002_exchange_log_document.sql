-- A document an authenticated user sent that did not become a packet (no readable id, or an
-- id of another organization's packet) is kept with the reply it got.
ALTER TABLE exchange_log ADD COLUMN document TEXT;
