//! Control characters in text input, refused in one place. Every text a client sends passes one
//! of the extractors in `web` — JSON bodies ([`super::json`]), forms ([`super::forms`]), query
//! strings ([`super::query`]) — or the multipart reader (`attachments::routes::read_upload`),
//! and each of them calls this module before the value reaches a handler. A control character
//! other than tab, newline and carriage return (browsers send a textarea's line breaks as CRLF)
//! is an [`AppError::Validation`] naming the field: PostgreSQL cannot store NUL in text, and no
//! one types the others.
//!
//! Two parameters are exempt, each because another place makes it safe: [`SEARCH_QUERY_PARAMETER`]
//! (the search normaliser treats a control character in a search as a space) and
//! [`RETURN_PATH_PARAMETER`] (`web::errors::safe_next` turns a return path holding one into `/`,
//! so a crafted sign-in link still signs the person in, at the start page).

use std::borrow::Cow;

use serde_json::Value;

use crate::error::{AppError, FieldErrors, FieldMessage};

/// The search text parameter (`?q=`), exempt from the check: searches normalise control
/// characters to spaces themselves.
pub const SEARCH_QUERY_PARAMETER: &str = "q";

/// Where to go after signing in or switching the language (`next`), exempt from the check:
/// `safe_next` accepts only a plain local path and answers `/` for anything else.
pub const RETURN_PATH_PARAMETER: &str = "next";

/// The message shown for a refused field.
pub const MESSAGE: &str = "error-control-character";

/// Whether `c` is refused in text input: a Unicode control character (C0, DEL, C1) other than
/// tab, line feed and carriage return.
pub fn is_refused(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

pub fn has_refused(text: &str) -> bool {
    text.chars().any(is_refused)
}

/// The field error for `field`.
pub fn refused(field: impl Into<Cow<'static, str>>) -> AppError {
    AppError::Validation(FieldErrors::single(field, FieldMessage::new(MESSAGE)))
}

/// Checks one named value.
pub fn check(field: &str, value: &str) -> Result<(), AppError> {
    if has_refused(value) {
        Err(refused(field.to_string()))
    } else {
        Ok(())
    }
}

/// Checks every key and value of a url-encoded text (a query string or a form body), except
/// [`SEARCH_QUERY_PARAMETER`] and [`RETURN_PATH_PARAMETER`].
pub fn check_urlencoded(bytes: &[u8]) -> Result<(), AppError> {
    // Control characters arrive percent-encoded (`%00`, `%7F`, `%C2%80`) or, from a careless
    // client, raw: without either there is nothing to decode.
    let suspicious = bytes.iter().any(|&b| b == b'%' || !(0x20..0x7F).contains(&b));
    if !suspicious {
        return Ok(());
    }
    for (key, value) in url::form_urlencoded::parse(bytes) {
        if key == SEARCH_QUERY_PARAMETER || key == RETURN_PATH_PARAMETER {
            continue;
        }
        if has_refused(&key) {
            return Err(refused(key.into_owned()));
        }
        check(&key, &value)?;
    }
    Ok(())
}

/// Checks every string (and object key) of a JSON text; the field is named by its path, as the
/// JSON extractor names a value of the wrong shape (`items[2].title`). Malformed JSON passes
/// (the extractor reports it).
pub fn check_json(bytes: &[u8]) -> Result<(), AppError> {
    // JSON carries control characters in strings only as `\u` escapes (raw ones below U+0020
    // are malformed) or, for DEL and C1, raw; without those there is no need to parse twice.
    let suspicious = bytes.windows(4).any(|w| w == b"\\u00")
        || bytes.contains(&0x7F)
        || bytes.windows(2).any(|w| w[0] == 0xC2 && (0x80..=0x9F).contains(&w[1]));
    if !suspicious {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(());
    };
    match find_in_json(&value, &mut String::new()) {
        Some(path) => Err(refused(if path.is_empty() { "body".to_string() } else { path })),
        None => Ok(()),
    }
}

/// The path of the first string holding a refused character.
fn find_in_json(value: &Value, path: &mut String) -> Option<String> {
    match value {
        Value::String(text) => has_refused(text).then(|| path.clone()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = find_in_json(item, path);
            path.truncate(len);
            found
        }),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            let found = if has_refused(key) {
                Some(path.clone())
            } else {
                find_in_json(item, path)
            };
            path.truncate(len);
            found
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(result: Result<(), AppError>) -> String {
        match result {
            Err(AppError::Validation(errors)) => {
                let (field, message) = errors.0.into_iter().next().expect("one field");
                assert_eq!(message.key, MESSAGE);
                field.into_owned()
            }
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn tab_newline_and_carriage_return_pass_other_controls_do_not() {
        for ok in ["障害\t発生\r\n復旧", "plain", ""] {
            assert!(!has_refused(ok), "{ok:?}");
        }
        for bad in ["a\0b", "\u{7}", "\u{1b}[31m", "\u{7f}", "\u{85}", "\u{9f}"] {
            assert!(has_refused(bad), "{bad:?}");
        }
    }

    #[test]
    fn forms_and_query_strings_name_the_field() {
        assert!(check_urlencoded(b"title=VPN&description=a%0D%0Ab%09c").is_ok());
        assert_eq!(field(check_urlencoded(b"title=VPN&description=a%00b")), "description");
        assert_eq!(field(check_urlencoded(b"name=%C2%85")), "name");
        assert_eq!(field(check_urlencoded(b"na%01me=x")), "na\u{1}me");
        // The search text is the named exception.
        assert!(check_urlencoded(b"q=a%00b&team_id=1").is_ok());
        assert_eq!(field(check_urlencoded(b"q=a%00b&status=x%07")), "status");
    }

    #[test]
    fn json_names_the_path() {
        assert!(check_json(br#"{"title": "VPN \u00e9\t\n", "items": [1, "x"]}"#).is_ok());
        assert_eq!(field(check_json(br#"{"title": "a\u0000"}"#)), "title");
        assert_eq!(
            field(check_json(br#"{"items": [{"title": "a"}, {"title": "\u001b"}]}"#)),
            "items[1].title"
        );
        assert_eq!(field(check_json("{\"t\": \"\u{7f}\"}".as_bytes())), "t");
        assert_eq!(field(check_json(br#""\u0000""#)), "body");
        assert!(check_json(br#"{"q": "\\u0000 is how you write it"}"#).is_ok());
    }
}
