//! The use cases: back up, verify an archive (the restore test), restore, export and import.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use sha2::{Digest, Sha256};

use super::model::{Manifest, MANIFEST_FILE, METHOD_PORTABLE, METHOD_SQLITE, PORTABLE_FILE, SQLITE_FILE};
use super::portable;
use super::rules::first_count_mismatch;
use crate::audit::model::Actor;
use crate::db::{backend_of, write_transaction, Backend, DatabaseUrl, DbConnection};
use crate::error::AppError;

pub const MANIFEST_FORMAT: u32 = 1;

/// What `backup` made.
#[derive(Debug, Clone)]
pub struct Made {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub size_bytes: u64,
}

/// A scratch folder under the system's temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(prefix: &str) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", crate::auth::tokens::random_hex(8)));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Every file under `root`, as paths relative to it with `/` separators.
fn files_under(root: &Path) -> anyhow::Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                out.push(
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort();
    Ok(out)
}

fn blob_rel(sha: &str) -> String {
    format!("attachments/{}/{}/{sha}", &sha[0..2], &sha[2..4])
}

fn sqlite_string(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', "''"))
}

fn open_sqlite(path: &Path) -> anyhow::Result<DbConnection> {
    crate::db::connect(&DatabaseUrl::Sqlite(path.to_path_buf()))
        .map_err(|e| anyhow!("cannot open {}: {e}", path.display()))
}

fn attachment_shas(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    Ok(portable::rows(conn, "attachments")?
        .into_iter()
        .filter_map(|r| r.get("sha256").and_then(|v| v.as_str()).map(str::to_string))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect())
}

/// Writes one consistent archive of the database and its attachments into `to_dir`.
/// SQLite: `VACUUM INTO`, which reads one snapshot while the app keeps writing. PostgreSQL:
/// the portable export in one repeatable-read snapshot.
pub fn backup(conn: &mut DbConnection, data_dir: &Path, to_dir: &Path, now: NaiveDateTime) -> anyhow::Result<Made> {
    portable::check_table_list(conn)?;
    std::fs::create_dir_all(to_dir).with_context(|| format!("cannot create {}", to_dir.display()))?;
    let name = format!("mamori-backup-{}", now.format("%Y%m%dT%H%M%SZ"));
    let mut path = to_dir.join(&name);
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = to_dir.join(format!("{name}-{n}"));
    }
    let partial = to_dir.join(format!(".{name}.partial-{}", crate::auth::tokens::random_hex(4)));
    std::fs::create_dir_all(&partial)?;
    let result = write_archive(conn, data_dir, &partial, now);
    match result {
        Ok(manifest) => {
            std::fs::rename(&partial, &path)?;
            let size_bytes = files_under(&path)?
                .iter()
                .map(|f| std::fs::metadata(path.join(f)).map(|m| m.len()).unwrap_or(0))
                .sum();
            Ok(Made {
                path,
                manifest,
                size_bytes,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(e)
        }
    }
}

fn write_archive(conn: &mut DbConnection, data_dir: &Path, dir: &Path, now: NaiveDateTime) -> anyhow::Result<Manifest> {
    let backend = backend_of(conn);
    let (method, schema_migration, tables, ticket_numbers, shas) = match backend {
        Backend::Sqlite => {
            let file = dir.join(SQLITE_FILE);
            conn.batch_execute(&format!("VACUUM INTO {}", sqlite_string(&file)))
                .context("VACUUM INTO")?;
            let mut copy = open_sqlite(&file)?;
            copy.batch_execute("PRAGMA journal_mode = DELETE")?;
            let facts = (
                portable::latest_migration(&mut copy)?,
                portable::counts(&mut copy)?,
                portable::ticket_numbers(&mut copy)?,
                attachment_shas(&mut copy)?,
            );
            drop(copy);
            (METHOD_SQLITE, facts.0, facts.1, facts.2, facts.3)
        }
        Backend::Postgres => {
            let mut out = BufWriter::new(File::create(dir.join(PORTABLE_FILE))?);
            let (header, shas) = portable::write_export(conn, &mut out, None)?;
            (
                METHOD_PORTABLE,
                header.schema_migration,
                header.tables,
                header.ticket_numbers,
                shas.into_iter().collect(),
            )
        }
    };
    for sha in &shas {
        let from = crate::attachments::service::blob_path(data_dir, sha);
        let to = crate::attachments::service::blob_path(dir, sha);
        std::fs::create_dir_all(to.parent().expect("blob folder"))?;
        std::fs::copy(&from, &to)
            .with_context(|| format!("attachment {sha} is missing from the data folder ({})", from.display()))?;
    }
    let mut files = BTreeMap::new();
    for rel in files_under(dir)? {
        files.insert(rel.clone(), sha256_file(&dir.join(&rel))?);
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        mamori_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: crate::db::utc::format(&now),
        backend: format!("{backend:?}").to_lowercase(),
        method: method.to_string(),
        schema_migration,
        tables,
        ticket_numbers,
        attachments: shas.len(),
        files,
    };
    std::fs::write(dir.join(MANIFEST_FILE), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(manifest)
}

pub fn read_manifest(archive: &Path) -> anyhow::Result<Manifest> {
    let path = archive.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("{MANIFEST_FILE}: cannot read {}", path.display()))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).with_context(|| format!("{MANIFEST_FILE}: not valid"))?;
    if manifest.format != MANIFEST_FORMAT {
        bail!("{MANIFEST_FILE}: format {} is not supported", manifest.format);
    }
    Ok(manifest)
}

