//! Form extraction with repeated keys (`team_ids=1&team_ids=2`), which `web::Form` cannot read,
//! up to [`body::form_limit`] (long post-mortems exceed the 1 MB of everything else). A value
//! holding a control character is a field error ([`super::text`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::body;
use crate::error::AppError;

pub struct Form<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = body::read(req, payload, body::form_limit(req));
        Box::pin(async move {
            let bytes = bytes.await?;
            super::text::check_urlencoded(&bytes)?;
            serde_html_form::from_bytes::<T>(&bytes)
                .map(Form)
                .map_err(|e| AppError::BadRequest(format!("malformed form: {e}")))
        })
    }
}

/// Deserialises an HTML checkbox: present ("on") means true.
pub fn checkbox<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let value: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    Ok(matches!(value.as_deref(), Some("on" | "true" | "1")))
}
