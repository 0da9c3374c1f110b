DROP INDEX ticket_sla_next_escalation_idx;
ALTER TABLE ticket_sla DROP COLUMN next_escalation_at;
DROP TABLE escalation_firings;
-- Delay levels cannot be expressed in the old shape and are dropped.
DELETE FROM escalation_rules WHERE kind NOT IN ('warning', 'breach');
ALTER TABLE escalation_rules DROP CONSTRAINT escalation_rules_delay_clock_check;
ALTER TABLE escalation_rules DROP CONSTRAINT escalation_rules_delay_check;
ALTER TABLE escalation_rules DROP CONSTRAINT escalation_rules_kind_check;
ALTER TABLE escalation_rules ADD CONSTRAINT escalation_rules_kind_check CHECK (kind IN ('warning', 'breach'));
ALTER TABLE escalation_rules DROP COLUMN to_level;
ALTER TABLE escalation_rules DROP COLUMN delay_minutes;
ALTER TABLE escalation_rules DROP COLUMN position;
