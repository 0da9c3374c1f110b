-- Tickets whose SLA clocks an admin change (policy, calendar, escalation levels) asked to be
-- recomputed when there were too many to do inside that change's transaction; the SLA job
-- takes them in batches, claiming each by deleting its row.
CREATE TABLE sla_recompute_queue (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE
);
