-- Multi-factor authentication: each user's authenticators (Auth0's `authentication-methods`),
-- at most one of each kind; a TOTP secret sealed under the master key (bound to the row), a
-- recovery code as its SHA-256 digest; the last TOTP time step accepted, so a code is taken
-- once. `mfa_users` holds when the user's remembered browsers were last forgotten.
CREATE TABLE authenticators (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT,
    secret BLOB,
    digest BLOB,
    confirmed_at INTEGER,
    created_at INTEGER NOT NULL,
    last_auth_at INTEGER,
    last_step INTEGER,
    UNIQUE (user_id, kind)
);

CREATE TABLE mfa_users (
    user_id TEXT PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
    browsers_forgotten_at INTEGER NOT NULL
);
