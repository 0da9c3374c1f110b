//! The one application error type and its mapping to HTTP.
//!
//! Every handler returns `Result<_, AppError>`. The response body produced here is the JSON
//! API format `{"error": {"code", "message", "fields"}}`; for HTML pages the error-page
//! middleware in `web::errors` re-renders it as a page in the user's language. Internal causes
//! are logged with their whole chain and never sent to the client.

use std::borrow::Cow;
use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::web::i18n::{self, Lang};

/// A field-level message: a Fluent message id plus numeric arguments, translated when shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMessage {
    pub key: &'static str,
    pub args: Vec<(&'static str, i64)>,
}

impl FieldMessage {
    pub fn new(key: &'static str) -> Self {
        Self { key, args: Vec::new() }
    }

    pub fn with(mut self, name: &'static str, value: i64) -> Self {
        self.args.push((name, value));
        self
    }

    pub fn translate(&self, lang: Lang) -> String {
        i18n::translate_with(lang, self.key, &self.args)
    }
}

/// Validation errors by field name; the first error per field wins. Names are mostly fixed
/// form fields; the JSON body extractor also names paths into a body (`closures[1].starts_on`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<Cow<'static, str>, FieldMessage>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<Cow<'static, str>>, message: FieldMessage) {
        self.0.entry(field.into()).or_insert(message);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// `Ok(())` when empty, else the errors as [`AppError::Validation`].
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self))
        }
    }

    /// Translated messages for a template's `errors` map.
    pub fn translated(&self, lang: Lang) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(field, msg)| (field.to_string(), msg.translate(lang)))
            .collect()
    }

    pub fn single(field: impl Into<Cow<'static, str>>, message: FieldMessage) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("authentication required")]
    Unauthenticated,
    #[error("not allowed for your role")]
    Forbidden,
    #[error("CSRF token missing or invalid")]
    CsrfRejected,
    #[error("{0}")]
    BadRequest(String),
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// The client stopped sending its request body; the connection is closed after the answer.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("too many attempts; retry in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: i64 },
    /// No room left: the disk under the database or the data folder is full, or a configured
    /// storage quota is used up. The message says which, in words a person can act on.
    #[error("{0}")]
    InsufficientStorage(String),
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::CsrfRejected => "csrf_rejected",
            Self::BadRequest(_) => "bad_request",
            Self::Validation(_) => "validation_failed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RequestTimeout => "request_timeout",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::InsufficientStorage(_) => "insufficient_storage",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::CsrfRejected => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            Self::Unavailable(cause) => tracing::error!(error = ?cause, "database unavailable"),
            _ => {}
        }
        let fields: BTreeMap<String, String> = match self {
            Self::Validation(errors) => errors.translated(Lang::En),
            _ => BTreeMap::new(),
        };
        let message = match self {
            Self::Validation(errors) if errors.0.len() == 1 => {
                let (field, msg) = errors.0.iter().next().expect("one error");
                format!("{field}: {}", msg.translate(Lang::En))
            }
            Self::Validation(_) => "some fields are invalid".to_string(),
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Self::TooManyRequests { retry_after_secs } = self {
            response.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message,
                fields,
            },
        })
    }
}

/// What a client is told when the database's disk is full.
pub const DISK_FULL: &str =
    "the database has no space left to store this; an administrator has to free disk space, then try again";

/// The body of every API error: `{"error": {"code", "message", "fields"}}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `not_found`, `unauthenticated`, `forbidden`, `bad_request`,
    /// `validation_failed`, `conflict`, `payload_too_large`, `too_many_requests`,
    /// `request_timeout`, `insufficient_storage`, `unavailable`, `internal`.
    #[schema(example = "validation_failed")]
    pub code: &'static str,
    /// In English, for logs; `fields` says what to correct.
    #[schema(example = "title: This field is required.")]
    pub message: String,
    /// Each refused input field with its message (empty unless `code` is `validation_failed`).
    pub fields: BTreeMap<String, String>,
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => Self::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::Conflict("a record with the same unique value already exists".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                Self::Conflict("the record refers to, or is referred to by, another record".into())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Self::Conflict("a concurrent change got there first; try again".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                Self::Unavailable(anyhow::anyhow!("connection closed: {}", info.message()))
            }
            Error::DatabaseError(_, info) if crate::db::is_disk_full(info.message()) => {
                tracing::error!(error = %info.message(), "the database could not write: no space left");
                Self::InsufficientStorage(DISK_FULL.into())
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(err.into())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        Self::Internal(err.into())
    }
}

impl From<tera::Error> for AppError {
    fn from(err: tera::Error) -> Self {
        Self::Internal(err.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(err: AppError) -> (StatusCode, serde_json::Value) {
        let response = err.error_response();
        let status = response.status();
        let bytes = response.into_body().try_into_bytes().unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn each_error_has_its_status_and_code() {
        let cases = [
            (AppError::NotFound, 404, "not_found"),
            (AppError::Unauthenticated, 401, "unauthenticated"),
            (AppError::Forbidden, 403, "forbidden"),
            (AppError::CsrfRejected, 403, "csrf_rejected"),
            (AppError::BadRequest("x".into()), 400, "bad_request"),
            (AppError::Conflict("x".into()), 409, "conflict"),
            (AppError::PayloadTooLarge, 413, "payload_too_large"),
            (AppError::RequestTimeout, 408, "request_timeout"),
            (
                AppError::TooManyRequests { retry_after_secs: 60 },
                429,
                "too_many_requests",
            ),
            (
                AppError::InsufficientStorage("full".into()),
                507,
                "insufficient_storage",
            ),
            (AppError::Unavailable(anyhow::anyhow!("down")), 503, "unavailable"),
        ];
        for (err, status, code) in cases {
            let (got_status, json) = body(err);
            assert_eq!(got_status.as_u16(), status);
            assert_eq!(json["error"]["code"], code);
        }
    }

    #[test]
    fn validation_names_the_field() {
        let err = AppError::Validation(FieldErrors::single("email", FieldMessage::new("error-email-invalid")));
        let (status, json) = body(err);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(json["error"]["fields"]["email"].as_str().unwrap().len() > 3);
        assert!(json["error"]["message"].as_str().unwrap().starts_with("email:"));
    }

    #[test]
    fn internal_cause_is_not_leaked() {
        let (status, json) = body(AppError::internal(anyhow::anyhow!("password=hunter2 in table users")));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!json.to_string().contains("hunter2"));
    }

    #[test]
    fn diesel_errors_are_mapped() {
        assert!(matches!(
            AppError::from(diesel::result::Error::NotFound),
            AppError::NotFound
        ));
        let unique = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key".to_string()),
        );
        assert!(matches!(AppError::from(unique), AppError::Conflict(_)));
    }

    #[test]
    fn a_full_disk_is_507_on_both_backends_and_out_of_memory_is_not() {
        let error = |message: &str| {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::Unknown,
                Box::new(message.to_string()),
            )
        };
        // SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100) as it words them.
        for message in [
            "database or disk is full",
            "could not extend file \"base/16384/16400\": No space left on device",
            "could not write to file \"pg_wal/xlogtemp.123\": No space left on device",
        ] {
            let (status, json) = body(AppError::from(error(message)));
            assert_eq!(status.as_u16(), 507, "{message}");
            assert!(json["error"]["message"].as_str().unwrap().contains("no space left"));
        }
        // out_of_memory (53200) is something else.
        let (status, _) = body(AppError::from(error("out of memory")));
        assert_eq!(status.as_u16(), 500);
    }
}
