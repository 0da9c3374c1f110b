-- PostgreSQL moves ticket numbers to sequences in this version (see its migration); SQLite
-- keeps the ticket_sequences counter row, as its writers are serialised anyway.
SELECT 1;
