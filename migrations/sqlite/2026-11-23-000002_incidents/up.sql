-- The ticket core shared by every kind (incident now; problem and change later), the
-- per-kind number sequences, the timeline, and the incident extension.

CREATE TABLE ticket_sequences (
    kind TEXT PRIMARY KEY NOT NULL,
    last_value BIGINT NOT NULL
);
INSERT INTO ticket_sequences (kind, last_value) VALUES ('incident', 0), ('problem', 0), ('change', 0);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('incident', 'problem', 'change')),
    number BIGINT NOT NULL,
    reference TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('P1', 'P2', 'P3', 'P4')),
    team_id BIGINT REFERENCES teams (id),
    assignee_id BIGINT REFERENCES users (id),
    reporter_id BIGINT REFERENCES users (id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    deleted_at TIMESTAMP
);
CREATE UNIQUE INDEX tickets_reference_key ON tickets (reference);
CREATE UNIQUE INDEX tickets_kind_number_key ON tickets (kind, number);
CREATE INDEX tickets_kind_status_idx ON tickets (kind, status, id);
CREATE INDEX tickets_kind_priority_idx ON tickets (kind, priority, id);
CREATE INDEX tickets_team_idx ON tickets (team_id, status, id);
CREATE INDEX tickets_assignee_idx ON tickets (assignee_id, status, id);

CREATE TABLE incidents (
    ticket_id BIGINT PRIMARY KEY NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    impact TEXT NOT NULL CHECK (impact IN ('high', 'medium', 'low')),
    urgency TEXT NOT NULL CHECK (urgency IN ('high', 'medium', 'low')),
    channel TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    service TEXT NOT NULL DEFAULT '',
    reported_at TIMESTAMP NOT NULL,
    escalation_level INTEGER NOT NULL DEFAULT 1,
    hold_reason TEXT,
    held_from TEXT,
    workaround TEXT,
    resolution TEXT,
    resolution_kind TEXT CHECK (resolution_kind IN ('permanent', 'workaround')),
    acknowledged_at TIMESTAMP,
    mitigated_at TIMESTAMP,
    resolved_at TIMESTAMP
);
CREATE INDEX incidents_category_idx ON incidents (category);

CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    kind TEXT NOT NULL,
    visibility TEXT NOT NULL DEFAULT 'internal' CHECK (visibility IN ('internal', 'stakeholder')),
    body TEXT NOT NULL DEFAULT '',
    data TEXT
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, id);
