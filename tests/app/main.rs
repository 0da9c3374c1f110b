//! The integration test binary: the real app, a real database (SQLite and PostgreSQL), real
//! HTTP, a real browser. Each test runs once per backend through `on_both!`.

mod support;

mod attachments;
mod audit_chain;
mod auth;
mod browser;
mod cli;
mod database;
mod escalation;
mod i18n;
mod incidents;
mod json_bodies;
mod metrics;
mod permissions;
mod postmortems;
mod problems;
mod reports;
mod sla;
mod users;
