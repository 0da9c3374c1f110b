//! Attachment rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::attachments;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub id: i64,
    pub ticket_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: Option<i64>,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = attachments)]
pub struct NewAttachment<'a> {
    pub ticket_id: i64,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub uploaded_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// A received upload, already checked against the size limit.
pub struct Upload {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// An attachment as listed on a page, with its size in KiB (rounded up).
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentView {
    #[serde(flatten)]
    pub attachment: Attachment,
    pub size_kib: i64,
}

impl From<Attachment> for AttachmentView {
    fn from(attachment: Attachment) -> Self {
        let size_kib = (attachment.size_bytes + 1023) / 1024;
        Self { attachment, size_kib }
    }
}

/// A multipart upload (for the API description).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file.
    #[schema(content_media_type = "application/octet-stream")]
    file: Vec<u8>,
}
