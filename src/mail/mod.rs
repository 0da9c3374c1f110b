//! Mail. Outgoing: the durable outbox (`outbox`), written in the transaction of the change that
//! causes a mail (`service`, fed by `notifications::notify`); the background sender
//! (`sender`); wording and MIME (`templates`); pure rules (`rules`); the Message-IDs shared
//! with incoming mail (`threading`); each user's mail preferences (`api`).

pub mod api;
pub mod outbox;
pub mod rules;
pub mod sender;
pub mod service;
pub mod templates;
pub mod threading;
