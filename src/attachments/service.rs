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

/// Writes the bytes (once per content) and records the attachment on the ticket.
pub fn store(
    conn: &mut DbConnection,
    data_dir: &Path,
    actor: &Actor,
    now: NaiveDateTime,
    ticket_id: i64,
    upload: &Upload,
) -> Result<Attachment, AppError> {
    // The ticket must exist before anything is written.
    crate::tickets::queries::find(conn, ticket_id)?;
    let sha256 = hex::encode(Sha256::digest(&upload.bytes));
    let path = blob_path(data_dir, &sha256);
    if !path.exists() {
        let dir = path.parent().expect("blob path has a folder");
        std::fs::create_dir_all(dir).map_err(AppError::internal)?;
        // Write to a temporary name, then rename: a reader never sees half a file.
        let tmp = dir.join(format!(".{sha256}.{}", crate::auth::tokens::random_hex(8)));
        std::fs::write(&tmp, &upload.bytes).map_err(AppError::internal)?;
        std::fs::rename(&tmp, &path).map_err(AppError::internal)?;
    }
    let id = write_transaction(conn, |conn| {
        let id = queries::insert(
            conn,
            &NewAttachment {
                ticket_id,
                filename: &upload.filename,
                content_type: &upload.content_type,
                size_bytes: upload.bytes.len() as i64,
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
        Ok::<_, AppError>(id)
    })?;
    Ok(queries::find(conn, id)?)
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
