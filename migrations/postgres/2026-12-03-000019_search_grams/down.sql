DROP TABLE ticket_search;
CREATE INDEX tickets_text_trgm_idx ON tickets USING gin ((title || ' ' || description) gin_trgm_ops);
