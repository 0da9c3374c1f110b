-- Admins' list of deleted tickets (soft deletes are rare: a partial index stays tiny).
CREATE INDEX tickets_deleted_idx ON tickets (deleted_at, id) WHERE deleted_at IS NOT NULL;
