//! People: users, their roles and teams, their preferences and personal API tokens.

pub mod api;
pub mod model;
pub mod pages;
pub mod queries;
pub mod rules;
pub mod service;
