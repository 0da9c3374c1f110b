//! Mail. `threading`: the Message-IDs we set and how a reply finds its ticket again (shared by
//! both directions); `inbound`: the mailgate, replies into timelines and new tickets from mail.

pub mod inbound;
pub mod threading;
