//! CSV downloads: UTF-8 with a BOM so Excel reads Japanese, and cells that would start a
//! formula defused with a leading apostrophe (CSV injection), full-width ones included.

use actix_web::HttpResponse;
use unicode_normalization::UnicodeNormalization;

use crate::error::AppError;

/// A cell as written: text that a spreadsheet would run as a formula gets a leading `'`. The
/// first character is compared after NFKC normalisation, because spreadsheets read the
/// full-width `＝ ＋ － ＠` (which Japanese input methods type) as `= + - @`.
pub fn cell(text: &str) -> String {
    if starts_a_formula(text) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn starts_a_formula(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    std::iter::once(first)
        .nfkc()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_defused_in_any_width() {
        for formula in [
            "=1+1",
            "+1",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "＝HYPERLINK(\"http://evil\")",
            "＋1",
            "－1",
            "＠SUM(A1)",
        ] {
            assert_eq!(cell(formula), format!("'{formula}"), "{formula:?}");
        }
        for plain in ["障害", "VPN = down", "", "ｶﾀｶﾅ", "１２３", " =1"] {
            assert_eq!(cell(plain), plain, "{plain:?}");
        }
    }
}
