-- Post-mortems (事後対応と再発防止): one per incident, with action items.
CREATE TABLE postmortems (
    id INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'published')),
    -- The report's sections (summary, impact, detection, root cause, resolution, timeline,
    -- what went well / badly / where we were lucky) as one JSON object: a document, never filtered on.
    sections TEXT NOT NULL,
    impact_started_at TIMESTAMP NOT NULL,
    impact_mitigated_at TIMESTAMP,
    impact_resolved_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP
);
CREATE UNIQUE INDEX postmortems_incident_key ON postmortems (incident_id);

CREATE TABLE action_items (
    id INTEGER PRIMARY KEY,
    postmortem_id BIGINT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    owner_id BIGINT NOT NULL REFERENCES users (id),
    due_on TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'done')),
    problem_id BIGINT REFERENCES tickets (id),
    created_at TIMESTAMP NOT NULL,
    done_at TIMESTAMP
);
CREATE INDEX action_items_owner_idx ON action_items (owner_id, status, due_on);
CREATE INDEX action_items_postmortem_idx ON action_items (postmortem_id);
