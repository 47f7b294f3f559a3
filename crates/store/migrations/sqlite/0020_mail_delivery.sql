-- The outbox becomes a durable delivery queue: each message's status (queued, sending, sent,
-- failed), its attempts, when the next is due, the lease of the worker sending it, and how it
-- ended. Messages queued before are due at once.
ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'queued';
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN lease TEXT;
ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN sent_at INTEGER;
ALTER TABLE outbox ADD COLUMN message_id TEXT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, seq);

-- The tenant's mail provider (`/api/v2/emails/provider`): at most one row. The SMTP password
-- is sealed under the master key.
CREATE TABLE email_provider (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    default_from_address TEXT,
    smtp_host TEXT NOT NULL,
    smtp_port INTEGER NOT NULL,
    smtp_user TEXT NOT NULL,
    sealed_smtp_pass BLOB NOT NULL,
    headers TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
