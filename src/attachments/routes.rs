//! Reading uploads from multipart bodies and serving downloads (pages and API alike).

use actix_multipart::Multipart;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType, ExtendedValue};
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;

use super::model::Upload;
use super::{queries, service};
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::state::AppState;

fn field_error(key: &'static str, max_mb: Option<i64>) -> AppError {
    let mut message = FieldMessage::new(key);
    if let Some(mb) = max_mb {
        message = message.with("max", mb);
    }
    AppError::Validation(FieldErrors::single("file", message))
}

/// Reads the `file` field of a multipart body, refusing empty files and files over `limit`, and
/// other (text) fields holding a control character (`web::text`).
/// Past the limit the rest is read and dropped (up to twice the limit) so the client gets the
/// answer instead of a reset connection; anything larger is cut off.
pub async fn read_upload(mut payload: Multipart, limit: usize) -> Result<Upload, AppError> {
    let max_mb = (limit / (1024 * 1024)) as i64;
    let mut upload: Option<Upload> = None;
    let mut too_large = false;
    let mut seen = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| AppError::BadRequest(format!("malformed upload: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        let is_file = name == "file";
        // RFC 5987 `filename*` when sent, else the plain `filename` (raw UTF-8 from browsers).
        let filename = field.content_disposition().and_then(|cd| {
            cd.get_filename_ext()
                .and_then(|ext| String::from_utf8(ext.value.clone()).ok())
                .or_else(|| cd.get_filename().map(str::to_string))
        });
        let content_type = field.content_type().map(|m| m.essence_str().to_string());
        let mut bytes = Vec::new();
        // The other fields are text: read (within the bound above) to refuse control characters.
        let mut text = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("malformed upload: {e}")))?;
            seen += chunk.len();
            if seen > limit * 2 {
                return Err(field_error("error-file-too-large", Some(max_mb)));
            }
            if !is_file {
                text.extend_from_slice(&chunk);
            } else if !too_large {
                if bytes.len() + chunk.len() > limit {
                    too_large = true;
                    bytes = Vec::new();
                } else {
                    bytes.extend_from_slice(&chunk);
                }
            }
        }
        crate::web::text::check(&name, &String::from_utf8_lossy(&text))?;
        if is_file && !too_large {
            let filename = service::clean_filename(filename.as_deref().unwrap_or(""));
            let claimed = content_type
                .filter(|t| t != "application/octet-stream")
                .unwrap_or_else(|| {
                    mime_guess::from_path(&filename)
                        .first_or_octet_stream()
                        .essence_str()
                        .to_string()
                });
            // Only an allow-listed type is kept; anything else is served as bytes to save.
            let content_type = super::rules::stored_content_type(&claimed).to_string();
            upload = Some(Upload {
                filename,
                content_type,
                bytes,
            });
        }
    }
    if too_large {
        return Err(field_error("error-file-too-large", Some(max_mb)));
    }
    match upload {
        Some(u) if !u.bytes.is_empty() => Ok(u),
        Some(_) => Err(field_error("error-file-empty", None)),
        None => Err(field_error("error-required", None)),
    }
}

/// `GET /attachments/{id}` and `/api/v1/attachments/{id}`: always a download, never rendered
/// inline (an uploaded HTML file must not run in our origin). The ticket's kind decides who may
/// see it, as on `/tickets/{id}/attachments/{attachment_id}`.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "incidents", operation_id = "download_attachment",
    summary = "Downloads an attachment", description = "Always as a download (`Content-Disposition: attachment`) with its stored content type, never rendered inline.",
    params(("id" = i64, Path, example = 1, description = "Attachment id")),
    responses((status = 200, description = "The file, as an attachment, with its stored content type",
        content_type = "*/*", body = Vec<u8>)))]
pub async fn download(
    state: web::Data<AppState>,
    user: crate::auth::CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    serve(&state, user.role, None, path.into_inner()).await
}

/// Reads an attachment (of `ticket_id` when given) that `role` may see, and answers it as a
/// download.
pub async fn serve(
    state: &web::Data<AppState>,
    role: crate::auth::permissions::Role,
    ticket_id: Option<i64>,
    id: i64,
) -> Result<HttpResponse, AppError> {
    let data_dir = state.config.data_dir.clone();
    let (attachment, bytes) = state
        .db(move |conn| {
            let attachment = queries::find(conn, id)?;
            if ticket_id.is_some_and(|t| t != attachment.ticket_id) {
                return Err(AppError::NotFound);
            }
            crate::tickets::work::load_for(conn, attachment.ticket_id, role, crate::tickets::work::Need::View)?;
            let bytes = std::fs::read(service::blob_path(&data_dir, &attachment.sha256)).map_err(AppError::internal)?;
            Ok((attachment, bytes))
        })
        .await?;
    let ascii: String = attachment
        .filename
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' })
        .collect();
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: actix_web::http::header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: attachment.filename.clone().into_bytes(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .content_type(attachment.content_type.as_str())
        .insert_header(disposition)
        .insert_header(("Cache-Control", "private, no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}
