-- Mail with an HTML body (sealed, as the text one) and a sender of its own.
ALTER TABLE outbox ADD COLUMN sealed_html BYTEA;
ALTER TABLE outbox ADD COLUMN sender TEXT;

-- The tenant's email templates (`/api/v2/email-templates/{templateName}`), one per name.
CREATE TABLE email_templates (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    result_url TEXT,
    url_lifetime_in_seconds BIGINT,
    include_email_in_redirect BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);
