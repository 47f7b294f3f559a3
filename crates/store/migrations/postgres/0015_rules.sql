-- Legacy Rules (`/api/v2/rules`), run in `order` before the post-login Actions, and the
-- configuration values they read (`/rules-configs`), sealed under the master key bound to
-- their key.
CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    script TEXT NOT NULL,
    ord BIGINT NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE rules_configs (
    key TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
