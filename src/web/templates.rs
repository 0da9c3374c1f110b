//! Tera templates, embedded in the binary, and the one `render` helper that adds what every
//! page needs: the user, the CSRF token, the language, the time zone and flash messages.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use rust_embed::RustEmbed;
use serde::Serialize;
use tera::{Context, Tera};

use super::{csrf, flash, i18n::Lang};
use crate::auth::permissions::{allows, Permission};
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "templates/"]
struct TemplateFiles;

#[derive(RustEmbed)]
#[folder = "static/"]
pub struct StaticFiles;

/// Parses every embedded template; a broken template stops start-up, not a page view.
pub fn load() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    let mut sources = Vec::new();
    for name in TemplateFiles::iter() {
        let file = TemplateFiles::get(&name).expect("listed template exists");
        let text = String::from_utf8(file.data.into_owned()).map_err(|e| tera::Error::msg(format!("{name}: {e}")))?;
        sources.push((name.to_string(), text));
    }
    tera.add_raw_templates(sources)?;
    tera.register_function(
        "fluent",
        fluent_templates::FluentLoader::new(&*super::i18n::LOCALES).with_default_lang("en".parse().expect("static")),
    );
    tera.register_filter("datetime", datetime_filter);
    Ok(tera)
}

/// The names of every embedded template (for the translation coverage test).
pub fn template_sources() -> Vec<(String, String)> {
    TemplateFiles::iter()
        .map(|name| {
            let data = TemplateFiles::get(&name).expect("listed").data.into_owned();
            (name.to_string(), String::from_utf8_lossy(&data).into_owned())
        })
        .collect()
}

/// `{{ t | datetime(tz=tz) }}`: a stored UTC time shown in the user's zone.
fn datetime_filter(
    value: &tera::Value,
    args: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let Some(text) = value.as_str() else {
        return Ok(tera::Value::String(String::new()));
    };
    let tz_name = args.get("tz").and_then(|v| v.as_str()).unwrap_or("Asia/Tokyo");
    Ok(tera::Value::String(format_local(text, tz_name)))
}

/// Formats a serialised `NaiveDateTime` (UTC) in `tz_name`, e.g. "2026-11-23 12:00".
pub fn format_local(utc_text: &str, tz_name: &str) -> String {
    let utc_text = utc_text.trim_end_matches('Z');
    let parsed = NaiveDateTime::parse_from_str(utc_text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(utc_text, "%Y-%m-%d %H:%M:%S%.f"));
    let Ok(utc) = parsed else { return utc_text.to_string() };
    let tz: chrono_tz::Tz = tz_name.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    utc.and_utc().with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

#[derive(Serialize)]
struct Can {
    manage_users: bool,
    manage_teams: bool,
    view_audit: bool,
    delete_tickets: bool,
    view_reports: bool,
    manage_sla: bool,
    manage_operations: bool,
    manage_cmdb: bool,
    manage_cmdb_classes: bool,
}

#[derive(Serialize)]
struct UserView<'a> {
    id: i64,
    email: &'a str,
    display_name: &'a str,
    role: &'a str,
}

/// The language of this request: the signed-in user's choice, else the language cookie,
/// else the browser's Accept-Language.
pub fn request_lang(req: &HttpRequest) -> Lang {
    if let Some(user) = req.extensions().get::<AuthUser>() {
        return user.locale;
    }
    if let Some(lang) = req.cookie(super::LANG_COOKIE).and_then(|c| Lang::parse(c.value())) {
        return lang;
    }
    let header = req.headers().get("accept-language").and_then(|v| v.to_str().ok());
    Lang::from_accept_language(header)
}

/// The time zone to show times in.
pub fn request_tz(req: &HttpRequest) -> String {
    req.extensions()
        .get::<AuthUser>()
        .map(|u| u.time_zone.clone())
        .unwrap_or_else(|| "Asia/Tokyo".to_string())
}

/// Renders a page with status 200.
pub fn render(req: &HttpRequest, name: &str, context: Context) -> Result<HttpResponse, AppError> {
    render_status(req, StatusCode::OK, name, context)
}

/// Renders a page with the base context every template relies on.
pub fn render_status(
    req: &HttpRequest,
    status: StatusCode,
    name: &str,
    mut context: Context,
) -> Result<HttpResponse, AppError> {
    let state = req
        .app_data::<actix_web::web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("app state missing")))?;
    let lang = request_lang(req);
    let session = req.get_session();
    let user = req.extensions().get::<AuthUser>().cloned();

    context.insert("lang", lang.code());
    context.insert("tz", &request_tz(req));
    context.insert("csrf_token", &csrf::session_token(&session));
    context.insert("flash", &flash::take(&session, lang));
    let current_path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    context.insert("current_path", current_path);
    context.insert("version", env!("CARGO_PKG_VERSION"));
    match &user {
        Some(u) => {
            context.insert(
                "user",
                &UserView {
                    id: u.id,
                    email: &u.email,
                    display_name: &u.display_name,
                    role: u.role.as_str(),
                },
            );
            context.insert(
                "can",
                &Can {
                    manage_users: allows(u.role, Permission::ManageUsers),
                    manage_teams: allows(u.role, Permission::ManageTeams),
                    view_audit: allows(u.role, Permission::ViewAudit),
                    delete_tickets: allows(u.role, Permission::DeleteTickets),
                    view_reports: allows(u.role, Permission::ViewReports),
                    manage_sla: allows(u.role, Permission::ManageSla),
                    manage_operations: allows(u.role, Permission::ManageOperations),
                    manage_cmdb: allows(u.role, Permission::ManageCmdb),
                    manage_cmdb_classes: allows(u.role, Permission::ManageCmdbClasses),
                },
            );
        }
        None => {
            context.insert("user", &None::<()>);
            context.insert(
                "can",
                &Can {
                    manage_users: false,
                    manage_teams: false,
                    view_audit: false,
                    delete_tickets: false,
                    view_reports: false,
                    manage_sla: false,
                    manage_operations: false,
                    manage_cmdb: false,
                    manage_cmdb_classes: false,
                },
            );
        }
    }
    let html = state.templates.render(name, &context)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_users_zone() {
        assert_eq!(
            format_local("2026-11-23T03:00:00.123456", "Asia/Tokyo"),
            "2026-11-23 12:00"
        );
        assert_eq!(format_local("2026-11-23T03:00:00", "Europe/London"), "2026-11-23 03:00");
        assert_eq!(
            format_local("2026-11-23T03:00:00.000001Z", "Asia/Tokyo"),
            "2026-11-23 12:00"
        );
        assert_eq!(format_local("2026-11-23 15:30:00", "Asia/Tokyo"), "2026-11-24 00:30");
    }

    #[test]
    fn all_templates_parse() {
        load().expect("templates parse");
    }
}
