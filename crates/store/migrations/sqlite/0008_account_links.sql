-- Account linking (Auth0's POST /api/v2/users/{id}/identities). A linked (secondary) account
-- keeps its row, its identity and its credentials, so that logging in with it still works,
-- but it is no longer a user of its own: it answers as the primary user it is linked to.
-- linked_at orders the primary's identities. Deleting the primary deletes what is linked to it.
ALTER TABLE users ADD COLUMN linked_to TEXT REFERENCES users (user_id) ON DELETE CASCADE;
ALTER TABLE users ADD COLUMN linked_at INTEGER;
CREATE INDEX users_by_linked_to ON users (linked_to);
