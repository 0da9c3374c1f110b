-- The durable mail outbox: every mail is written here in the transaction of the change that
-- causes it; the sender (mail::sender) delivers it, retrying with backoff. A claim is a lease
-- (holder + expiry) taken by a conditional UPDATE, so with several instances each mail is sent
-- by one of them; an expired lease (a crashed sender) makes the mail claimable again.
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    ticket_id BIGINT REFERENCES tickets (id) ON DELETE SET NULL,
    ticket_reference TEXT,
    event TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT,
    token TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_holder TEXT,
    lease_expires_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_ticket_idx ON mail_outbox (ticket_id);

-- What a mail says: its parts as written, and the whole message fixed at the first attempt
-- (so every retry sends the same bytes and Message-ID).
CREATE TABLE mail_messages (
    mail_id BIGINT PRIMARY KEY REFERENCES mail_outbox (id) ON DELETE CASCADE,
    recipient_name TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    locale TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    body TEXT NOT NULL,
    message TEXT
);

-- Each delivery attempt and the SMTP server's reply (or the connection error).
CREATE TABLE mail_attempts (
    id INTEGER PRIMARY KEY,
    mail_id BIGINT NOT NULL REFERENCES mail_outbox (id) ON DELETE CASCADE,
    attempted_at TIMESTAMP NOT NULL,
    ok BOOLEAN NOT NULL,
    reply TEXT NOT NULL
);
CREATE INDEX mail_attempts_mail_idx ON mail_attempts (mail_id, id);

-- A user's choice per event kind; an event with no row follows the default (mail::rules).
CREATE TABLE mail_preferences (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, event)
);