/// Checks that every file the manifest lists is there with its checksum, and nothing else is.
pub fn check_files(archive: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    for (rel, want) in &manifest.files {
        let path = archive.join(rel);
        if !path.is_file() {
            bail!("{rel}: missing from the archive");
        }
        if &sha256_file(&path)? != want {
            bail!("{rel}: checksum differs from the manifest (the file was changed or damaged)");
        }
    }
    for rel in files_under(archive)? {
        if rel != MANIFEST_FILE && !manifest.files.contains_key(&rel) {
            bail!("{rel}: not in the manifest");
        }
    }
    Ok(())
}

/// The restore test: checks every file, restores the database into a scratch SQLite file
/// (a SQLite archive's copy is opened as it is; a portable export is loaded into a freshly
/// migrated one) and compares its row counts with the manifest, and checks that every
/// attachment the restored rows reference is in the archive. The error names the first
/// difference.
pub fn verify(archive: &Path) -> anyhow::Result<Manifest> {
    let manifest = read_manifest(archive)?;
    check_files(archive, &manifest)?;
    let scratch = Scratch::new("mamori-verify")?;
    let db = scratch.0.join("restore-test.db");
    let mut conn = match manifest.method.as_str() {
        METHOD_SQLITE => {
            std::fs::copy(archive.join(SQLITE_FILE), &db)?;
            let mut conn = open_sqlite(&db)?;
            #[derive(diesel::QueryableByName)]
            struct Check {
                #[diesel(sql_type = diesel::sql_types::Text)]
                integrity_check: String,
            }
            let check = diesel::RunQueryDsl::load::<Check>(diesel::sql_query("PRAGMA integrity_check"), &mut conn)
                .map_err(|e| anyhow!("{SQLITE_FILE}: not a readable database: {e}"))?;
            if check.first().map(|c| c.integrity_check.as_str()) != Some("ok") {
                bail!("{SQLITE_FILE}: SQLite's integrity check failed");
            }
            conn
        }
        METHOD_PORTABLE => {
            let mut conn = open_sqlite(&db)?;
            crate::db::run_migrations(&mut conn)?;
            let input = BufReader::new(File::open(archive.join(PORTABLE_FILE))?);
            crate::db::write_transaction(&mut conn, |conn| {
                portable::clear_for_load(conn)?;
                portable::read_export(conn, input, None)
            })
            .with_context(|| format!("{PORTABLE_FILE}: the restore failed"))?;
            conn
        }
        other => bail!("{MANIFEST_FILE}: unknown method {other}"),
    };
    let found = manifest
        .tables
        .keys()
        .map(|t| Ok((t.clone(), portable::count(&mut conn, t)?)))
        .collect::<anyhow::Result<BTreeMap<_, _>>>()
        .map_err(|e| anyhow!("restored database: {e}"))?;
    if let Some(mismatch) = first_count_mismatch(&manifest.tables, &found) {
        bail!("restored database: {mismatch}");
    }
    for sha in attachment_shas(&mut conn)? {
        if !manifest.files.contains_key(&blob_rel(&sha)) {
            bail!("attachment {sha}: referenced by the database but not in the archive");
        }
    }
    Ok(manifest)
}

/// Restores an archive into the configured database and data folder. Refuses a database that
/// holds data unless `force`, in which case its tables are dropped and created again (the
/// migrations down and up: the audit log's triggers are never switched off).
pub fn restore(
    conn: &mut DbConnection,
    data_dir: &Path,
    archive: &Path,
    force: bool,
    now: NaiveDateTime,
) -> anyhow::Result<Manifest> {
    let manifest = read_manifest(archive)?;
    check_files(archive, &manifest)?;
    prepare_target(conn, force)?;
    let scratch = Scratch::new("mamori-restore")?;
    let mut source = match manifest.method.as_str() {
        METHOD_SQLITE => {
            let db = scratch.0.join("source.db");
            std::fs::copy(archive.join(SQLITE_FILE), &db)?;
            let mut source = open_sqlite(&db)?;
            // An archive of an older Mamori is brought to this version's schema first.
            crate::db::run_migrations(&mut source)?;
            Some(source)
        }
        METHOD_PORTABLE => None,
        other => bail!("{MANIFEST_FILE}: unknown method {other}"),
    };
    crate::db::write_transaction(conn, |conn| {
        portable::clear_for_load(conn)?;
        match source.as_mut() {
            Some(source) => portable::copy_rows(source, conn)?,
            None => {
                let input = BufReader::new(File::open(archive.join(PORTABLE_FILE))?);
                portable::read_export(conn, input, None)?;
            }
        }
        portable::after_load(conn, &manifest.ticket_numbers)?;
        let counts = portable::counts(conn)?;
        if let Some(mismatch) = first_count_mismatch(&manifest.tables, &counts) {
            bail!("restored database: {mismatch}");
        }
        audit(conn, now, "backup.restore", &manifest.created_at, &counts)?;
        Ok(())
    })?;
    for (rel, _) in manifest.files.iter().filter(|(rel, _)| rel.starts_with("attachments/")) {
        let sha = rel.rsplit('/').next().unwrap_or_default();
        let bytes = std::fs::read(archive.join(rel))?;
        portable::put_blob(data_dir, sha, &bytes)?;
    }
    Ok(manifest)
}

