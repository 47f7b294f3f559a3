-- A login gone to another identity provider, until its callback: found by the SHA-256 of the
-- `state` sent upstream, bound to the browser by the SHA-256 of a cookie's value, used once
-- (deleted as it is read), the login transaction, nonce and PKCE verifier sealed.
CREATE TABLE federation_transactions (
    state_digest BYTEA PRIMARY KEY,
    binding_digest BYTEA NOT NULL,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    sealed BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX federation_transactions_by_expiry ON federation_transactions (expires_at);
