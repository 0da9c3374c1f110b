-- A list filtered by state and priority (the common "new P2" queue) seeks straight to its rows
-- newest first; with only (kind, status, id) or (kind, priority, id) it read past every row of
-- the other priorities or states (thousands at a million incidents).
CREATE INDEX tickets_kind_status_priority_idx ON tickets (kind, status, priority, id);
