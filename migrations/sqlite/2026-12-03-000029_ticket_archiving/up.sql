-- Archived tickets (issue 19): kept, but out of lists and search unless asked. A side table,
-- since `tickets` keeps diesel's 16-column limit; lists test it with a NOT EXISTS on its key.
CREATE TABLE ticket_archive (
    ticket_id BIGINT PRIMARY KEY NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    archived_at TIMESTAMP NOT NULL
);
