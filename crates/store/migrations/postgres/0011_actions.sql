-- Actions (tenant code), their deployed versions and their bindings to triggers. Code and
-- build results are JSON (`draft`, `code`); secrets are one JSON list sealed under the master
-- key, bound to the row ("action:<id>", "action version:<id>").
CREATE TABLE actions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    draft TEXT NOT NULL,
    sealed_secrets BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deployed_at BIGINT
);
CREATE TABLE action_versions (
    id TEXT PRIMARY KEY,
    action_id TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    code TEXT NOT NULL,
    sealed_secrets BYTEA NOT NULL,
    deployed BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (action_id, number)
);
-- A bound Action cannot be deleted without its bindings (no cascade): the API's `force`.
CREATE TABLE action_bindings (
    trigger_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    action_id TEXT NOT NULL REFERENCES actions (id),
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (trigger_id, position)
);
CREATE INDEX action_bindings_by_action ON action_bindings (action_id);
