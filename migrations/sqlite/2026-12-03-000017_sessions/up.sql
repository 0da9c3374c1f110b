-- Server-side sessions: the cookie carries a random id, kept here only as its SHA-256, so a
-- session ends for good at logout, after its absolute lifetime, or when an administrator ends
-- the user's sessions. Ending a user's sessions replaces the per-user session_version counter.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_user_idx ON sessions (user_id, ended_at);

ALTER TABLE users DROP COLUMN session_version;
