//! Incoming mail (the rt-mailgate convention): `mamori mailgate` posts one raw message to
//! `POST /api/v1/inbound-mail`; the message is stored first (`mail_inbound` row and the raw file
//! `<data dir>/mail/inbound/<sha256>.eml`), so none is ever lost, then processed: a reply becomes
//! a timeline comment (threaded by our Message-IDs, then by the `[INC-000123]` subject token), a
//! new message a new incident (channel `mail`), noise (auto-replies, bounces, lists, our own mail)
//! is kept and listed for admins with its reason.
//!
//! `parse.rs` reads the MIME message, `rules.rs` holds the pure decisions (noise, subject tokens,
//! quote trimming), `service.rs` the use cases (receive, process, re-process), `api.rs` and
//! `pages.rs` the handlers.

pub mod api;
pub mod model;
pub mod pages;
pub mod parse;
pub mod queries;
pub mod rules;
pub mod service;
