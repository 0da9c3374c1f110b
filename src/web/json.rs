//! The JSON body extractor of every API handler. Like `actix_web::web::Json` it requires a JSON
//! content type and reads at most [`body::json_limit`] bytes (a whole post-mortem for a signed-in
//! user), but JSON of the wrong shape — a value
//! of the wrong type, an unknown choice, a missing field — is an [`AppError::Validation`] naming
//! the field by its path (`team_id`, `closures[1].starts_on`), the same `error.fields` the
//! services answer with, and so is a string holding a control character ([`super::text`]).
//! Malformed JSON stays a 400.
//!
//! [`PageBefore`] is the answer of a keyset-paged list; [`patched`] reads a PATCH body merged
//! into the stored record (RFC 7396), so absent fields stay as they are.
//!
//! `Json<Option<T>>` is an optional body: an empty one is `None`. (actix's `Option<Json<T>>`
//! would also turn a body that fails to parse into `None` and go on without it.)

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::body;
use crate::error::{AppError, FieldErrors, FieldMessage};

pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json_type = is_json(req);
        let bytes = body::read(req, payload, body::json_limit(req));
        Box::pin(async move {
            let bytes = bytes.await?;
            if bytes.is_empty() {
                // Read as `null`: `None` for an optional body, refused where one is required.
                return from_value(Value::Null)
                    .map(Json)
                    .map_err(|_| AppError::BadRequest("a JSON body is required".into()));
            }
            if !json_type {
                return Err(AppError::BadRequest(
                    "the body must be JSON (Content-Type: application/json)".into(),
                ));
            }
            super::text::check_json(&bytes)?;
            from_slice(&bytes).map(Json)
        })
    }
}

/// `application/json` or any `+json` type, as actix accepts.
fn is_json(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => mime.subtype() == "json" || mime.suffix().is_some_and(|suffix| suffix == "json"),
        _ => false,
    }
}

/// Reads a whole JSON text (trailing characters are malformed JSON).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(refused)?;
    deserializer.end().map_err(malformed)?;
    Ok(value)
}

/// Reads a JSON value with the same errors as a body (the PATCH routes that merge a body into
/// the stored record read the result through this).
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(refused)
}

/// Applies a JSON merge patch (RFC 7396) to `target`: absent fields stay as they are, `null`
/// removes a field (an input with `#[serde(default)]` then reads it as empty or `None`).
pub fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(&key);
                } else {
                    merge(target.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch,
    }
}

/// The input of every PATCH that replaces a whole record: the stored record `current` (as the
/// input reads it) with the `patch` merged in, read with the same errors as a body.
pub fn patched<T: DeserializeOwned>(mut current: Value, patch: Value) -> Result<T, AppError> {
    merge(&mut current, patch);
    from_value(current)
}

fn malformed(err: serde_json::Error) -> AppError {
    AppError::BadRequest(format!("malformed JSON: {err}"))
}

/// A shape error becomes a field error at its path.
fn refused(err: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let path = err.path().iter().next().map(|_| err.path().to_string());
    let err = err.into_inner();
    if !err.is_data() {
        return malformed(err);
    }
    let text = err.to_string();
    // The body itself has the wrong shape (a list where an object belongs): no field to name.
    field_error(path, &text).unwrap_or_else(|| AppError::BadRequest(format!("unexpected JSON body: {text}")))
}

/// The field error for serde's message `text` about the value at `path` (`None`: the whole
/// input), shared with [`super::query`]. serde's messages are matched by their fixed beginnings
/// (`serde::de::Error`'s provided methods) to pick the message shown. `None` when there is no
/// field to name.
pub(super) fn field_error(path: Option<String>, text: &str) -> Option<AppError> {
    let (field, key) = if let Some(rest) = text.strip_prefix("missing field `") {
        // serde reports the struct that lacks the field; name the field itself.
        let name = rest.split('`').next().unwrap_or_default();
        let field = match path {
            Some(parent) => format!("{parent}.{name}"),
            None => name.to_string(),
        };
        (field, "error-required")
    } else if let Some(field) = path {
        let key = if text.starts_with("invalid type: ") {
            "error-json-type"
        } else if text.starts_with("unknown variant `") {
            "error-json-choice"
        } else {
            // A value of the right type that does not parse ("invalid digit found in string").
            "error-json-value"
        };
        (field, key)
    } else {
        return None;
    };
    Some(AppError::Validation(FieldErrors::single(field, FieldMessage::new(key))))
}

