-- Codes mailed to users' email factors (Auth0's `oob_code` and its binding code): the
-- `oob_code` as its SHA-256 digest, the binding code as a MAC under a master-derived key.
-- The factor may be the user's verified address, which has no row in `authenticators`.
CREATE TABLE mfa_oob_codes (
    digest BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    authenticator_id TEXT NOT NULL,
    binding BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX mfa_oob_codes_by_expiry ON mfa_oob_codes (expires_at);

-- When one of the user's remembered browsers last skipped a second factor: a week without
-- one forgets them all. A row made by a use alone has browsers_forgotten_at 0 (never).
ALTER TABLE mfa_users ADD COLUMN used_at INTEGER;
