-- Ticket numbers come from one sequence per kind on PostgreSQL. The counter row of
-- ticket_sequences was locked from a creation's first statement to its commit, so concurrent
-- creations queued behind each other (97 creates/s at 8 clients). A sequence hands out numbers
-- without a lock; a creation that fails after taking one leaves that number unused.
-- SQLite keeps the counter row: its writers are serialised anyway.
CREATE SEQUENCE ticket_number_incident;
CREATE SEQUENCE ticket_number_problem;
CREATE SEQUENCE ticket_number_change;
SELECT setval('ticket_number_' || kind, GREATEST(last_value, 1), last_value > 0) FROM ticket_sequences;
