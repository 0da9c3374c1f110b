-- Scheduled backups (issue 19): the administrators' settings (one row), every run with its
-- archive, size, duration, result and restore test, and the lease that lets one instance of
-- several run a scheduled job.
CREATE TABLE backup_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled BOOLEAN NOT NULL,
    -- HH:MM in `time_zone`.
    time_of_day TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    -- Empty: `<data dir>/backups`.
    target_dir TEXT NOT NULL,
    keep_daily INTEGER NOT NULL,
    keep_weekly INTEGER NOT NULL,
    -- The team a failed backup or restore test is reported to; NULL: the first admin's team.
    alert_team_id BIGINT REFERENCES teams (id) ON DELETE SET NULL,
    -- The incident opened for the last failure: further failures comment on it while it is open.
    failure_incident_id BIGINT,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO backup_settings (id, enabled, time_of_day, time_zone, target_dir, keep_daily, keep_weekly, updated_at)
VALUES (1, 0, '02:00', 'Asia/Tokyo', '', 7, 4, CURRENT_TIMESTAMP);

CREATE TABLE backup_runs (
    id INTEGER PRIMARY KEY,
    -- `scheduled` or `manual`.
    kind TEXT NOT NULL,
    -- The scheduled instant a scheduled run is for: at most one run per instant.
    slot_at TIMESTAMP,
    holder TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    archive_path TEXT,
    size_bytes BIGINT,
    duration_ms BIGINT,
    -- `running`, `succeeded` or `failed`.
    result TEXT NOT NULL,
    -- `pending`, `passed`, `failed` or `skipped` (the backup itself failed).
    verification TEXT NOT NULL,
    error TEXT,
    -- When retention removed the archive from disk.
    pruned_at TIMESTAMP
);
CREATE UNIQUE INDEX backup_runs_slot_key ON backup_runs (slot_at);
CREATE INDEX backup_runs_started_idx ON backup_runs (started_at);

-- A job's lease: taken with a conditional UPDATE (free, expired, or already ours), so one
-- instance of several runs the job at a time.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT,
    expires_at TIMESTAMP NOT NULL
);
INSERT INTO job_leases (name, holder, expires_at) VALUES ('backup', NULL, '1970-01-01 00:00:00');

-- Retention: how long each kind of record is kept (days; 0: for ever), one row per kind that an
-- administrator set (a kind without a row keeps its default, src/retention/rules.rs), and what
-- each run of the pruning job removed (counts per table, JSON).
CREATE TABLE retention_periods (
    name TEXT PRIMARY KEY,
    days INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE retention_runs (
    id INTEGER PRIMARY KEY,
    holder TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    counts TEXT NOT NULL,
    error TEXT
);
CREATE INDEX retention_runs_started_idx ON retention_runs (started_at);
INSERT INTO job_leases (name, holder, expires_at) VALUES ('retention', NULL, '1970-01-01 00:00:00');

-- Pruning the audit log keeps its chain verifiable: each batch first writes an anchor (the id
-- and hash of the last row it removes), and `audit verify` starts from the newest anchor. Rows
-- may be deleted only at or below an anchor, so only the oldest end of the log; a row removed
-- anywhere else is refused, and if the triggers were dropped the walk finds the broken link.
-- Anchors themselves are append-only.
CREATE TABLE audit_prune_anchors (
    id INTEGER PRIMARY KEY,
    pruned_through_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL,
    pruned_at TIMESTAMP NOT NULL
);
CREATE TRIGGER audit_prune_anchors_no_update BEFORE UPDATE ON audit_prune_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit_prune_anchors is append-only');
END;
CREATE TRIGGER audit_prune_anchors_no_delete BEFORE DELETE ON audit_prune_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit_prune_anchors is append-only');
END;
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_prune_anchors WHERE pruned_through_id >= OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
