-- SLA: business calendars, policies and each ticket's clocks (see src/sla).
CREATE TABLE calendars (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    time_zone TEXT NOT NULL,
    -- Working intervals per weekday, Monday first: a JSON array of seven arrays of
    -- "HH:MM-HH:MM" (an end at or before the start crosses midnight).
    week TEXT NOT NULL,
    japanese_holidays BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Company holidays and closures (年末年始): inclusive ranges of local dates, YYYY-MM-DD.
CREATE TABLE calendar_closures (
    id INTEGER PRIMARY KEY,
    calendar_id BIGINT NOT NULL REFERENCES calendars (id) ON DELETE CASCADE,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    name TEXT NOT NULL,
    CHECK (starts_on <= ends_on)
);
CREATE INDEX calendar_closures_calendar_idx ON calendar_closures (calendar_id, starts_on);

CREATE TABLE sla_policies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- The first active matching policy by position applies.
    position INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    kind TEXT NOT NULL,
    -- Comma-separated priorities ("P1,P2"); empty matches every priority.
    priorities TEXT NOT NULL,
    category TEXT,
    team_id BIGINT REFERENCES teams (id),
    response_minutes INTEGER,
    resolution_minutes INTEGER,
    calendar_id BIGINT NOT NULL REFERENCES calendars (id),
    warn_percent INTEGER NOT NULL CHECK (warn_percent BETWEEN 1 AND 99),
    mitigation_stops_resolution BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (response_minutes IS NOT NULL OR resolution_minutes IS NOT NULL)
);
CREATE INDEX sla_policies_order_idx ON sla_policies (kind, active, position);

-- Each ticket's clocks as of their last computation (at every transition, by the SLA job and
-- by `mamori sla recompute`), so reports never show empty figures.
CREATE TABLE ticket_sla (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    policy_id BIGINT REFERENCES sla_policies (id) ON DELETE SET NULL,
    response_due_at TIMESTAMP,
    response_met_at TIMESTAMP,
    response_breached BOOLEAN NOT NULL,
    response_elapsed_minutes BIGINT NOT NULL,
    resolution_due_at TIMESTAMP,
    resolution_met_at TIMESTAMP,
    resolution_breached BOOLEAN NOT NULL,
    resolution_elapsed_minutes BIGINT NOT NULL,
    paused BOOLEAN NOT NULL,
    computed_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_sla_policy_idx ON ticket_sla (policy_id);
CREATE INDEX ticket_sla_resolution_due_idx ON ticket_sla (resolution_due_at);

-- Out of the box: a 24×7 calendar, Japanese office hours, and one policy per priority.
INSERT INTO calendars (id, name, time_zone, week, japanese_holidays, created_at, updated_at) VALUES
  (1, '24×7', 'Asia/Tokyo', '[["00:00-24:00"],["00:00-24:00"],["00:00-24:00"],["00:00-24:00"],["00:00-24:00"],["00:00-24:00"],["00:00-24:00"]]', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  (2, '平日 9:00-18:00 (祝日休み)', 'Asia/Tokyo', '[["09:00-12:00","13:00-18:00"],["09:00-12:00","13:00-18:00"],["09:00-12:00","13:00-18:00"],["09:00-12:00","13:00-18:00"],["09:00-12:00","13:00-18:00"],[],[]]', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
INSERT INTO sla_policies (id, name, position, active, kind, priorities, category, team_id, response_minutes, resolution_minutes, calendar_id, warn_percent, mitigation_stops_resolution, created_at, updated_at) VALUES
  (1, 'P1 major incident', 10, 1, 'incident', 'P1', NULL, NULL, 15, 240, 1, 75, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  (2, 'P2 high', 20, 1, 'incident', 'P2', NULL, NULL, 30, 480, 1, 75, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  (3, 'P3 normal', 30, 1, 'incident', 'P3', NULL, NULL, 120, 1440, 2, 75, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  (4, 'P4 low', 40, 1, 'incident', 'P4', NULL, NULL, 480, 2400, 2, 75, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
