//! JSON API: `/api/v1/incidents/{id}/postmortem` and `/api/v1/action-items`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::model::{ActionItemInput, SectionsPatch};
use super::rules::Step;
use super::service;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::Json;
use crate::web::query::Query;

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
    for step in [Step::Submit, Step::Return, Step::Publish] {
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

async fn show(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let (id, now) = (path.into_inner(), state.clock.now());
    Ok(HttpResponse::Ok().json(state.db(move |conn| service::get(conn, id, now)).await?))
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    Ok(HttpResponse::Created().json(state.db(move |conn| service::create(conn, &actor, now, id)).await?))
}

async fn take_step(
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

async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<SectionsPatch>,
) -> Result<HttpResponse, AppError> {
    take_step(req, state, user, path.into_inner(), Step::Edit, body.into_inner()).await
}

async fn add_item(
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

#[derive(Deserialize, Default)]
#[serde(default)]
struct ItemsQuery {
    all: bool,
}

async fn my_items(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<ItemsQuery>,
) -> Result<HttpResponse, AppError> {
    let (owner, now, open_only) = (user.id, state.clock.now(), !query.all);
    let items = state
        .db(move |conn| service::items_of(conn, None, Some(owner), open_only, now))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn done(
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
