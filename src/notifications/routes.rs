//! `/notifications` page and `/api/v1/notifications`.

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tera::Context;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::json::Items;
use crate::web::query::Query;
use crate::web::redirect;
use crate::web::templates::render;

pub fn pages(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications", web::get().to(page))
        .route("/notifications/{id}/read", web::post().to(read_page));
}

pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications", web::get().to(list))
        .route("/notifications/{id}/read", web::post().to(read));
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only unread notifications.
    unread: bool,
    /// Keyset cursor: the id of the last notification of the previous page.
    before: Option<i64>,
}

/// The signed-in user's notifications, newest first (50 at most; page with `before`).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", operation_id = "list_notifications",
    params(ListQuery),
    responses((status = 200, description = "Notifications", body = Items<super::NotificationView>)))]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (user_id, query) = (user.id, query.into_inner());
    let items = state
        .db(move |conn| super::of_user(conn, user_id, query.unread, query.before))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Marks one of the user's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", operation_id = "read_notification",
    params(("id" = i64, Path, example = 1, description = "Notification id")),
    responses((status = 204, description = "Marked read")))]
pub(crate) async fn read(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, user_id, id, now) = (user.actor(&req), user.id, path.into_inner(), state.clock.now());
    state
        .db(move |conn| super::mark_read(conn, &actor, user_id, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (user_id, query) = (user.id, query.into_inner());
    let first_page = query.before.is_none();
    let items = state
        .db(move |conn| super::of_user(conn, user_id, query.unread, query.before))
        .await?;
    let next_url = (items.len() as i64 == super::PAGE_SIZE)
        .then(|| items.last().map(|n| format!("/notifications?before={}", n.id)))
        .flatten();
    let mut context = Context::new();
    context.insert("items", &items);
    context.insert("next_url", &next_url);
    context.insert("is_first_page", &first_page);
    render(&req, "notifications/list.html", context)
}

async fn read_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, user_id, id, now) = (user.actor(&req), user.id, path.into_inner(), state.clock.now());
    state
        .db(move |conn| super::mark_read(conn, &actor, user_id, id, now))
        .await?;
    flash::push(&session, Kind::Success, "flash-notification-read");
    Ok(redirect("/notifications"))
}
