//! Mail. Outgoing: the durable outbox (`outbox`), written in the transaction of the change that
//! causes a mail (`service`, fed by `notifications::notify`); the background sender
//! (`sender`); wording and MIME (`templates`); pure rules (`rules`); each user's mail
//! preferences (`api`). Shared by both directions: `threading`, the Message-IDs we set and how a
//! reply finds its ticket again. Incoming: `inbound`, the mailgate, replies into timelines and
//! new tickets from mail.

pub mod api;
pub mod inbound;
pub mod outbox;
pub mod rules;
pub mod sender;
pub mod service;
pub mod templates;
pub mod threading;
