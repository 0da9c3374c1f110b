//! The administrator's audit log page, with the hash chain's last verification and a button
//! that runs one (synchronously: a million rows take seconds, see docs/PERFORMANCE.md).

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tera::Context;

use super::model::{AuditEntry, AuditFilter};
use super::service;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::i18n::{has_message, translate, Lang};
use crate::web::query::Query;
use crate::web::redirect;
use crate::web::templates::{render, request_lang};

/// `login.failed` reads as the message `audit-event-login-failed`, when there is one.
fn action_name(lang: Lang, action: &str) -> Option<String> {
    let key = format!("audit-event-{}", action.replace(['.', '_'], "-"));
    has_message(lang, &key).then(|| translate(lang, &key))
}

pub const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/audit", web::get().to(list))
        .route("/admin/audit/verify", web::post().to(verify));
}

#[derive(Serialize)]
struct EntryView {
    id: i64,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    at: chrono::NaiveDateTime,
    actor_label: String,
    action: String,
    /// The action's name in the reader's language where it has one (security events, sign-ins).
    action_name: Option<String>,
    entity_type: String,
    entity_id: String,
    ip: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

fn pretty(json: Option<String>) -> Option<String> {
    json.map(|text| match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or(text),
        Err(_) => text,
    })
}

impl From<AuditEntry> for EntryView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_label: e.actor_label,
            action_name: None,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            ip: e.ip,
            before: pretty(e.before_json),
            after: pretty(e.after_json),
        }
    }
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<AuditFilter>,
) -> Result<HttpResponse, AppError> {
    let filter = query.into_inner();
    let db_filter = filter.clone();
    let (entries, next, verification) = state
        .db(move |conn| {
            let (entries, next) = service::browse(conn, &db_filter, PAGE_SIZE)?;
            Ok((entries, next, service::last_verification(conn)?))
        })
        .await?;
    let next_url = next.map(|before| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("entity_type", &filter.entity_type),
            ("entity_id", &filter.entity_id),
            ("action", &filter.action),
            ("actor", &filter.actor),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                query.append_pair(key, value);
            }
        }
        query.append_pair("before", &before.to_string());
        format!("/admin/audit?{}", query.finish())
    });
    let lang = request_lang(&req);
    let entries: Vec<EntryView> = entries
        .into_iter()
        .map(|entry| {
            let mut view = EntryView::from(entry);
            view.action_name = action_name(lang, &view.action);
            view
        })
        .collect();
    let mut context = Context::new();
    context.insert("filters", &filter);
    context.insert("entries", &entries);
    context.insert("next_url", &next_url);
    context.insert("verification", &verification);
    context.insert("is_first_page", &filter.before.is_none());
    render(&req, "audit/list.html", context)
}

/// `POST /admin/audit/verify`: walks the chain now and comes back to the page with the outcome.
async fn verify(state: web::Data<AppState>, user: CurrentUser, session: Session) -> Result<HttpResponse, AppError> {
    let (clock, by) = (state.clock.clone(), user.email.clone());
    let result = state.db(move |conn| service::verify(conn, &by, || clock.now())).await?;
    if result.intact {
        flash::push(&session, Kind::Success, "flash-audit-chain-intact");
    } else {
        flash::push(&session, Kind::Error, "flash-audit-chain-broken");
    }
    Ok(redirect("/admin/audit"))
}
