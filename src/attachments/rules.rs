//! Pure upload rules: which content types are stored as sent, and the per-person rate.

use chrono::NaiveDateTime;

/// Content types stored as sent: images, PDF, plain text and logs, CSV, JSON, archives and
/// office documents. Anything else (HTML, SVG, scripts, executables) is stored as
/// `application/octet-stream`, so no browser is ever told to treat it as a page or a script.
pub const ALLOWED_CONTENT_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/tiff",
    "image/heic",
    "application/pdf",
    "text/plain",
    "text/x-log",
    "text/csv",
    "application/json",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-7z-compressed",
    "application/x-tar",
    "application/x-xz",
    "application/x-bzip2",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
];

pub const FALLBACK_CONTENT_TYPE: &str = "application/octet-stream";

/// The content type an upload is stored (and later served) with.
pub fn stored_content_type(claimed: &str) -> &'static str {
    let essence = claimed
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    ALLOWED_CONTENT_TYPES
        .iter()
        .find(|allowed| **allowed == essence)
        .copied()
        .unwrap_or(FALLBACK_CONTENT_TYPE)
}

/// Seconds until one more upload is allowed, or `None` when it is allowed now. `recent` holds
/// the person's latest uploads, newest first, at most `per_minute` of them.
pub fn retry_after(recent: &[NaiveDateTime], per_minute: i64, now: NaiveDateTime) -> Option<i64> {
    if (recent.len() as i64) < per_minute {
        return None;
    }
    let oldest = *recent.get(per_minute as usize - 1)?;
    let frees_at = oldest + chrono::Duration::seconds(60);
    (frees_at > now).then(|| ((frees_at - now).num_milliseconds() + 999) / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_types_are_kept() {
        assert_eq!(stored_content_type("image/png"), "image/png");
        assert_eq!(stored_content_type("Text/Plain; charset=utf-8"), "text/plain");
        assert_eq!(
            stored_content_type("application/x-7z-compressed"),
            "application/x-7z-compressed"
        );
        for refused in [
            "text/html",
            "image/svg+xml",
            "application/javascript",
            "application/x-msdownload",
            "",
        ] {
            assert_eq!(stored_content_type(refused), FALLBACK_CONTENT_TYPE, "{refused}");
        }
    }

    #[test]
    fn the_rate_frees_a_slot_a_minute_after_the_oldest_counted_upload() {
        let t0 = chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        // Three allowed a minute; newest first.
        assert_eq!(retry_after(&[at(10), at(5)], 3, at(11)), None);
        assert_eq!(retry_after(&[at(10), at(5), at(1)], 3, at(11)), Some(50));
        assert_eq!(retry_after(&[at(10), at(5), at(1)], 3, at(61)), None);
        assert_eq!(
            retry_after(&[at(10), at(5), at(1)], 3, at(11) + chrono::Duration::milliseconds(500)),
            Some(50)
        );
    }
}
