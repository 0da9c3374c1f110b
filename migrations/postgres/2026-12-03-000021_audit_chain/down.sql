DROP INDEX ticket_sla_resolution_breached_idx;
DROP INDEX ticket_sla_response_breached_idx;
DROP TABLE audit_verifications;
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
DROP INDEX audit_log_prev_hash_idx;
ALTER TABLE audit_log DROP COLUMN row_hash;
ALTER TABLE audit_log DROP COLUMN prev_hash;
