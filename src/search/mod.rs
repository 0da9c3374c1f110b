//! One search over every kind of record (issue 12): `/search` (the header's search box and its
//! results page) and `GET /api/v1/search`. The matching rules are `tickets::search` (normalised,
//! all words required, phrases, one- and two-character words through the gram index), the same
//! as the incident list's `q`. A kind plugs in through [`service::Kind`]: its name, the
//! permission that lets a user see it, what "open" means for it, and the source that finds it.
//! Tickets (incidents, problems, later changes) share one source over `ticket_search`; records
//! that are not tickets (CIs, knowledge articles) will bring their own (see docs/ARCHITECTURE.md).

pub mod routes;
pub mod service;
