-- Management API jobs (user imports and exports), run inline and kept finished so that any
-- node answers GET /api/v2/jobs/{id}. details: the kind's own members of the job as JSON (an
-- import's summary, an export's format and fields); errors: an import's refused entries as a
-- JSON array; output: an export's file.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    connection_id TEXT,
    external_id TEXT,
    created_at BIGINT NOT NULL,
    details TEXT NOT NULL,
    errors TEXT NOT NULL,
    output TEXT
);
