-- The administrator's users pages: the time of each user's last successful sign-in, and a
-- password the user must change at the next sign-in (one the administrator handed out, at
-- creation or by a reset). Until it is changed, every page leads to «Смена пароля» and the
-- API gives no token.
ALTER TABLE users ADD COLUMN last_sign_in_at BIGINT;
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
-- The users an administrator manages are read by organization (its own and its subordinates').
CREATE INDEX users_org ON users (org_id, login);
