-- Facts about this database itself: the master-key check value, and later the tenant's
-- identity. One row per name; values are text.
CREATE TABLE sigil_meta (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