/// A page of a keyset-paged API list: `{"items": [...], "next_before": id | null}`. Serialised
/// straight from the rows; `json!` would first copy every row into a `serde_json::Value` tree
/// (a tenth of the server's CPU on an incident list).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PageBefore<T> {
    pub items: Vec<T>,
    /// The `before` of the next page; `null` on the last.
    pub next_before: Option<i64>,
}

/// A whole (unpaged) API list: `{"items": [...]}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Level {
        High,
        Low,
    }

    #[derive(Debug, Deserialize)]
    struct Item {
        title: String,
        #[serde(default)]
        level: Option<Level>,
    }

    #[derive(Debug, Deserialize)]
    struct Input {
        #[serde(default)]
        team_id: Option<i64>,
        #[serde(default)]
        items: Vec<Item>,
    }

    fn field_error(result: Result<Input, AppError>) -> (String, &'static str) {
        match result {
            Err(AppError::Validation(errors)) => {
                assert_eq!(errors.0.len(), 1, "{errors:?}");
                let (field, message) = errors.0.into_iter().next().unwrap();
                (field.into_owned(), message.key)
            }
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn a_well_formed_body_is_read() {
        let input: Input = from_slice(br#"{"team_id": 3, "items": [{"title": "a", "level": "low"}]}"#).unwrap();
        assert_eq!(input.team_id, Some(3));
        assert_eq!(input.items[0].title, "a");
        assert!(matches!(input.items[0].level, Some(Level::Low)));
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_field() {
        assert_eq!(
            field_error(from_slice(br#"{"team_id": "x"}"#)),
            ("team_id".into(), "error-json-type")
        );
        assert_eq!(
            field_error(from_slice(
                br#"{"items": [{"title": "a"}, {"title": "b"}, {"title": 3}]}"#
            )),
            ("items[2].title".into(), "error-json-type")
        );
        assert_eq!(
            field_error(from_slice(br#"{"team_id": 99999999999999999999}"#)).0,
            "team_id"
        );
    }

    #[test]
    fn an_unknown_choice_names_its_field() {
        assert_eq!(
            field_error(from_slice(br#"{"items": [{"title": "a", "level": "extreme"}]}"#)),
            ("items[0].level".into(), "error-json-choice")
        );
    }

    #[test]
    fn a_missing_field_is_named_itself() {
        assert_eq!(
            field_error(from_slice(br#"{"items": [{"title": "a"}, {}]}"#)),
            ("items[1].title".into(), "error-required")
        );
        #[derive(Debug, Deserialize)]
        struct Required {
            #[allow(dead_code)]
            version: i32,
        }
        match from_slice::<Required>(b"{}") {
            Err(AppError::Validation(errors)) => assert!(errors.contains("version"), "{errors:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_json_and_a_wrong_body_shape_are_bad_requests() {
        for body in [
            &b"{not json"[..],
            b"{\"team_id\": 1",
            b"{} trailing",
            b"42",
            b"\"text\"",
        ] {
            match from_slice::<Input>(body) {
                Err(AppError::BadRequest(message)) => assert!(!message.is_empty()),
                other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
            }
        }
    }

    #[test]
    fn a_merged_value_is_read_with_the_same_errors() {
        let value = serde_json::json!({"items": [{"title": 1}]});
        assert_eq!(field_error(from_value(value)).0, "items[0].title");
        assert!(from_value::<Option<Input>>(Value::Null).unwrap().is_none());
    }
}
