//! SLA: business calendars (working hours, time zone, Japanese and company holidays), policies
//! (targets per kind and priority), and each ticket's response and resolution clocks derived
//! from its status history.

pub mod api;
pub mod holidays;
pub mod ics;
pub mod job;
pub mod model;
pub mod pages;
pub mod queries;
pub mod rules;
pub mod service;
pub mod settings;
