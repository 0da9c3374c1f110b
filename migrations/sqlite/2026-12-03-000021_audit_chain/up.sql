-- The audit log's hash chain: each row carries the SHA-256 of its canonical content and of
-- the previous row's hash (src/audit/chain.rs). Rows written before this migration are chained
-- at start-up; until then their hashes are NULL.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN row_hash TEXT;
-- No two rows may claim the same predecessor: a fork fails instead of committing.
CREATE UNIQUE INDEX audit_log_prev_hash_idx ON audit_log (prev_hash);

-- Still append-only; the one update allowed gives a row written before the chain existed its
-- hashes, once, leaving every other column as it was.
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN OLD.row_hash IS NOT NULL
    OR NEW.row_hash IS NULL
    OR NEW.id IS NOT OLD.id
    OR NEW.at IS NOT OLD.at
    OR NEW.actor_id IS NOT OLD.actor_id
    OR NEW.actor_label IS NOT OLD.actor_label
    OR NEW.action IS NOT OLD.action
    OR NEW.entity_type IS NOT OLD.entity_type
    OR NEW.entity_id IS NOT OLD.entity_id
    OR NEW.before_json IS NOT OLD.before_json
    OR NEW.after_json IS NOT OLD.after_json
    OR NEW.ip IS NOT OLD.ip
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Each run of `mamori audit verify` or of the check on the audit page.
CREATE TABLE audit_verifications (
    id INTEGER PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    intact BOOLEAN NOT NULL,
    rows_checked BIGINT NOT NULL,
    broken_id BIGINT,
    detail TEXT,
    last_id BIGINT,
    last_hash TEXT,
    started_by TEXT NOT NULL
);

-- Clocks breached and still running, counted by /metrics without reading every clock.
CREATE INDEX ticket_sla_response_breached_idx ON ticket_sla (ticket_id)
    WHERE response_breached AND response_met_at IS NULL;
CREATE INDEX ticket_sla_resolution_breached_idx ON ticket_sla (ticket_id)
    WHERE resolution_breached AND resolution_met_at IS NULL;
