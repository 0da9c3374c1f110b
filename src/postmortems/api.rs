//! JSON API: `/api/v1/incidents/{id}/postmortem` and `/api/v1/action-items`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::model::{ActionItemInput, ActionItemView, PostmortemView, SectionsPatch};
use super::rules::Step;
use super::service;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::{Items, Json};
use crate::web::query::Query;

/// The status-changing steps, each at `/incidents/{id}/postmortem/{step}`.
pub const REVIEW_STEPS: [Step; 3] = [Step::Submit, Step::Return, Step::Publish];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/incidents/{id}/postmortem")
            .route(web::get().to(show))
            .route(web::post().to(create))
            .route(web::patch().to(edit)),
    )
    .route("/incidents/{id}/postmortem/action-items", web::post().to(add_item))
    .route("/action-items", web::get().to(my_items))
    .route("/action-items/{id}/done", web::post().to(done));
    // The review steps; each takes an optional body (sections to save, `version`).
    for step in REVIEW_STEPS {
        cfg.route(
            &format!("/incidents/{{id}}/postmortem/{}", step.as_str()),
            web::post().to(
                move |req: HttpRequest,
                      state: web::Data<AppState>,
                      user: CurrentUser,
                      path: web::Path<i64>,
                      body: Json<Option<SectionsPatch>>| {
                    let patch = body.into_inner().unwrap_or_default();
                    take_step(req, state, user, path.into_inner(), step, patch)
                },
            ),
        );
    }
}

/// An incident's post-mortem with its action items.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/postmortem", tag = "postmortems", operation_id = "get_postmortem",
    params(("id" = i64, Path, example = 1, description = "Incident id")),
    responses((status = 200, description = "The post-mortem", body = PostmortemView)))]
pub(crate) async fn show(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let (id, now) = (path.into_inner(), state.clock.now());
    Ok(HttpResponse::Ok().json(state.db(move |conn| service::get(conn, id, now)).await?))
}

/// Starts the post-mortem of an incident, drafted from its record.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem", tag = "postmortems", operation_id = "create_postmortem",
    params(("id" = i64, Path, example = 1, description = "Incident id")),
    responses((status = 201, description = "The draft", body = PostmortemView)))]
pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    Ok(HttpResponse::Created().json(state.db(move |conn| service::create(conn, &actor, now, id)).await?))
}

/// Takes the review step {action}; the optional body saves sections at the same time.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem/{action}", tag = "postmortems", operation_id = "postmortem_step",
    params(("id" = i64, Path, example = 1, description = "Incident id"), ("action" = String, Path, description = "The step")),
    request_body(content = Option<SectionsPatch>, description = "Optional: `version` and sections to save"),
    responses((status = 200, description = "The post-mortem after the step", body = PostmortemView)))]
pub(crate) async fn take_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: i64,
    step: Step,
    patch: SectionsPatch,
) -> Result<HttpResponse, AppError> {
    let (actor, now) = (user.actor(&req), state.clock.now());
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| service::change(conn, &actor, now, id, step, &patch))
            .await?,
    ))
}

/// Saves sections of a post-mortem; absent sections stay, empty ones are cleared.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}/postmortem", tag = "postmortems", operation_id = "update_postmortem",
    params(("id" = i64, Path, example = 1, description = "Incident id")), request_body = SectionsPatch,
    responses((status = 200, description = "The post-mortem", body = PostmortemView)))]
pub(crate) async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<SectionsPatch>,
) -> Result<HttpResponse, AppError> {
    take_step(req, state, user, path.into_inner(), Step::Edit, body.into_inner()).await
}

/// Adds an action item with an owner and a due date.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem/action-items", tag = "postmortems", operation_id = "add_action_item",
    params(("id" = i64, Path, example = 1, description = "Incident id")), request_body = ActionItemInput,
    responses((status = 201, description = "The post-mortem with the item", body = PostmortemView)))]
pub(crate) async fn add_item(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<ActionItemInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, input) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    Ok(HttpResponse::Created().json(
        state
            .db(move |conn| service::add_item(conn, &actor, now, id, &input))
            .await?,
    ))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub(crate) struct ItemsQuery {
    /// Done items too (default: open ones only).
    all: bool,
}

/// The signed-in user's action items.
#[utoipa::path(get, path = "/api/v1/action-items", tag = "postmortems", operation_id = "my_action_items", params(ItemsQuery),
    responses((status = 200, description = "Action items", body = Items<ActionItemView>)))]
pub(crate) async fn my_items(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<ItemsQuery>,
) -> Result<HttpResponse, AppError> {
    let (owner, now, open_only) = (user.id, state.clock.now(), !query.all);
    let items = state
        .db(move |conn| service::items_of(conn, None, Some(owner), open_only, now))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Marks an action item done (its owner, or a writer of post-mortems).
#[utoipa::path(post, path = "/api/v1/action-items/{id}/done", tag = "postmortems", operation_id = "complete_action_item",
    params(("id" = i64, Path, example = 1, description = "Action item id")),
    responses((status = 204, description = "Done")))]
pub(crate) async fn done(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    let may_manage =
        crate::auth::permissions::allows(user.role, crate::auth::permissions::Permission::WritePostmortems);
    state
        .db(move |conn| service::complete_item(conn, &actor, now, id, may_manage))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
