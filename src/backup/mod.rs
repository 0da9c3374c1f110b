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

pub mod model;
pub mod portable;
pub mod rules;
pub mod service;
