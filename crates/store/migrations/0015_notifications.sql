-- Notifications (store::notify): one row per event and recipient, written in the transaction of
-- the event itself. The unique key makes a repeated write of the same event (a retried runner,
-- a second instance) a no-op. `in_app` says whether the list and the header's counter show it;
-- `mail_state` is the e-mail outbox: NULL (no e-mail), 'pending', 'sent' or 'failed'.
CREATE TABLE notifications (
    id               {{ID}},
    user_id          BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    event_key        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    link             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    read_at          BIGINT,
    in_app           BIGINT NOT NULL,
    mail_to          TEXT,
    mail_state       TEXT,
    mail_attempts    BIGINT NOT NULL DEFAULT 0,
    mail_next_at     BIGINT,
    mail_locked_by   TEXT,
    mail_locked_until BIGINT,
    mail_error       TEXT,
    mail_sent_at     BIGINT,
    UNIQUE (user_id, kind, event_key)
);
-- The header's counter and the list: a user's shown notifications, unread first.
CREATE INDEX notifications_user ON notifications (user_id, in_app, read_at);
-- The e-mail sender's claim: due messages.
CREATE INDEX notifications_mail ON notifications (mail_state, mail_next_at);

-- Each user's choice per kind: in the application and/or by e-mail. A missing row means both.
CREATE TABLE notification_preferences (
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    in_app   BIGINT NOT NULL,
    email    BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- The address notifications are mailed to; set by the user on «Настройки уведомлений».
ALTER TABLE users ADD COLUMN email TEXT;

-- «ЕИС недоступна»: the exchange's calls to ЕИС in a row that failed (no answer, 5xx, an
-- unreadable reply), and since when; one row, shared by every instance.
CREATE TABLE eis_availability (
    id                    BIGINT PRIMARY KEY,
    consecutive_failures  BIGINT NOT NULL,
    failing_since         BIGINT,
    updated_at            BIGINT NOT NULL
);
INSERT INTO eis_availability (id, consecutive_failures, failing_since, updated_at) VALUES (1, 0, NULL, 0);

-- «ЕИС молчит»: when the silence of a send still waiting for ЕИС's verdict was reported, so
-- that it is reported once.
ALTER TABLE eis_sends ADD COLUMN silence_reported_at BIGINT;
