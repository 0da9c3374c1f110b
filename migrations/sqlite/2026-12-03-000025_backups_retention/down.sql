DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
DROP TRIGGER audit_prune_anchors_no_delete;
DROP TRIGGER audit_prune_anchors_no_update;
DROP TABLE audit_prune_anchors;
DROP INDEX retention_runs_started_idx;
DROP TABLE retention_runs;
DROP TABLE retention_periods;
DROP TABLE job_leases;
DROP INDEX backup_runs_started_idx;
DROP INDEX backup_runs_slot_key;
DROP TABLE backup_runs;
DROP TABLE backup_settings;