/// Migrates the target; a database in use is refused, or with `force` emptied by running the
/// migrations down and up again.
fn prepare_target(conn: &mut DbConnection, force: bool) -> anyhow::Result<()> {
    crate::db::run_migrations(conn)?;
    if portable::holds_data(conn)? {
        if !force {
            bail!(
                "the database already holds data (users, tickets or audit records); use --force to replace all of it"
            );
        }
        crate::db::revert_all_migrations(conn)?;
        crate::db::run_migrations(conn)?;
    }
    Ok(())
}

fn audit(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    action: &str,
    source: &str,
    counts: &BTreeMap<String, i64>,
) -> Result<(), AppError> {
    crate::audit::service::record(
        conn,
        &Actor::system("cli"),
        now,
        action,
        "database",
        "*",
        None::<&()>,
        Some(&serde_json::json!({ "source": source, "tables": counts })),
    )
}

/// `mamori export`: the whole database and every attachment as one portable file.
pub fn export(conn: &mut DbConnection, data_dir: &Path, file: &Path) -> anyhow::Result<BTreeMap<String, i64>> {
    let tmp = file.with_extension(format!("partial-{}", crate::auth::tokens::random_hex(4)));
    let written = (|| {
        let mut out = BufWriter::new(File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?);
        let (header, _) = portable::write_export(conn, &mut out, Some(data_dir))?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok::<_, anyhow::Error>(header)
    })();
    match written {
        Ok(header) => {
            std::fs::rename(&tmp, file)?;
            Ok(header.tables)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// `mamori import`: loads a portable export into the configured database (either backend)
/// and its attachments into the data folder. One transaction: all or nothing.
pub fn import(
    conn: &mut DbConnection,
    data_dir: &Path,
    file: &Path,
    force: bool,
    now: NaiveDateTime,
) -> anyhow::Result<BTreeMap<String, i64>> {
    prepare_target(conn, force)?;
    let input = BufReader::new(File::open(file).with_context(|| format!("cannot read {}", file.display()))?);
    crate::db::write_transaction(conn, |conn| {
        portable::clear_for_load(conn)?;
        let header = portable::read_export(conn, input, Some(data_dir))?;
        portable::after_load(conn, &header.ticket_numbers)?;
        let counts = portable::counts(conn)?;
        if let Some(mismatch) = first_count_mismatch(&header.tables, &counts) {
            bail!("imported database: {mismatch}");
        }
        audit(conn, now, "database.import", &file.to_string_lossy(), &counts)?;
        Ok(counts)
    })
}

/// Saves the backup settings after checking each field; audited with the before and after.
pub fn update_settings(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: &super::model::SettingsInput,
) -> Result<super::model::BackupSettings, AppError> {
    use super::model::MAX_KEEP;
    use crate::error::{FieldErrors, FieldMessage};
    let mut errors = FieldErrors::new();
    if super::rules::parse_time_of_day(&input.time_of_day).is_none() {
        errors.add("time_of_day", FieldMessage::new("backup-error-time-of-day"));
    }
    if input.time_zone.trim().parse::<chrono_tz::Tz>().is_err() {
        errors.add("time_zone", FieldMessage::new("error-timezone-invalid"));
    }
    let target = input.target_dir.trim();
    if !target.is_empty() && (!Path::new(target).is_absolute() || target.chars().any(char::is_control)) {
        errors.add("target_dir", FieldMessage::new("backup-error-target-dir"));
    }
    for (field, value) in [("keep_daily", input.keep_daily), ("keep_weekly", input.keep_weekly)] {
        if !(0..=MAX_KEEP).contains(&value) {
            errors.add(
                field,
                FieldMessage::new("backup-error-keep").with("max", i64::from(MAX_KEEP)),
            );
        }
    }
    if let Some(team) = input.alert_team_id {
        if crate::teams::queries::existing_ids(conn, &[team])?.is_empty() {
            errors.add("alert_team_id", FieldMessage::new("error-team-unknown"));
        }
    }
    errors.into_result()?;
    write_transaction(conn, |conn| {
        let before = super::queries::settings(conn)?;
        super::queries::update_settings(
            conn,
            input.enabled,
            input.time_of_day.trim(),
            input.time_zone.trim(),
            target,
            input.keep_daily,
            input.keep_weekly,
            input.alert_team_id,
            now,
        )?;
        let after = super::queries::settings(conn)?;
        crate::audit::service::record(
            conn,
            actor,
            now,
            "backup.settings",
            "backup_settings",
            1,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}
