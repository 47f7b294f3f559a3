-- Connections as Auth0 has them: what they carry beyond options (display name, login button,
-- metadata), and the applications each connection serves.
ALTER TABLE connections ADD COLUMN display_name TEXT;
ALTER TABLE connections ADD COLUMN show_as_button BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE connections ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

-- The applications each connection is enabled for (Auth0's enabled clients).
CREATE TABLE connection_clients (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    PRIMARY KEY (connection_id, client_id)
);
CREATE INDEX connection_clients_by_client ON connection_clients (client_id);
-- Until now every connection served every client: so it stays.
INSERT INTO connection_clients (connection_id, client_id)
    SELECT connections.id, clients.client_id FROM connections CROSS JOIN clients;
