//! Mamori's portable export: every table's rows as JSON lines, in dependency order, readable
//! and writable on either backend. The backend-specific SQL of backups lives here.
//!
//! Format: the first line is an [`ExportHeader`]; then one `{"table": …, "row": {…}}` per
//! row, tables in [`TABLES`] order; then (in `mamori export` files) one
//! `{"attachment": sha256, "base64": …}` per attachment blob.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::model::{ExportHeader, ExportLine};
use super::rules::{portable_value, ColumnKind, IN_USE_TABLES, TABLES};
use crate::db::{backend_of, Backend, DbConnection};
use crate::tickets::model::Kind;

pub const FORMAT: u32 = 1;
const KINDS: [Kind; 3] = [Kind::Incident, Kind::Problem, Kind::Change];
/// Rows per INSERT statement on load.
const CHUNK: usize = 500;

pub type Row = Map<String, Value>;

#[derive(diesel::QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    v: String,
}

#[derive(diesel::QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    declared: String,
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn texts(conn: &mut DbConnection, sql: &str) -> diesel::QueryResult<Vec<String>> {
    Ok(diesel::sql_query(sql)
        .load::<TextRow>(conn)?
        .into_iter()
        .map(|r| r.v)
        .collect())
}

/// The tables of the connected database that hold data (no migration bookkeeping, no SQLite
/// internals, no FTS5 index tables (`*_fts_*`), which triggers rebuild from `ticket_search`).
pub fn database_tables(conn: &mut DbConnection) -> diesel::QueryResult<BTreeSet<String>> {
    let sql = match backend_of(conn) {
        Backend::Sqlite => {
            "SELECT name AS v FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '\\_\\_diesel%' ESCAPE '\\' AND name NOT LIKE '%\\_fts\\_%' ESCAPE '\\'"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS v FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_type = 'BASE TABLE' AND table_name <> '__diesel_schema_migrations'"
        }
    };
    Ok(texts(conn, sql)?.into_iter().collect())
}

/// Fails naming a table of the database that the backup's table list leaves out.
pub fn check_table_list(conn: &mut DbConnection) -> anyhow::Result<()> {
    for table in database_tables(conn)? {
        if !TABLES.contains(&table.as_str()) {
            bail!("table {table} is not in the backup's table list (src/backup/rules.rs)");
        }
    }
    Ok(())
}

pub fn columns(conn: &mut DbConnection, table: &str) -> diesel::QueryResult<Vec<(String, ColumnKind)>> {
    let sql = match backend_of(conn) {
        Backend::Sqlite => format!(
            "SELECT name AS name, type AS declared FROM pragma_table_info('{}') ORDER BY cid",
            table.replace('\'', "''")
        ),
        Backend::Postgres => format!(
            "SELECT column_name::text AS name, data_type::text AS declared FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{}' ORDER BY ordinal_position",
            table.replace('\'', "''")
        ),
    };
    Ok(diesel::sql_query(sql)
        .load::<ColumnRow>(conn)?
        .into_iter()
        .map(|c| (c.name, ColumnKind::from_declared(&c.declared)))
        .collect())
}

pub fn count(conn: &mut DbConnection, table: &str) -> diesel::QueryResult<i64> {
    Ok(diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {}", quote(table)))
        .get_result::<CountRow>(conn)?
        .n)
}

/// Rows per table of [`TABLES`].
pub fn counts(conn: &mut DbConnection) -> diesel::QueryResult<BTreeMap<String, i64>> {
    TABLES.iter().map(|t| Ok((t.to_string(), count(conn, t)?))).collect()
}

/// The latest applied migration's version (e.g. `20261123000016`).
pub fn latest_migration(conn: &mut DbConnection) -> diesel::QueryResult<String> {
    Ok(texts(conn, "SELECT MAX(version) AS v FROM __diesel_schema_migrations")?
        .pop()
        .unwrap_or_default())
}

/// The last ticket number handed out per kind.
pub fn ticket_numbers(conn: &mut DbConnection) -> diesel::QueryResult<BTreeMap<String, i64>> {
    KINDS
        .iter()
        .map(|k| Ok((k.as_str().to_string(), crate::tickets::queries::last_number(conn, *k)?)))
        .collect()
}

