-- When each clock crosses its warning threshold: stored with the due times so the SLA job
-- finds the tickets to warn about with an index, not by recomputing every open ticket.
ALTER TABLE ticket_sla ADD COLUMN response_warn_at TIMESTAMP;
ALTER TABLE ticket_sla ADD COLUMN resolution_warn_at TIMESTAMP;
CREATE INDEX ticket_sla_response_warn_idx ON ticket_sla (response_warn_at);
CREATE INDEX ticket_sla_response_due_idx ON ticket_sla (response_due_at);
CREATE INDEX ticket_sla_resolution_warn_idx ON ticket_sla (resolution_warn_at);

-- Each warning and breach fires once per ticket and clock: the primary key is the guard when
-- several instances run the job at the same moment (the loser's insert does nothing).
CREATE TABLE sla_alerts (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    clock TEXT NOT NULL CHECK (clock IN ('response', 'resolution')),
    kind TEXT NOT NULL CHECK (kind IN ('warning', 'breach')),
    fired_at TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, clock, kind)
);

-- A team's escalation policy: what happens when one of its tickets warns or breaches.
CREATE TABLE escalation_rules (
    id INTEGER PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    clock TEXT NOT NULL CHECK (clock IN ('response', 'resolution')),
    kind TEXT NOT NULL CHECK (kind IN ('warning', 'breach')),
    -- Who is told: the assignee, the whole team, or the team's managers.
    notify TEXT NOT NULL CHECK (notify IN ('assignee', 'team', 'managers')),
    -- Hand the ticket to this team one level up (functional escalation), if set.
    escalate_to_team_id BIGINT REFERENCES teams (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX escalation_rules_team_idx ON escalation_rules (team_id, clock, kind);

-- In-app notifications (the mail issue delivers them by mail too).
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_id BIGINT REFERENCES tickets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id);
