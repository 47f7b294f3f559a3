-- When the user of a refresh token authenticated, so that refreshed ID tokens carry the
-- original auth_time (OIDC Core §12.2).
ALTER TABLE refresh_tokens ADD COLUMN auth_time INTEGER;
