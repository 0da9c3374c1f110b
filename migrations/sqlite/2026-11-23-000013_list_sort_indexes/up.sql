-- The "recently updated" order of the incident lists reads this index backwards. (The priority
-- order uses tickets_kind_priority_idx, whose entries SQLite keeps in rowid order within a key.)
CREATE INDEX tickets_kind_updated_idx ON tickets (kind, updated_at, id);
