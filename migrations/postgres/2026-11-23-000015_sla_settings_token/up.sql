-- A token that changes whenever the SLA settings do (policies, calendars, closures, escalation
-- levels). Each server keeps one snapshot of the settings per token, so reading a ticket's
-- clocks costs this one-row query instead of four. The token is random rather than a counter,
-- so two databases (a restored copy, a test template's copies) that drift apart never share one.
-- Triggers, not application code, change it: no write path can forget to.
CREATE TABLE sla_settings_token (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token BIGINT NOT NULL
);
INSERT INTO sla_settings_token (id, token) VALUES (1, floor(random() * 9007199254740991)::BIGINT);

CREATE FUNCTION sla_settings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sla_settings_token SET token = floor(random() * 9007199254740991)::BIGINT WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER sla_settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sla_policies
    FOR EACH STATEMENT EXECUTE FUNCTION sla_settings_changed();
CREATE TRIGGER sla_settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON calendars
    FOR EACH STATEMENT EXECUTE FUNCTION sla_settings_changed();
CREATE TRIGGER sla_settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON calendar_closures
    FOR EACH STATEMENT EXECUTE FUNCTION sla_settings_changed();
CREATE TRIGGER sla_settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON escalation_rules
    FOR EACH STATEMENT EXECUTE FUNCTION sla_settings_changed();
