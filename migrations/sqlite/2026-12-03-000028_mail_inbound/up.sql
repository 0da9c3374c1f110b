-- Incoming mail (the mailgate): every message is stored first, then processed, so none is lost.
CREATE TABLE mail_inbound (
    id INTEGER PRIMARY KEY,
    received_at TIMESTAMP NOT NULL,
    -- The gateway's token user.
    received_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- The raw message is the file <data dir>/mail/inbound/<sha256>.eml, written before this row.
    sha256 TEXT NOT NULL,
    from_address TEXT NOT NULL,
    from_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT NOT NULL,
    -- What the gateway asked for (`--team`, `--action`).
    team_id BIGINT REFERENCES teams (id) ON DELETE SET NULL,
    requested_action TEXT NOT NULL CHECK (requested_action IN ('', 'new', 'comment')),
    state TEXT NOT NULL CHECK (state IN ('received', 'processed', 'ignored', 'unparseable', 'failed')),
    outcome TEXT NOT NULL CHECK (outcome IN ('', 'comment', 'new_ticket', 'reopened', 'ignored', 'unparseable')),
    -- Why a message was ignored (`auto_submitted`, `bounce`, ...) or how it was matched.
    reason TEXT NOT NULL,
    ticket_id BIGINT REFERENCES tickets (id) ON DELETE SET NULL,
    -- An automatic message (auto-reply, bounce, list, our own): never answer it by mail.
    no_auto_reply BOOLEAN NOT NULL,
    error TEXT NOT NULL
);
CREATE INDEX mail_inbound_state_idx ON mail_inbound (state, id);
CREATE INDEX mail_inbound_ticket_idx ON mail_inbound (ticket_id);
