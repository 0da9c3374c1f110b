//! JSON API for problems under `/api/v1/problems`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::model::{AnalysisInput, Candidate, ProblemInput, ProblemRow, ProblemView};
use super::rules::Action;
use super::service;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::{Items, Json, PageBefore};
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only problems not yet closed.
    open: Option<bool>,
    /// Keyset cursor: `next_before` of the previous page.
    before: Option<i64>,
    /// Page size, 1 to 100 (default 100).
    limit: Option<i64>,
    /// `include` lists archived problems too; left out by default (`exclude`).
    archived: Option<String>,
}

/// Problems, newest first.
#[utoipa::path(get, path = "/api/v1/problems", tag = "problems", operation_id = "list_problems", params(ListQuery),
    responses((status = 200, description = "A page of problems", body = PageBefore<ProblemRow>)))]
pub(crate) async fn list(state: web::Data<AppState>, query: Query<ListQuery>) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let include_archived = crate::tickets::queries::include_archived(q.archived.as_deref()).ok_or_else(|| {
        AppError::Validation(crate::error::FieldErrors::single(
            "archived",
            crate::error::FieldMessage::new("archived-error-invalid"),
        ))
    })?;
    let (items, next_before) = state
        .db(move |conn| {
            service::list(
                conn,
                q.open.unwrap_or(false),
                include_archived,
                q.before,
                q.limit.unwrap_or(100),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(PageBefore { items, next_before }))
}

/// Categories and services with 3 or more incidents in 30 days that no problem covers yet.
#[utoipa::path(get, path = "/api/v1/problems/candidates", tag = "problems", operation_id = "problem_candidates",
    responses((status = 200, description = "Candidates", body = Items<Candidate>)))]
pub(crate) async fn candidates(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (now, tz) = (state.clock.now(), user.time_zone.clone());
    let items = state.db(move |conn| service::candidates(conn, now, &tz)).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Opens a problem, optionally linked to the incidents behind it.
#[utoipa::path(post, path = "/api/v1/problems", tag = "problems", operation_id = "create_problem", request_body = ProblemInput,
    responses((status = 201, description = "Created; `Location` names it", body = ProblemView, headers(("Location" = String, description = "The new problem's URL")))))]
pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<ProblemInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let view = state
        .db(move |conn| {
            crate::tickets::watchers::create_with_requester(
                conn,
                &input.requester(),
                |conn| service::create(conn, &actor, now, &input),
                |v| v.id,
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/problems/{}", view.id)))
        .json(view))
}

/// One problem with its incidents and timeline.
#[utoipa::path(get, path = "/api/v1/problems/{id}", tag = "problems", operation_id = "get_problem",
    params(("id" = i64, Path, example = 1, description = "Problem id (not its number)")),
    responses((status = 200, description = "The problem", body = ProblemView)))]
pub(crate) async fn show(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| service::get(conn, id)).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub(crate) struct LinkBody {
    /// Incidents to link to the problem.
    incident_ids: Vec<i64>,
}

/// Links incidents to a problem.
#[utoipa::path(post, path = "/api/v1/problems/{id}/incidents", tag = "problems", operation_id = "link_incidents",
    params(("id" = i64, Path, example = 1, description = "Problem id (not its number)")), request_body = LinkBody,
    responses((status = 200, description = "The problem", body = ProblemView)))]
pub(crate) async fn link(
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

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct TransitionBody {
    #[serde(flatten)]
    analysis: AnalysisInput,
    /// What fixed it (resolve).
    resolution: String,
}

/// Takes the step {action} of the problem's state machine; the body saves the analysis at the same time (`known-error` requires it).
#[utoipa::path(post, path = "/api/v1/problems/{id}/{action}", tag = "problems", operation_id = "problem_action",
    params(("id" = i64, Path, example = 1, description = "Problem id (not its number)"), ("action" = String, Path, description = "The step")),
    request_body(content = Option<TransitionBody>, description = "Optional: `version`, analysis fields, `resolution`"),
    responses((status = 200, description = "The problem after the step", body = ProblemView)))]
pub(crate) async fn transition(
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
