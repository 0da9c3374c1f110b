-- The SLA report's figures per hour (UTC) of the reported time, team and priority, so a
-- year's report adds up a few thousand rows instead of joining a million tickets. Whole hours
-- because every report period starts at a midnight of the user's zone (whole-hour offsets;
-- other zones get the exact query from the tickets).
CREATE TABLE sla_rollup (
    bucket TIMESTAMP NOT NULL,
    -- 0 for tickets without a team (a primary key column cannot be NULL).
    team_id BIGINT NOT NULL,
    priority TEXT NOT NULL,
    tickets BIGINT NOT NULL,
    response_decided BIGINT NOT NULL,
    response_met BIGINT NOT NULL,
    resolution_decided BIGINT NOT NULL,
    resolution_met BIGINT NOT NULL,
    breaches BIGINT NOT NULL,
    -- Sums and counts, so averages over any set of buckets are exact.
    mtta_count BIGINT NOT NULL,
    mtta_business_sum BIGINT NOT NULL,
    mtta_wall_sum DOUBLE PRECISION NOT NULL,
    mttr_count BIGINT NOT NULL,
    mttr_business_sum BIGINT NOT NULL,
    mttr_wall_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (bucket, team_id, priority)
);

-- Hours whose figures changed since they were rolled up: every write to a ticket's SLA
-- figures (or its deletion) marks its hour here in the same transaction; the report adds
-- those hours up from the tickets, and the background job rolls them up again.
CREATE TABLE sla_rollup_dirty (
    bucket TIMESTAMP PRIMARY KEY
);

INSERT INTO sla_rollup_dirty (bucket) SELECT DISTINCT date_trunc('hour', reported_at) FROM incidents;
