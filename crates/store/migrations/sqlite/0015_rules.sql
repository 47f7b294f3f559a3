-- Legacy Rules (`/api/v2/rules`), run in `order` before the post-login Actions, and the
-- configuration values they read (`/rules-configs`), sealed under the master key bound to
-- their key.
CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    script TEXT NOT NULL,
    ord INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE rules_configs (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
