-- What each execution of a trigger's Actions did (`/api/v2/actions/executions/{id}`), kept
-- until expires_at (10 days, as Auth0). The results are Auth0's JSON list.
CREATE TABLE action_executions (
    id TEXT PRIMARY KEY,
    trigger_id TEXT NOT NULL,
    status TEXT NOT NULL,
    results TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX action_executions_expiry ON action_executions (expires_at);
