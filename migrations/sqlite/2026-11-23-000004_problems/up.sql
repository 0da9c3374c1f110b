-- Problems (the unknown cause behind incidents) and links between tickets.

CREATE TABLE problems (
    ticket_id BIGINT PRIMARY KEY NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    root_cause TEXT NOT NULL DEFAULT '',
    contributing_factors TEXT NOT NULL DEFAULT '',
    five_whys TEXT NOT NULL DEFAULT '',
    workaround TEXT NOT NULL DEFAULT '',
    resolution TEXT NOT NULL DEFAULT '',
    -- Permanent-fix due date, 'YYYY-MM-DD'.
    fix_due_on TEXT,
    known_error_at TIMESTAMP,
    resolved_at TIMESTAMP
);

CREATE TABLE ticket_links (
    id INTEGER PRIMARY KEY,
    -- For kind 'problem': from = the incident, to = the problem behind it.
    from_ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    to_ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('problem', 'related')),
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX ticket_links_key ON ticket_links (from_ticket_id, to_ticket_id, kind);
CREATE INDEX ticket_links_to_idx ON ticket_links (to_ticket_id, kind);
CREATE INDEX incidents_reported_idx ON incidents (reported_at);
