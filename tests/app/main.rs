//! The integration test binary: the real app, a real database (SQLite and PostgreSQL), real
//! HTTP, a real browser. Each test runs once per backend through `on_both!`.

mod support;

mod archiving;
mod attachments;
mod audit_chain;
mod auth;
mod backups;
mod browser;
mod cli;
mod cmdb;
mod database;
mod escalation;
mod hardening_faults;
mod hardening_input;
mod hardening_sessions;
mod i18n;
mod incidents;
mod json_bodies;
mod mail_in;
mod mail_out;
mod metrics;
mod openapi;
mod operations;
mod permissions;
mod postmortems;
mod problems;
mod reports;
mod search;
mod sla;
mod ticket_core;
mod ticket_shared;
mod users;
