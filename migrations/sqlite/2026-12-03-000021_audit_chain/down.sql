DROP INDEX ticket_sla_resolution_breached_idx;
DROP INDEX ticket_sla_response_breached_idx;
DROP TABLE audit_verifications;
DROP TRIGGER audit_log_no_update;
DROP INDEX audit_log_prev_hash_idx;
ALTER TABLE audit_log DROP COLUMN row_hash;
ALTER TABLE audit_log DROP COLUMN prev_hash;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
