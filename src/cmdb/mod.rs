//! The CMDB (issue 15): configuration items of admin-extensible classes, with the history of
//! every field change read from the audit log.

pub mod api;
pub mod impact;
pub mod model;
pub mod pages;
pub mod queries;
pub mod rules;
pub mod service;
