-- The jti of every private_key_jwt client assertion (RFC 7523 §3), kept until the assertion
-- expires so that a replay within its lifetime is refused; purged after.
CREATE TABLE client_assertions (
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertions_by_expiry ON client_assertions (expires_at);
