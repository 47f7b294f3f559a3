-- Signing-key families: the keys of one kind (RSA for RS256/PS256, P-256 for ES256) each have
-- a life cycle of their own, so "at most one current and one next key" holds per family.
-- Every key stored before this migration is filed under the kind its alg needs; the DEFAULT
-- only satisfies ADD COLUMN's NOT NULL and is dropped once the rows are filled: every INSERT
-- names the family.
ALTER TABLE signing_keys ADD COLUMN family TEXT NOT NULL DEFAULT 'rsa';
UPDATE signing_keys SET family = CASE
    WHEN alg IN ('RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512') THEN 'rsa'
    WHEN alg = 'ES256' THEN 'ec-p256'
    WHEN alg = 'ES384' THEN 'ec-p384'
    WHEN alg = 'ES512' THEN 'ec-p521'
    WHEN alg = 'EdDSA' THEN 'ed25519'
    ELSE 'oct'
END;
ALTER TABLE signing_keys ALTER COLUMN family DROP DEFAULT;
DROP INDEX signing_keys_one_current;
DROP INDEX signing_keys_one_next;
-- At most one current and one next key per family, whatever number of nodes rotate at once.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (family) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (family) WHERE state = 'next';
