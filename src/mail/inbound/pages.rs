//! `/admin/inbound-mail`: received messages with their outcome or reason, filtered, with the raw
//! download and re-processing; `/inbound-mail/{id}/raw`, the download the timeline links to.

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tera::Context;

use super::service;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::query::Query;
use crate::web::redirect;
use crate::web::templates::render;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/inbound-mail", web::get().to(list))
        .route("/admin/inbound-mail/{id}/reprocess", web::post().to(reprocess))
        .route("/inbound-mail/{id}/raw", web::get().to(raw));
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    /// `ignored`, `unparseable`, `failed`, or empty for all.
    filter: String,
    before: Option<i64>,
}

const FILTERS: [&str; 4] = ["", "ignored", "unparseable", "failed"];

async fn list(req: HttpRequest, state: web::Data<AppState>, query: Query<ListQuery>) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let filter = if FILTERS.contains(&query.filter.as_str()) {
        query.filter.clone()
    } else {
        String::new()
    };
    let (f, before) = (filter.clone(), query.before);
    let items = state.db(move |conn| service::list(conn, &f, before)).await?;
    let next_url = (items.len() as i64 == service::PAGE_SIZE)
        .then(|| {
            items
                .last()
                .map(|m| format!("/admin/inbound-mail?filter={filter}&before={}", m.id))
        })
        .flatten();
    let mut context = Context::new();
    context.insert("items", &items);
    context.insert("filter", &filter);
    context.insert("filters", &FILTERS);
    context.insert("next_url", &next_url);
    context.insert("is_first_page", &query.before.is_none());
    render(&req, "mail/inbound.html", context)
}

async fn reprocess(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, config) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        state.config.clone(),
    );
    let view = state
        .db(move |conn| service::reprocess(conn, &config, &actor, now, id))
        .await?;
    if view.mail.state == "processed" {
        flash::push(&session, Kind::Success, "flash-mail-reprocessed");
    } else {
        flash::push(&session, Kind::Error, "flash-mail-reprocess-failed");
    }
    Ok(redirect("/admin/inbound-mail"))
}

async fn raw(state: web::Data<AppState>, user: CurrentUser, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    super::api::download(&state, user, path.into_inner()).await
}
