-- The model: tenant, connections, users, clients, APIs, grants, RBAC, consents, runtime state,
-- signing keys and logs. Times are Unix seconds (log dates: milliseconds). Lists of scopes are
-- space-separated; nested settings are JSON text. Secrets are SHA-256 digests or AES-256-GCM
-- sealed blobs, never plaintext.

CREATE TABLE tenant (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    strategy TEXT NOT NULL,
    options TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections (id),
    email TEXT,
    email_norm TEXT,
    email_verified BOOLEAN NOT NULL,
    username TEXT,
    username_norm TEXT,
    name TEXT,
    given_name TEXT,
    family_name TEXT,
    nickname TEXT,
    picture TEXT,
    user_metadata TEXT NOT NULL,
    app_metadata TEXT NOT NULL,
    blocked BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_login BIGINT,
    last_ip TEXT,
    logins_count BIGINT NOT NULL DEFAULT 0,
    password_alg TEXT,
    password_hash TEXT,
    last_password_reset BIGINT
);
-- Uniqueness of emails and usernames per connection, ignoring case: decided here, atomically.
CREATE UNIQUE INDEX users_email_key ON users (connection_id, email_norm);
CREATE UNIQUE INDEX users_username_key ON users (connection_id, username_norm);
CREATE INDEX users_by_email ON users (email_norm);
CREATE INDEX users_by_name ON users (name);
CREATE INDEX users_by_created ON users (created_at, user_id);

CREATE TABLE user_identities (
    provider TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    connection TEXT NOT NULL,
    is_social BOOLEAN NOT NULL,
    access_token BYTEA,
    refresh_token BYTEA,
    profile_data TEXT,
    PRIMARY KEY (provider, identity_id)
);
CREATE INDEX user_identities_by_user ON user_identities (user_id, position);

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    app_type TEXT NOT NULL,
    is_first_party BOOLEAN NOT NULL,
    secret_digest BYTEA,
    signing_secret BYTEA,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX clients_by_created ON clients (created_at, client_id);

CREATE TABLE resource_servers (
    id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    is_system BOOLEAN NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX resource_servers_by_created ON resource_servers (created_at, id);

CREATE TABLE client_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (client_id, audience)
);
CREATE INDEX client_grants_by_audience ON client_grants (audience);

CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE role_permissions (
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    audience TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_id, audience, permission)
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_by_role ON user_roles (role_id, user_id);

CREATE TABLE user_permissions (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    audience TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (user_id, audience, permission)
);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (user_id, client_id, audience)
);
CREATE INDEX consents_by_client ON consents (client_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    cookie_digest BYTEA NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    authenticated_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    clients TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_idle_expiry ON sessions (idle_expires_at);

CREATE TABLE authorization_codes (
    digest BYTEA PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    session_id TEXT,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    audience TEXT,
    nonce TEXT,
    code_challenge TEXT,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    digest BYTEA PRIMARY KEY,
    family_id TEXT NOT NULL,
    parent BYTEA,
    generation BIGINT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    session_id TEXT,
    audience TEXT,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    idle_expires_at BIGINT,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id, client_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_by_idle_expiry ON refresh_tokens (idle_expires_at);
CREATE INDEX refresh_tokens_by_revocation ON refresh_tokens (revoked_at);

CREATE TABLE device_codes (
    digest BYTEA PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    audience TEXT,
    status TEXT NOT NULL,
    user_id TEXT REFERENCES users (user_id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    interval_seconds BIGINT NOT NULL,
    last_polled_at BIGINT,
    consumed_at BIGINT
);
CREATE INDEX device_codes_by_expiry ON device_codes (expires_at);

CREATE TABLE tickets (
    digest BYTEA PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    result_url TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX tickets_by_expiry ON tickets (expires_at);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    state TEXT NOT NULL,
    sealed_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    current_since BIGINT,
    previous_since BIGINT,
    revoked_at BIGINT
);
-- At most one current and one next key, whatever number of nodes rotate at once.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (state) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (state) WHERE state = 'next';

CREATE TABLE logs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    date_ms BIGINT NOT NULL,
    type TEXT,
    description TEXT,
    client_id TEXT,
    client_name TEXT,
    user_id TEXT,
    user_name TEXT,
    connection TEXT,
    audience TEXT,
    scope TEXT,
    ip TEXT,
    user_agent TEXT,
    details TEXT NOT NULL
);
CREATE INDEX logs_by_user ON logs (user_id, seq);
CREATE INDEX logs_by_client ON logs (client_id, seq);
CREATE INDEX logs_by_type ON logs (type, seq);
