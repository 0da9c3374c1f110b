DROP INDEX tickets_deleted_idx;
