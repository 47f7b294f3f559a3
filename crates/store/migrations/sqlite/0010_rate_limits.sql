-- Token buckets shared by every node (the Management API's per-client limit): one row per
-- bucket holding when it will be full again, Unix milliseconds (GCRA's theoretical arrival
-- time; see sigil-core's rate_limit module). A row whose time has passed is a full bucket.
CREATE TABLE rate_limits (
    bucket TEXT PRIMARY KEY,
    full_at_ms INTEGER NOT NULL
);
