-- What an organization requires of ЭЦП (set on its card in «Администрирование» →
-- «Организации»): its users sign in only with a certificate; its approvers sign «Утвердить»;
-- its senders sign the packets they send to ЕИС. 0 or 1.
ALTER TABLE organizations ADD COLUMN ecp_sign_in_required BIGINT NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN ecp_approval_required BIGINT NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN ecp_packet_required BIGINT NOT NULL DEFAULT 0;

-- The approver's signature of a version, when one was made: a detached CAdES-BES (DER, base64)
-- over the exact bytes of `snapshot`, the version's content as fixed at approval. The signer's
-- certificate is inside it, so the print form names the signer even after it is unbound.
ALTER TABLE plan_versions ADD COLUMN approval_signature TEXT;

-- Who asked for a challenge: the unauthenticated sign-in challenge is limited per client
-- address (and in total) while its rows live.
ALTER TABLE ecp_challenges ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
CREATE INDEX ecp_challenges_address ON ecp_challenges (client_address, expires_at);

-- When the holder was told that the certificate's validity ends soon (once per certificate).
ALTER TABLE user_certificates ADD COLUMN expiry_notified_at BIGINT;
