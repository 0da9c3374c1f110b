DROP TRIGGER sla_settings_changed ON escalation_rules;
DROP TRIGGER sla_settings_changed ON calendar_closures;
DROP TRIGGER sla_settings_changed ON calendars;
DROP TRIGGER sla_settings_changed ON sla_policies;
DROP FUNCTION sla_settings_changed();
DROP TABLE sla_settings_token;
