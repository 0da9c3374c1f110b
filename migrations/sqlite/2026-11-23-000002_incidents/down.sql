DROP TABLE ticket_events;
DROP TABLE incidents;
DROP TABLE tickets;
DROP TABLE ticket_sequences;
