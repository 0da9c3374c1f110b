DROP INDEX incidents_reported_idx;
DROP TABLE ticket_links;
DROP TABLE problems;
