DROP INDEX tickets_kind_updated_idx;
