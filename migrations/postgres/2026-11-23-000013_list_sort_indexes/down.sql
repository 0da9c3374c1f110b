DROP INDEX tickets_kind_priority_id_idx;
DROP INDEX tickets_kind_updated_idx;
