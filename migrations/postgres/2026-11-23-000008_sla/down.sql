DROP TABLE ticket_sla;
DROP TABLE sla_policies;
DROP TABLE calendar_closures;
DROP TABLE calendars;
