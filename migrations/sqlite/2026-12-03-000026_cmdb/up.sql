-- The CMDB (issue 15): configuration items of admin-extensible classes, typed relationships
-- between them (with redundant groups), and the CIs a ticket affects.
CREATE TABLE ci_classes (
    id INTEGER PRIMARY KEY,
    -- snake_case, shown through the locale files for the built-in ten.
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO ci_classes (name, created_at) VALUES
    ('business_service', CURRENT_TIMESTAMP),
    ('application', CURRENT_TIMESTAMP),
    ('database', CURRENT_TIMESTAMP),
    ('middleware', CURRENT_TIMESTAMP),
    ('server', CURRENT_TIMESTAMP),
    ('virtual_machine', CURRENT_TIMESTAMP),
    ('container', CURRENT_TIMESTAMP),
    ('network_device', CURRENT_TIMESTAMP),
    ('storage', CURRENT_TIMESTAMP),
    ('other', CURRENT_TIMESTAMP);

-- diesel's 16-column tables: what lists filter on lives here, the rest in ci_details.
CREATE TABLE cis (
    id INTEGER PRIMARY KEY,
    class_id BIGINT NOT NULL REFERENCES ci_classes (id),
    name TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('production', 'staging', 'development')),
    criticality INTEGER NOT NULL CHECK (criticality BETWEEN 1 AND 4),
    status TEXT NOT NULL CHECK (status IN ('planned', 'active', 'maintenance', 'retired')),
    owner_team_id BIGINT REFERENCES teams (id),
    location TEXT NOT NULL,
    host_name TEXT NOT NULL,
    -- Comma-separated, as typed (normalised to ", ").
    ip_addresses TEXT NOT NULL,
    software_name TEXT NOT NULL,
    software_version TEXT NOT NULL,
    -- End of support (EOS/EOL), YYYY-MM-DD.
    support_ends_on TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (class_id, name)
);
CREATE INDEX cis_status_idx ON cis (status, id);
CREATE INDEX cis_owner_team_idx ON cis (owner_team_id, id);
CREATE INDEX cis_software_idx ON cis (software_name, software_version);
CREATE INDEX cis_support_ends_idx ON cis (support_ends_on);

CREATE TABLE ci_details (
    ci_id BIGINT PRIMARY KEY REFERENCES cis (id) ON DELETE CASCADE,
    os_family TEXT NOT NULL,
    os_release TEXT NOT NULL,
    vendor TEXT NOT NULL,
    -- Free attributes: a JSON object of text keys to text values.
    attributes TEXT NOT NULL,
    notes TEXT NOT NULL
);

-- A redundant group: edges from one CI to the members of a cluster ("app X runs_on {node1,
-- node2}, redundant"). Impact passes through it only when every member is down.
CREATE TABLE ci_redundancy_groups (
    id INTEGER PRIMARY KEY,
    from_id BIGINT NOT NULL REFERENCES cis (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (from_id, name)
);

-- from_id depends on to_id (depends_on, runs_on, connected_to, part_of).
CREATE TABLE ci_relationships (
    id INTEGER PRIMARY KEY,
    from_id BIGINT NOT NULL REFERENCES cis (id) ON DELETE CASCADE,
    to_id BIGINT NOT NULL REFERENCES cis (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('depends_on', 'runs_on', 'connected_to', 'part_of')),
    redundancy_group_id BIGINT REFERENCES ci_redundancy_groups (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    CHECK (from_id <> to_id),
    UNIQUE (from_id, to_id, kind)
);
-- Impact walks edges by their target: one index-only read per frontier.
CREATE INDEX ci_relationships_to_idx ON ci_relationships (to_id, from_id, redundancy_group_id);
CREATE INDEX ci_relationships_group_idx ON ci_relationships (redundancy_group_id);

-- The CIs a ticket affects. A CI that tickets name cannot be deleted (retire it instead).
CREATE TABLE ticket_cis (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    ci_id BIGINT NOT NULL REFERENCES cis (id),
    added_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, ci_id)
);
CREATE INDEX ticket_cis_ci_idx ON ticket_cis (ci_id);
