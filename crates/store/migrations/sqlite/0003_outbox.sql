-- Mail waiting to be delivered (and, until SMTP delivery lands, kept for operators and tests).
-- Bodies hold single-use links and are sealed under the master key.
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    sealed_body BLOB NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX outbox_by_recipient ON outbox (recipient, seq);
