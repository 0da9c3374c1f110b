//! The ticket core every kind shares (ServiceNow's task table): number with a kind prefix,
//! title, description, state, priority, team, assignee, reporter, a version for optimistic
//! locking, and one timeline of events. Incidents (and later problems and changes) add their
//! own table and state machine on top.

pub mod kind;
pub mod model;
pub mod queries;
pub mod routes;
pub mod search;
pub mod service;
pub mod similarity;
pub mod watchers;
pub mod work;
pub mod work_routes;
