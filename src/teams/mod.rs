//! Teams: the groups tickets are assigned and escalated to.

pub mod api;
pub mod model;
pub mod pages;
pub mod queries;
pub mod service;
