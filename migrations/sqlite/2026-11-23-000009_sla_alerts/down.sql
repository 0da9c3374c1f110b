DROP TABLE notifications;
DROP TABLE escalation_rules;
DROP TABLE sla_alerts;
DROP INDEX ticket_sla_resolution_warn_idx;
DROP INDEX ticket_sla_response_due_idx;
DROP INDEX ticket_sla_response_warn_idx;
ALTER TABLE ticket_sla DROP COLUMN resolution_warn_at;
ALTER TABLE ticket_sla DROP COLUMN response_warn_at;
