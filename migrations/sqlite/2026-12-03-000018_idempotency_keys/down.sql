DROP TRIGGER attachments_storage_released;
DROP INDEX attachments_uploader_idx;
DROP TABLE storage_usage;
DROP INDEX idempotency_keys_created_idx;
DROP TABLE idempotency_keys;
