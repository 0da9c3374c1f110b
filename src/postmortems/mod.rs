//! Post-mortems (事後対応と再発防止): one blameless report per incident, drafted from the
//! incident's own record, reviewed, published; action items with owners and due dates.

pub mod api;
pub mod model;
pub mod pages;
pub mod queries;
pub mod rules;
pub mod service;
