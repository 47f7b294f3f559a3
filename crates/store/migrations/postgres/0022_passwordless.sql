-- Passwordless connections (`email`, `sms`): the users of an SMS connection are known by
-- their phone number, unique per connection; each recipient's live one-time code, as a keyed
-- digest, with the tries made at it.
ALTER TABLE users ADD COLUMN phone_number TEXT;
ALTER TABLE users ADD COLUMN phone_verified BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX users_phone_key ON users (connection_id, phone_number)
    WHERE phone_number IS NOT NULL;

CREATE TABLE passwordless_codes (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    digest BYTEA NOT NULL,
    client_id TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, recipient)
);
CREATE INDEX passwordless_codes_by_expiry ON passwordless_codes (expires_at);
