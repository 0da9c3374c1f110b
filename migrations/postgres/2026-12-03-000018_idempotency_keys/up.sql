-- Idempotent creation (the IETF httpapi Idempotency-Key draft): the first response to a key,
-- per user, replayed for 24 hours. `status` is NULL while the first request is in progress.
-- `fingerprint` is the SHA-256 of the method, path and body: the same key with another request
-- is refused.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    response_body TEXT,
    location TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
-- Pruning expired keys.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Uploads: the running total of attachment bytes (the storage quota is checked against this one
-- row, never by adding up the table), and each person's recent uploads (the rate limit reads at
-- most the last N of them through this index).
CREATE TABLE storage_usage (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    bytes BIGINT NOT NULL
);
INSERT INTO storage_usage (id, bytes) SELECT 1, COALESCE(SUM(size_bytes), 0) FROM attachments;
CREATE INDEX attachments_uploader_idx ON attachments (uploaded_by, created_at);
-- Uploads add to the total in their transaction; rows removed with their ticket give it back.
CREATE FUNCTION attachments_storage_released() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE storage_usage SET bytes = bytes - OLD.size_bytes WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER attachments_storage_released AFTER DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION attachments_storage_released();
