//! Mamori: IT service management for the teams who keep systems running (運用保守).
//! See docs/ARCHITECTURE.md for the map of this crate.

pub mod attachments;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod health;
pub mod incidents;
pub mod kinds;
pub mod mail;
pub mod metrics;
pub mod notifications;
pub mod postmortems;
pub mod problems;
pub mod reports;
pub mod routes;
pub mod search;
pub mod server;
pub mod sla;
pub mod state;
pub mod teams;
pub mod tickets;
pub mod users;
pub mod web;
