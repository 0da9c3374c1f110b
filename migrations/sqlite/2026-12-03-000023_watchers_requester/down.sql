DROP TABLE ticket_watchers;
DROP TABLE ticket_requesters;
