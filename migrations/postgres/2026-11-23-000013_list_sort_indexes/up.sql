-- The incident lists' orders, each read from an index in order: "recently updated" backwards,
-- "priority" (P1 first, oldest first within) forwards.
CREATE INDEX tickets_kind_updated_idx ON tickets (kind, updated_at, id);
CREATE INDEX tickets_kind_priority_id_idx ON tickets (kind, priority, id);
