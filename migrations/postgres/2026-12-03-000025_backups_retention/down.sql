CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.row_hash IS NULL AND NEW.row_hash IS NOT NULL
        AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_label, NEW.action, NEW.entity_type,
             NEW.entity_id, NEW.before_json, NEW.after_json, NEW.ip)
        IS NOT DISTINCT FROM
            (OLD.id, OLD.at, OLD.actor_id, OLD.actor_label, OLD.action, OLD.entity_type,
             OLD.entity_id, OLD.before_json, OLD.after_json, OLD.ip)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
DROP TRIGGER audit_prune_anchors_no_truncate ON audit_prune_anchors;
DROP TRIGGER audit_prune_anchors_no_change ON audit_prune_anchors;
DROP FUNCTION audit_prune_anchors_append_only();
DROP TABLE audit_prune_anchors;
DROP INDEX retention_runs_started_idx;
DROP TABLE retention_runs;
DROP TABLE retention_periods;
DROP TABLE job_leases;
DROP INDEX backup_runs_started_idx;
DROP INDEX backup_runs_slot_key;
DROP TABLE backup_runs;
DROP TABLE backup_settings;