/// Whether the database is in use (any user, team, ticket or audit row).
pub fn holds_data(conn: &mut DbConnection) -> diesel::QueryResult<bool> {
    for table in IN_USE_TABLES {
        if count(conn, table)? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A table's rows in portable form, ordered by every column.
pub fn rows(conn: &mut DbConnection, table: &str) -> anyhow::Result<Vec<Row>> {
    let mut all = Vec::new();
    each_row(conn, table, |row| {
        all.push(row);
        Ok(())
    })?;
    Ok(all)
}

/// Hands a table's rows to `f` one at a time in portable form, ordered by every column,
/// without collecting the table in memory.
pub fn each_row(
    conn: &mut DbConnection,
    table: &str,
    mut f: impl FnMut(Row) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let cols = columns(conn, table)?;
    let order = cols.iter().map(|(c, _)| quote(c)).collect::<Vec<_>>().join(", ");
    let sql = match backend_of(conn) {
        Backend::Sqlite => {
            let pairs = cols
                .iter()
                .map(|(c, _)| format!("'{}', {}", c.replace('\'', "''"), quote(c)))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "SELECT json_object({pairs}) AS v FROM {} ORDER BY {order}",
                quote(table)
            )
        }
        Backend::Postgres => format!(
            "SELECT row_to_json(t)::text AS v FROM {} t ORDER BY {order}",
            quote(table)
        ),
    };
    let kinds: BTreeMap<&str, ColumnKind> = cols.iter().map(|(c, k)| (c.as_str(), *k)).collect();
    let found = diesel::sql_query(sql).load_iter::<TextRow, diesel::connection::DefaultLoadingMode>(conn)?;
    for text in found {
        let raw: Row = serde_json::from_str(&text?.v)?;
        let row = raw
            .into_iter()
            .map(|(c, v)| {
                let kind = kinds.get(c.as_str()).copied().unwrap_or(ColumnKind::Other);
                let v = portable_value(kind, v).map_err(|e| anyhow!("{table}.{c}: {e}"))?;
                Ok((c, v))
            })
            .collect::<anyhow::Result<Row>>()?;
        f(row)?;
    }
    Ok(())
}

/// Runs `f` in one read snapshot of the database (PostgreSQL: repeatable read; SQLite: one read
/// transaction, which in WAL mode does not hold writers up).
pub fn in_snapshot<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    conn.batch_execute(match backend_of(conn) {
        Backend::Sqlite => "BEGIN DEFERRED",
        Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    })?;
    let result = f(conn);
    let end = conn.batch_execute(if result.is_ok() { "COMMIT" } else { "ROLLBACK" });
    let value = result?;
    end?;
    Ok(value)
}

/// Writes the portable export of the database; with `blobs_from`, the attachment blobs too.
/// Returns the header and the attachment hashes the rows reference.
pub fn write_export(
    conn: &mut DbConnection,
    out: &mut impl Write,
    blobs_from: Option<&Path>,
) -> anyhow::Result<(ExportHeader, BTreeSet<String>)> {
    check_table_list(conn)?;
    in_snapshot(conn, |conn| {
        let header = ExportHeader {
            mamori_export: FORMAT,
            mamori_version: env!("CARGO_PKG_VERSION").to_string(),
            backend: format!("{:?}", backend_of(conn)).to_lowercase(),
            schema_migration: latest_migration(conn)?,
            tables: counts(conn)?,
            ticket_numbers: ticket_numbers(conn)?,
        };
        serde_json::to_writer(&mut *out, &header)?;
        out.write_all(b"\n")?;
        let mut shas = BTreeSet::new();
        for table in TABLES {
            each_row(conn, table, |row| {
                if *table == "attachments" {
                    if let Some(Value::String(sha)) = row.get("sha256") {
                        shas.insert(sha.clone());
                    }
                }
                serde_json::to_writer(
                    &mut *out,
                    &ExportLine::Row {
                        table: table.to_string(),
                        row,
                    },
                )?;
                out.write_all(b"\n")?;
                Ok(())
            })?;
        }
        if let Some(data_dir) = blobs_from {
            for sha in &shas {
                let path = crate::attachments::service::blob_path(data_dir, sha);
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("attachment {sha}: cannot read {}", path.display()))?;
                serde_json::to_writer(
                    &mut *out,
                    &ExportLine::Attachment {
                        attachment: sha.clone(),
                        base64: base64::engine::general_purpose::STANDARD.encode(bytes),
                    },
                )?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()?;
        Ok((header, shas))
    })
}

/// Loads rows into a database whose tables are empty of user data, table by table in
/// [`TABLES`] order, in chunks. Use inside one write transaction, after [`clear_for_load`].
pub struct Loader {
    table: Option<String>,
    columns: Vec<String>,
    pending: Vec<Row>,
    seen: BTreeSet<String>,
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    pub fn new() -> Self {
        Self {
            table: None,
            columns: vec![],
            pending: vec![],
            seen: BTreeSet::new(),
        }
    }

    pub fn push(&mut self, conn: &mut DbConnection, table: &str, row: Row) -> anyhow::Result<()> {
        if self.table.as_deref() != Some(table) {
            self.flush(conn)?;
            if !TABLES.contains(&table) {
                bail!("table {table} is not one Mamori knows");
            }
            if !self.seen.insert(table.to_string()) {
                bail!("table {table}: its rows are not together (out of order)");
            }
            self.columns = columns(conn, table)?.into_iter().map(|(c, _)| c).collect();
            self.table = Some(table.to_string());
        }
        if let Some(extra) = row.keys().find(|k| !self.columns.contains(k)) {
            bail!("table {table}: column {extra} does not exist in this database");
        }
        self.pending.push(row);
        if self.pending.len() >= CHUNK {
            self.flush(conn)?;
        }
        Ok(())
    }

    pub fn flush(&mut self, conn: &mut DbConnection) -> anyhow::Result<()> {
        let Some(table) = self.table.clone() else { return Ok(()) };
        if self.pending.is_empty() {
            return Ok(());
        }
        let json = serde_json::to_string(&self.pending)?;
        self.pending.clear();
        let sql = match backend_of(conn) {
            Backend::Sqlite => {
                let names = self.columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
                let values = self
                    .columns
                    .iter()
                    .map(|c| format!("json_extract(value, '$.\"{}\"')", c.replace('\'', "''")))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "INSERT INTO {} ({names}) SELECT {values} FROM json_each(?)",
                    quote(&table)
                )
            }
            Backend::Postgres => format!(
                "INSERT INTO {t} SELECT * FROM json_populate_recordset(NULL::{t}, $1::json)",
                t = quote(&table)
            ),
        };
        diesel::sql_query(sql)
            .bind::<Text, _>(json)
            .execute(conn)
            .with_context(|| format!("loading table {table}"))?;
        Ok(())
    }
}

