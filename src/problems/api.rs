//! JSON API for problems under `/api/v1/problems`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::model::{AnalysisInput, ProblemInput};
use super::rules::Action;
use super::service;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::Json;
use crate::web::query::Query;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/problems")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .route("/problems/candidates", web::get().to(candidates))
    .route("/problems/{id}", web::get().to(show))
    .route("/problems/{id}/incidents", web::post().to(link));
    for action in Action::ALL {
        cfg.route(
            &format!("/problems/{{id}}/{}", action.as_str()),
            web::post().to(
                move |req: HttpRequest,
                      state: web::Data<AppState>,
                      user: CurrentUser,
                      path: web::Path<i64>,
                      body: Json<Option<TransitionBody>>| {
                    transition(req, state, user, path, body, action)
                },
            ),
        );
    }
}

#[derive(Deserialize)]
struct ListQuery {
    open: Option<bool>,
    before: Option<i64>,
    limit: Option<i64>,
}

async fn list(state: web::Data<AppState>, query: Query<ListQuery>) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let (items, next_before) = state
        .db(move |conn| service::list(conn, q.open.unwrap_or(false), q.before, q.limit.unwrap_or(100)))
        .await?;
    Ok(HttpResponse::Ok().json(crate::web::json::PageBefore { items, next_before }))
}

async fn candidates(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (now, tz) = (state.clock.now(), user.time_zone.clone());
    let items = state.db(move |conn| service::candidates(conn, now, &tz)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<ProblemInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let view = state.db(move |conn| service::create(conn, &actor, now, &input)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/problems/{}", view.id)))
        .json(view))
}

async fn show(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| service::get(conn, id)).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkBody {
    incident_ids: Vec<i64>,
}

async fn link(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<LinkBody>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, ids) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner().incident_ids,
    );
    Ok(HttpResponse::Ok().json(
        state
            .db(move |conn| service::link_incidents(conn, &actor, now, id, &ids))
            .await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TransitionBody {
    #[serde(flatten)]
    analysis: AnalysisInput,
    resolution: String,
}

async fn transition(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<Option<TransitionBody>>,
    action: Action,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    let body = body.into_inner().unwrap_or_default();
    let view = state
        .db(move |conn| service::transition(conn, &actor, now, id, action, &body.analysis, &body.resolution))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
