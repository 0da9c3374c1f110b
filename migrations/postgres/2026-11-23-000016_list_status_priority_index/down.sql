CREATE INDEX tickets_kind_priority_id_idx ON tickets (kind, priority, id);
DROP INDEX tickets_kind_status_priority_idx;
