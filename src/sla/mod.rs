//! SLA: business calendars (working hours, time zone, Japanese and company holidays), policies
//! (targets per kind and priority), and each ticket's response and resolution clocks derived
//! from its status history.

pub mod holidays;
pub mod rules;
