-- The facts every ticket kind gives the SLA engine, owned by the ticket core: what the clocks
-- are matched on (category, service) and run from (when the work started, the first
-- response). A table of its own beside `tickets` rather than four more columns there: diesel's
-- default 16-column tables are kept (see docs/ARCHITECTURE.md), and `tickets` has 16.
-- Each kind's use cases write it in the same transaction as the ticket; the incident columns
-- that hold the same values (`category`, `service`, `reported_at`, `acknowledged_at`) stay, as
-- the incident's own record shown and filtered on its pages.
CREATE TABLE ticket_facts (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    category TEXT NOT NULL DEFAULT '',
    service TEXT NOT NULL DEFAULT '',
    started_at TIMESTAMP NOT NULL,
    first_response_at TIMESTAMP
);

INSERT INTO ticket_facts (ticket_id, category, service, started_at, first_response_at)
SELECT t.id, i.category, i.service, i.reported_at, i.acknowledged_at
FROM tickets t JOIN incidents i ON i.ticket_id = t.id;

INSERT INTO ticket_facts (ticket_id, category, service, started_at, first_response_at)
SELECT t.id, '', '', t.created_at, NULL
FROM tickets t
WHERE NOT EXISTS (SELECT 1 FROM ticket_facts f WHERE f.ticket_id = t.id);
