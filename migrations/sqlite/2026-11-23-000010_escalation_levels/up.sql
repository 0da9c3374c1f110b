-- Escalation policies as ordered levels (see src/sla/job.rs). Besides a clock's warning or
-- breach, a level can wait a delay for the first response (`unacknowledged`, on the response
-- clock) or for resolution (`unresolved`, on the resolution clock), counted in business minutes
-- on the ticket's SLA calendar; and it can raise the incident to an escalation level (L1–L3).
-- SQLite cannot change a CHECK constraint, so the table is rebuilt with its rows; the existing
-- rules keep their order (position = id × 10).
CREATE TABLE escalation_rules_new (
    id INTEGER PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    -- The order of the levels in the team's policy (smallest first).
    position INTEGER NOT NULL,
    clock TEXT NOT NULL CHECK (clock IN ('response', 'resolution')),
    kind TEXT NOT NULL CHECK (kind IN ('warning', 'breach', 'unacknowledged', 'unresolved')),
    -- Business minutes after the report (delay triggers only).
    delay_minutes INTEGER CHECK (delay_minutes BETWEEN 1 AND 525600),
    -- Who is told: the assignee, the whole team, or the team's managers.
    notify TEXT NOT NULL CHECK (notify IN ('assignee', 'team', 'managers')),
    -- Hand the ticket to this team (functional escalation), if set.
    escalate_to_team_id BIGINT REFERENCES teams (id),
    -- Raise the incident's escalation level to at least this, if set.
    to_level INTEGER CHECK (to_level BETWEEN 1 AND 3),
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT escalation_rules_delay_check
        CHECK ((kind IN ('unacknowledged', 'unresolved')) = (delay_minutes IS NOT NULL)),
    CONSTRAINT escalation_rules_delay_clock_check
        CHECK ((kind <> 'unacknowledged' OR clock = 'response') AND (kind <> 'unresolved' OR clock = 'resolution'))
);
INSERT INTO escalation_rules_new
    (id, team_id, position, clock, kind, delay_minutes, notify, escalate_to_team_id, to_level, created_at)
    SELECT id, team_id, id * 10, clock, kind, NULL, notify, escalate_to_team_id, NULL, created_at
    FROM escalation_rules;
DROP TABLE escalation_rules;
ALTER TABLE escalation_rules_new RENAME TO escalation_rules;
CREATE INDEX escalation_rules_team_idx ON escalation_rules (team_id, clock, kind);

-- Each level fires once per ticket: the primary key is the claim when several instances run
-- the job at the same moment (the loser's insert fails and its savepoint rolls back).
CREATE TABLE escalation_firings (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    rule_id BIGINT NOT NULL REFERENCES escalation_rules (id) ON DELETE CASCADE,
    fired_at TIMESTAMP NOT NULL,
    -- The team the level handed the ticket to (NULL: it stayed where it was). While the ticket
    -- is still there, the policy that handed it on keeps escalating it.
    to_team_id BIGINT REFERENCES teams (id) ON DELETE SET NULL,
    PRIMARY KEY (ticket_id, rule_id)
);
CREATE INDEX escalation_firings_rule_idx ON escalation_firings (rule_id);

-- When the next delay level of the ticket's policy falls due (NULL: none pending, or the clock
-- it waits on is paused or stopped). Stored with the other figures at every transition, so the
-- job walks this index in order, soonest first, and stops at its batch size. Partial: most
-- tickets have nothing pending.
ALTER TABLE ticket_sla ADD COLUMN next_escalation_at TIMESTAMP;
CREATE INDEX ticket_sla_next_escalation_idx ON ticket_sla (next_escalation_at, ticket_id)
    WHERE next_escalation_at IS NOT NULL;
