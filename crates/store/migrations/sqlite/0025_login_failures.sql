-- Brute-force protection: consecutive failed logins per connection, identifier tried (in
-- lower case, whether or not a user has it) and client address (empty when counted per
-- identifier). An attempt is reserved by one upsert before its password is checked.
CREATE TABLE login_failures (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    ip TEXT NOT NULL,
    count INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    PRIMARY KEY (connection_id, identifier, ip)
);
CREATE INDEX login_failures_by_identifier ON login_failures (identifier);
CREATE INDEX login_failures_by_last_failure ON login_failures (last_failure_at);
