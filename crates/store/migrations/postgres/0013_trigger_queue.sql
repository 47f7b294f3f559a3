-- Executions of the asynchronous triggers (post-user-registration, post-change-password)
-- waiting to run: taken with a lease (next_at moves past it), deleted once run, tried again
-- later when they fail. The event is the trigger's JSON as it was when queued.
CREATE TABLE trigger_queue (
    id TEXT PRIMARY KEY,
    trigger_id TEXT NOT NULL,
    event TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX trigger_queue_due ON trigger_queue (next_at);
