-- A token that changes whenever the SLA settings do (policies, calendars, closures, escalation
-- levels). Each server keeps one snapshot of the settings per token, so reading a ticket's
-- clocks costs this one-row query instead of four. The token is random rather than a counter,
-- so two databases (a restored copy, a test template's copies) that drift apart never share one.
-- Triggers, not application code, change it: no write path can forget to.
CREATE TABLE sla_settings_token (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token BIGINT NOT NULL
);
INSERT INTO sla_settings_token (id, token) VALUES (1, random());
CREATE TRIGGER sla_policies_insert_sla_settings AFTER INSERT ON sla_policies BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER sla_policies_update_sla_settings AFTER UPDATE ON sla_policies BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER sla_policies_delete_sla_settings AFTER DELETE ON sla_policies BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER calendars_insert_sla_settings AFTER INSERT ON calendars BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER calendars_update_sla_settings AFTER UPDATE ON calendars BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER calendars_delete_sla_settings AFTER DELETE ON calendars BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER calendar_closures_insert_sla_settings AFTER INSERT ON calendar_closures BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER calendar_closures_update_sla_settings AFTER UPDATE ON calendar_closures BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER calendar_closures_delete_sla_settings AFTER DELETE ON calendar_closures BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER escalation_rules_insert_sla_settings AFTER INSERT ON escalation_rules BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER escalation_rules_update_sla_settings AFTER UPDATE ON escalation_rules BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
CREATE TRIGGER escalation_rules_delete_sla_settings AFTER DELETE ON escalation_rules BEGIN UPDATE sla_settings_token SET token = random() WHERE id = 1; END;
