DROP INDEX tickets_text_trgm_idx;
