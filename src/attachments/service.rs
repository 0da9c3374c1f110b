//! Storing and recording attachments.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::model::{Attachment, NewAttachment, Upload};
use super::queries;
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::tickets::service::add_event;

/// Where a blob with this hash lives: `<data>/attachments/ab/cd/abcd…`.
pub fn blob_path(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir
        .join("attachments")
        .join(&sha256[0..2])
        .join(&sha256[2..4])
        .join(sha256)
}

/// A safe display name: no folders, no control characters, bounded.
pub fn clean_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "attachment".to_string()
    } else {
        cleaned
    }
}

/// The upload limits from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `MAMORI_UPLOADS_PER_MINUTE`: uploads one person may make in any 60 seconds.
    pub per_minute: i64,
    /// `MAMORI_STORAGE_QUOTA_MB` in bytes; `None`: no quota.
    pub quota_bytes: Option<i64>,
}

impl Limits {
    pub fn of(config: &crate::config::Config) -> Self {
        Self {
            per_minute: config.uploads_per_minute,
            quota_bytes: config.storage_quota_bytes,
        }
    }
}

/// Records the attachment on the ticket and writes its bytes (once per content), within the
/// person's upload rate (429) and the storage quota (507). Both are checked in the transaction
/// that records the upload, after the running total's row is updated: that row lock orders
/// concurrent uploads, so a burst cannot slip past either check. The file is written inside the
/// transaction too, so a refused upload leaves nothing on disk and a recorded one always has its
/// file.
pub fn store(
    conn: &mut DbConnection,
    data_dir: &Path,
    actor: &Actor,
    now: NaiveDateTime,
    ticket_id: i64,
    upload: &Upload,
    limits: Limits,
) -> Result<Attachment, AppError> {
    // The ticket must exist before anything is written.
    crate::tickets::queries::find(conn, ticket_id)?;
    let sha256 = hex::encode(Sha256::digest(&upload.bytes));
    let size = upload.bytes.len() as i64;
    let id = write_transaction(conn, |conn| {
        if !queries::add_to_storage(conn, size, limits.quota_bytes)? {
            let quota_mb = limits.quota_bytes.unwrap_or_default() / (1024 * 1024);
            return Err(AppError::InsufficientStorage(format!(
                "the storage quota for attachments ({quota_mb} MB, MAMORI_STORAGE_QUOTA_MB) is used up: \
                 delete attachments or raise the quota"
            )));
        }
        if let Some(user_id) = actor.user_id {
            let recent = queries::recent_uploads(conn, user_id, limits.per_minute)?;
            if let Some(retry_after_secs) = super::rules::retry_after(&recent, limits.per_minute, now) {
                return Err(AppError::TooManyRequests { retry_after_secs });
            }
        }
        let id = queries::insert(
            conn,
            &NewAttachment {
                ticket_id,
                filename: &upload.filename,
                content_type: &upload.content_type,
                size_bytes: size,
                sha256: &sha256,
                uploaded_by: actor.user_id,
                created_at: now,
            },
        )?;
        let data = json!({ "attachment_id": id, "filename": upload.filename, "size": upload.bytes.len() });
        add_event(
            conn,
            ticket_id,
            now,
            actor.user_id,
            "attachment",
            "internal",
            &upload.filename,
            Some(data.clone()),
        )?;
        // Activity on the ticket ("recently updated"), not an edit: the version stays.
        crate::tickets::queries::touch(conn, ticket_id, now)?;
        record(
            conn,
            actor,
            now,
            "attachment.create",
            "attachment",
            id,
            None::<&()>,
            Some(&data),
        )?;
        write_blob(data_dir, &sha256, &upload.bytes)?;
        Ok::<_, AppError>(id)
    })?;
    Ok(queries::find(conn, id)?)
}

/// Writes a blob unless its content is already stored: to a temporary name, then renamed, so
/// a reader never sees half a file.
fn write_blob(data_dir: &Path, sha256: &str, bytes: &[u8]) -> Result<(), AppError> {
    let path = blob_path(data_dir, sha256);
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().expect("blob path has a folder");
    std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    let tmp = dir.join(format!(".{sha256}.{}", crate::auth::tokens::random_hex(8)));
    std::fs::write(&tmp, bytes).map_err(AppError::internal)?;
    std::fs::rename(&tmp, &path).map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_made_safe() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\logs\\app.log"), "app.log");
        assert_eq!(clean_filename("障害ログ 2026-11-23.txt"), "障害ログ 2026-11-23.txt");
        assert_eq!(clean_filename("..."), "attachment");
        assert_eq!(clean_filename("a\"b\nc"), "abc");
    }
}
