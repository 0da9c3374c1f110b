//! The query-string extractor of every handler. Like `actix_web::web::Query`, but a parameter
//! of the wrong shape (`team_id=abc`, `without_problem=yes`) is an [`AppError::Validation`]
//! naming the parameter: on the API a 422 with `error.fields.team_id`, the answer a JSON body
//! of the wrong shape gets ([`super::json`]). Read with `serde_html_form`, as forms are, so
//! repeated keys (`team_ids=1&team_ids=2`) work the same in both. A parameter holding a control
//! character is a field error too, except the search text `q` ([`super::text`]).

use std::future::{ready, Ready};
use std::ops::Deref;

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

/// Reads a query string into `T`; a bad parameter is a field error under its name.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    super::text::check_urlencoded(query.as_bytes())?;
    let deserializer = serde_html_form::Deserializer::from_bytes(query.as_bytes());
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().iter().next().map(|_| err.path().to_string());
        let text = err.into_inner().to_string();
        super::json::field_error(path, &text)
            .unwrap_or_else(|| AppError::BadRequest(format!("malformed query string: {text}")))
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Filter {
        team_id: Option<i64>,
        done: Option<bool>,
        q: Option<String>,
        ids: Vec<i64>,
    }

    fn field_of(err: AppError) -> (String, String) {
        match err {
            AppError::Validation(errors) => {
                let (field, message) = errors.0.iter().next().expect("one field");
                (field.to_string(), message.key.to_string())
            }
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn parameters_are_read_and_bad_ones_are_named() {
        let read: Filter = parse("team_id=3&done=true&q=VPN+%E6%8E%A5%E7%B6%9A&ids=1&ids=2").unwrap();
        assert_eq!(read.team_id, Some(3));
        assert_eq!(read.done, Some(true));
        assert_eq!(read.q.as_deref(), Some("VPN 接続"));
        assert_eq!(read.ids, vec![1, 2]);
        assert_eq!(
            field_of(parse::<Filter>("team_id=abc").unwrap_err()),
            ("team_id".into(), "error-json-value".into())
        );
        assert_eq!(
            field_of(parse::<Filter>("q=x&done=yes").unwrap_err()),
            ("done".into(), "error-json-value".into())
        );
        assert_eq!(field_of(parse::<Filter>("ids=1&ids=x").unwrap_err()).0, "ids[1]");
    }
}