/// Empties every table but the audit log (which must be empty already: it is append-only),
/// children first, so the rows a migration seeded (settings, counters) make way for the loaded ones.
pub fn clear_for_load(conn: &mut DbConnection) -> anyhow::Result<()> {
    if count(conn, "audit_log")? > 0 {
        bail!("the database holds audit records; only an empty database can be loaded");
    }
    for table in TABLES.iter().rev().filter(|t| **t != "audit_log") {
        conn.batch_execute(&format!("DELETE FROM {}", quote(table)))?;
    }
    Ok(())
}

/// After loading: identity sequences continue after the loaded ids (PostgreSQL), and ticket
/// numbers after the highest number loaded or handed out at the source.
pub fn after_load(conn: &mut DbConnection, source_numbers: &BTreeMap<String, i64>) -> anyhow::Result<()> {
    if backend_of(conn) == Backend::Postgres {
        let tables = texts(
            conn,
            "SELECT table_name::text AS v FROM information_schema.columns WHERE table_schema = current_schema() \
             AND is_identity = 'YES' AND column_name = 'id'",
        )?;
        for table in tables {
            let t = quote(&table);
            conn.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{}', 'id'), COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)",
                t.replace('\'', "''")
            ))?;
        }
    }
    for kind in KINDS {
        let loaded = diesel::sql_query(format!(
            "SELECT COALESCE(MAX(number), 0) AS n FROM tickets WHERE kind = '{}'",
            kind.as_str()
        ))
        .get_result::<CountRow>(conn)?
        .n;
        let last = loaded.max(source_numbers.get(kind.as_str()).copied().unwrap_or(0));
        let sql = crate::tickets::queries::set_last_number_sql(conn, kind, last);
        conn.batch_execute(&sql)?;
    }
    Ok(())
}

/// Writes an attachment blob into a data folder (temporary name, then rename), after checking
/// that its bytes have the hash it is stored under.
pub fn put_blob(data_dir: &Path, sha: &str, bytes: &[u8]) -> anyhow::Result<()> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("attachment {sha}: not a SHA-256");
    }
    if hex::encode(Sha256::digest(bytes)) != sha {
        bail!("attachment {sha}: its bytes do not match its hash");
    }
    let path = crate::attachments::service::blob_path(data_dir, sha);
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().expect("blob path has a folder");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{sha}.{}", crate::auth::tokens::random_hex(8)));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// Reads a portable export into `conn` (inside the caller's transaction). Attachment lines are
/// written into `blobs_to` when given. Returns the header.
pub fn read_export(
    conn: &mut DbConnection,
    input: impl BufRead,
    blobs_to: Option<&Path>,
) -> anyhow::Result<ExportHeader> {
    let mut lines = input.lines();
    let first = lines.next().ok_or_else(|| anyhow!("the export is empty"))??;
    let header: ExportHeader =
        serde_json::from_str(&first).map_err(|e| anyhow!("not a Mamori export (first line: {e})"))?;
    if header.mamori_export != FORMAT {
        bail!(
            "export format {} is not supported (this Mamori reads {FORMAT})",
            header.mamori_export
        );
    }
    let here = latest_migration(conn)?;
    if header.schema_migration != here {
        bail!(
            "the export's schema is at migration {}, this database at {here}: use the Mamori version that wrote it",
            header.schema_migration
        );
    }
    let mut loader = Loader::new();
    for (n, line) in lines.enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ExportLine>(&line).with_context(|| format!("line {}", n + 2))? {
            ExportLine::Row { table, row } => loader.push(conn, &table, row)?,
            ExportLine::Attachment { attachment, base64 } => {
                if let Some(dir) = blobs_to {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(base64)
                        .with_context(|| format!("attachment {attachment}"))?;
                    put_blob(dir, &attachment, &bytes)?;
                }
            }
        }
    }
    loader.flush(conn)?;
    Ok(header)
}

/// Copies every row of `from` into `to` (inside the caller's transaction on `to`).
pub fn copy_rows(from: &mut DbConnection, to: &mut DbConnection) -> anyhow::Result<()> {
    check_table_list(from)?;
    let mut loader = Loader::new();
    for table in TABLES {
        each_row(from, table, |row| loader.push(to, table, row))?;
    }
    loader.flush(to)
}
