-- Text search that works for Japanese: pg_trgm (a trusted extension since PostgreSQL 13, so
-- the database owner may create it) with a GIN index over title and description together.
-- ILIKE finds through the index; similarity() ranks "similar past incidents".
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tickets_text_trgm_idx ON tickets USING gin ((title || ' ' || description) gin_trgm_ops);
