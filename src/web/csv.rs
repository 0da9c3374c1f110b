//! CSV downloads: UTF-8 with a BOM so Excel reads Japanese, and cells that would start a
//! formula defused with a leading apostrophe (CSV injection).

use actix_web::HttpResponse;

use crate::error::AppError;

/// A cell as written: text that a spreadsheet would run as a formula gets a leading `'`.
pub fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The whole download; `rows` are written as given (pass text through [`cell`]).
pub fn response(
    filename: &str,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<HttpResponse, AppError> {
    let mut writer = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    writer.write_record(header).map_err(AppError::internal)?;
    for row in rows {
        writer.write_record(&row).map_err(AppError::internal)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .body(body))
}
