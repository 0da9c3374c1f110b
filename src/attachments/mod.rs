//! Attachments of tickets (logs, screenshots): size-limited uploads stored by content hash
//! under the data folder, downloaded as attachments, listed on the ticket's timeline.

pub mod model;
pub mod queries;
pub mod routes;
pub mod service;
