//! Problem management (問題管理): the unknown cause behind one or more incidents, from
//! investigation to known error to a permanent fix.

pub mod api;
pub mod model;
pub mod pages;
pub mod queries;
pub mod rules;
pub mod service;
