-- Authentication methods a session recorded beyond its login (a post-login Action's
-- api.authentication.recordMethod in onContinuePostLogin): one row per name, the latest time.
CREATE TABLE session_methods (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, name)
);
