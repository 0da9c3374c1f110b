//! Incidents: the incident flow (first response → escalation → recovery → resolution) on
//! the shared ticket core.

pub mod api;
pub mod model;
pub mod pages;
pub mod queries;
pub mod rules;
pub mod service;
