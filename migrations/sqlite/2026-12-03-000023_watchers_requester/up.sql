-- The requester: the person a ticket is for, distinct from who filed it (tickets.reporter_id);
-- a user, or a plain address for someone without an account. One row per ticket that has one,
-- beside `tickets` (as `incidents` is): diesel's 16-column tables are kept and `tickets` has 16.
CREATE TABLE ticket_requesters (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id),
    user_id BIGINT REFERENCES users (id),
    email TEXT,
    CHECK (user_id IS NOT NULL OR email IS NOT NULL)
);
-- "Tickets I asked for": from the user's side.
CREATE INDEX ticket_requesters_user_idx ON ticket_requesters (user_id);

-- People who follow a ticket and get its notifications (`tickets::watchers::audience`).
CREATE TABLE ticket_watchers (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    added_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
-- "What do I watch": from the user's side.
CREATE INDEX ticket_watchers_user_idx ON ticket_watchers (user_id);
