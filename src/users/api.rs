//! JSON API for people: `/api/v1/me` and the user directory.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::model::{UserChanges, UserFilter, UserInput, UserView};
use super::{queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::Json;
use crate::web::query::Query;

pub const PAGE_SIZE: i64 = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .service(
            web::resource("/users")
                .route(web::get().to(list))
                .route(web::post().to(create)),
        )
        .service(
            web::resource("/users/{id}")
                .route(web::get().to(show))
                .route(web::patch().to(update)),
        )
        .route("/users/{id}/sessions/end", web::post().to(end_sessions));
}

/// The signed-in user (the token's owner).
#[utoipa::path(get, path = "/api/v1/me", tag = "users", operation_id = "me",
    responses((status = 200, description = "The token's user", body = UserView)))]
pub(crate) async fn me(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let id = user.id;
    let view = state.db(move |conn| service::view_by_id(conn, id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Part of a name or e-mail address.
    q: Option<String>,
    /// `admin`, `manager`, `engineer`, `helpdesk` or `viewer`.
    role: Option<String>,
    /// Keyset cursor: `next_after` of the previous page.
    after: Option<i64>,
    /// Page size, 1 to 100 (default 100).
    limit: Option<i64>,
}

/// A page of the user directory.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct UserPage {
    pub items: Vec<UserView>,
    /// The `after` of the next page; `null` on the last.
    pub next_after: Option<i64>,
}

/// The user directory, by id.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", operation_id = "list_users", params(ListQuery),
    responses((status = 200, description = "A page of users", body = UserPage)))]
pub(crate) async fn list(state: web::Data<AppState>, query: Query<ListQuery>) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE);
    let filter = UserFilter {
        q: query.q,
        role: query.role,
        after: query.after,
    };
    let (items, next_after) = state
        .db(move |conn| {
            let mut users = queries::list(conn, &filter, limit + 1)?;
            let next = if users.len() as i64 > limit {
                users.truncate(limit as usize);
                users.last().map(|u| u.id)
            } else {
                None
            };
            let mut items = Vec::with_capacity(users.len());
            // Team ids for the whole page in one query.
            let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
            let memberships = queries::team_ids_of_many(conn, &ids)?;
            for user in &users {
                items.push(UserView::new(
                    user,
                    memberships.get(&user.id).cloned().unwrap_or_default(),
                ));
            }
            Ok((items, next))
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserPage { items, next_after }))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", operation_id = "get_user",
    params(("id" = i64, Path, example = 1, description = "User id")),
    responses((status = 200, description = "The user", body = UserView)))]
pub(crate) async fn show(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = state.db(move |conn| service::view_by_id(conn, id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Creates a user (administrators).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", operation_id = "create_user", request_body = UserInput,
    responses((status = 201, description = "Created; `Location` names it", body = UserView,
        headers(("Location" = String, description = "The new user's URL")))))]
pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<UserInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let view = state.db(move |conn| service::create(conn, &actor, now, &input)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", view.id)))
        .json(view))
}

/// Changes a user; absent fields stay as they are (administrators).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", operation_id = "update_user",
    params(("id" = i64, Path, example = 1, description = "User id")), request_body = UserChanges,
    responses((status = 200, description = "The changed user", body = UserView)))]
pub(crate) async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<UserChanges>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, changes) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    let view = state
        .db(move |conn| service::update(conn, &actor, now, id, &changes))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// How many sessions an administrator ended.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    #[schema(example = 2)]
    pub sessions_ended: usize,
}

/// Ends every session of a user (a lost laptop, a departure).
#[utoipa::path(post, path = "/api/v1/users/{id}/sessions/end", tag = "users", operation_id = "end_user_sessions",
    params(("id" = i64, Path, example = 1, description = "User id")),
    responses((status = 200, description = "The number of sessions ended", body = SessionsEnded)))]
pub(crate) async fn end_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    let ended = state
        .db(move |conn| crate::auth::service::end_sessions_of(conn, &actor, now, id))
        .await?;
    Ok(HttpResponse::Ok().json(SessionsEnded { sessions_ended: ended }))
}
