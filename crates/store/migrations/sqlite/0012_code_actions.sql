-- What the post-login Actions decided at /authorize (custom claims, scope changes), as JSON,
-- redeemed with the code: the exchange issues what the login decided, not a second run.
ALTER TABLE authorization_codes ADD COLUMN actions TEXT;
