//! Retention (issue 19): records kept only as long as administrators set, pruned in batches
//! (never one long transaction), each run recorded with its counts per table.
//!
//! What can be pruned is one list, [`rules::PRUNABLE`]: each table with its time column and
//! default period. The audit log is pruned from its oldest end only, through
//! `audit::service::prune_batch`, which leaves an anchor so the hash chain stays verifiable.
//! The job runs once a day, on the backup job's thread, under the `retention` lease.

pub mod model;
pub mod queries;
pub mod rules;
pub mod service;
