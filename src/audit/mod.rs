//! The append-only audit log: who changed what, when, from where, before and after.
//! Services write it inside their own transaction (`service::record`); the database refuses
//! updates and deletes of its rows (triggers in the migrations).

pub mod api;
pub mod model;
pub mod pages;
pub mod queries;
pub mod rules;
pub mod service;
