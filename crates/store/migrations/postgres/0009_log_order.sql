-- Log events become visible in the order of their ids, so that a reader paging with `from`
-- never passes an event that commits later (Auth0's checkpoint paging, log streams).
-- Writers take this one row's lock before their events get their sequence numbers and keep it
-- until they commit; an event's id is thus always greater than those of every event committed
-- before it. On SQLite, whose writers are serialised anyway, the lock costs nothing more.
CREATE TABLE log_order (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    written BIGINT NOT NULL
);
INSERT INTO log_order (id, written) VALUES (1, 0);
-- Retention deletes by date.
CREATE INDEX logs_by_date ON logs (date_ms);
-- Auth0's log event fields beside the connection's name.
ALTER TABLE logs ADD COLUMN connection_id TEXT;
ALTER TABLE logs ADD COLUMN strategy TEXT;
ALTER TABLE logs ADD COLUMN strategy_type TEXT;
ALTER TABLE logs ADD COLUMN hostname TEXT;
