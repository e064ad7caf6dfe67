-- A user may hold several roles (customer, approver, admin): one row per role held. Every
-- user keeps the role he had. Reads take a user's roles in the same query as the user (the
-- `roles_mask` column of store::users), so a list of users is one query however long.
CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
INSERT INTO user_roles (user_id, role) SELECT id, role FROM users;
-- Those who receive a notice by role (store::notify) are found by role first.
CREATE INDEX user_roles_role ON user_roles (role, user_id);
-- `users.role` is in no index, key, constraint, view or trigger, so both backends drop it
-- (SQLite since 3.35).
ALTER TABLE users DROP COLUMN role;
