//! Backups, restore tests and moving between databases (issue 19).
//!
//! A backup is one folder, `mamori-backup-<UTC time>/`, holding the database, the attachments
//! it references and a `manifest.json` with counts and a SHA-256 of every file:
//! - SQLite: `database.sqlite`, a consistent copy made by `VACUUM INTO` while the app serves.
//! - PostgreSQL: `database.jsonl`, Mamori's own portable export (JSON lines per table in
//!   dependency order, read in one repeatable-read snapshot). We chose it over `pg_dump`: it
//!   restores into any PostgreSQL version and into SQLite, so the restore test (`verify`) can
//!   run anywhere, and it is the same format `mamori export` / `mamori import` move between
//!   the backends.
//!
//! `verify` checks every file's checksum, then restores into a scratch SQLite file and compares
//! the row counts with the manifest. `restore` loads an archive into the configured database.
//!
//! Scheduled backups (`job`): administrators set them on `/admin/backups` (time of day in
//! their zone, target folder, N daily and M weekly archives kept); one instance of several
//! runs each through a lease, tests the restore of every archive, and a failure opens an
//! incident for the admin team.

pub mod api;
pub mod job;
pub mod model;
pub mod pages;
pub mod portable;
pub mod queries;
pub mod rules;
pub mod service;
