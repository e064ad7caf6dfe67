-- Qualified certificates (ЭЦП) bound to users, found by thumbprint (the SHA-1 of the DER, as
-- CryptoPro shows it) when one signs in or signs. A user may hold several (a renewed one beside
-- the old); a certificate belongs to one user. What the binding showed (owner, СНИЛС/ИНН,
-- issuer, validity) is kept with the certificate itself (`der`, base64). `bound_by` is the
-- administrator, NULL for the operator on the command line.
CREATE TABLE user_certificates (
    id           {{ID}},
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    thumbprint   TEXT NOT NULL UNIQUE,
    subject_name TEXT NOT NULL,
    snils        TEXT,
    inn          TEXT,
    issuer       TEXT NOT NULL,
    serial       TEXT NOT NULL,
    not_before   BIGINT NOT NULL,
    not_after    BIGINT NOT NULL,
    der          TEXT NOT NULL,
    bound_at     BIGINT NOT NULL,
    bound_by     BIGINT REFERENCES users(id)
);
CREATE INDEX user_certificates_user ON user_certificates (user_id, id);
