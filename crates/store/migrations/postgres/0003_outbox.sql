-- Mail waiting to be delivered (and, until SMTP delivery lands, kept for operators and tests).
-- Bodies hold single-use links and are sealed under the master key.
CREATE TABLE outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at BIGINT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    sealed_body BYTEA NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX outbox_by_recipient ON outbox (recipient, seq);
