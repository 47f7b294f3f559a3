-- Connections to other identity providers keep their secrets (client_secret, Apple's key)
-- apart from their options, sealed under the master key, bound to the connection's id.
ALTER TABLE connections ADD COLUMN secrets BLOB;

-- Federated users: their emails are not unique (two providers may vouch for one address, and
-- neither makes it a database user's), and what the provider said beyond the root attributes.
ALTER TABLE users ADD COLUMN is_federated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN idp_attributes TEXT NOT NULL DEFAULT '{}';
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (connection_id, email_norm) WHERE NOT is_federated;

-- The upstream access token's lifetime, as the provider gave it at the last login.
ALTER TABLE user_identities ADD COLUMN expires_in INTEGER;

-- How the user first authenticated in a session (`pwd`, `federated`).
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'pwd';
