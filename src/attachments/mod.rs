//! Attachments of tickets (logs, screenshots): size-limited uploads stored by content hash
//! under the data folder, downloaded as attachments, listed on the ticket's timeline. Each
//! person may upload `MAMORI_UPLOADS_PER_MINUTE` files a minute, all of them together
//! `MAMORI_STORAGE_QUOTA_MB`; only allow-listed content types are kept (`rules.rs`).

pub mod model;
pub mod queries;
pub mod routes;
pub mod rules;
pub mod service;
