DROP INDEX ticket_sla_next_escalation_idx;
ALTER TABLE ticket_sla DROP COLUMN next_escalation_at;
DROP TABLE escalation_firings;
CREATE TABLE escalation_rules_old (
    id INTEGER PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    clock TEXT NOT NULL CHECK (clock IN ('response', 'resolution')),
    kind TEXT NOT NULL CHECK (kind IN ('warning', 'breach')),
    notify TEXT NOT NULL CHECK (notify IN ('assignee', 'team', 'managers')),
    escalate_to_team_id BIGINT REFERENCES teams (id),
    created_at TIMESTAMP NOT NULL
);
-- Delay levels cannot be expressed in the old shape and are dropped.
INSERT INTO escalation_rules_old (id, team_id, clock, kind, notify, escalate_to_team_id, created_at)
    SELECT id, team_id, clock, kind, notify, escalate_to_team_id, created_at
    FROM escalation_rules WHERE kind IN ('warning', 'breach');
DROP TABLE escalation_rules;
ALTER TABLE escalation_rules_old RENAME TO escalation_rules;
CREATE INDEX escalation_rules_team_idx ON escalation_rules (team_id, clock, kind);
