//! JSON API for the CMDB: `/api/v1/cis` and `/api/v1/ci-classes`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::model::{Ci, CiClass, CiFilter, CiInput, CiSummary, Impact, ImpactQuery, Relationship, RelationshipInput};
use super::{queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::{patched, Items, Json, PageBefore};
use crate::web::query::Query;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/cis")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/cis/{id}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .route("/cis/{id}/impact", web::get().to(impact))
    .route("/cis/{id}/relationships", web::get().to(relationships))
    .route("/ci-relationships", web::post().to(relate))
    .route("/ci-relationships/{id}", web::delete().to(unrelate))
    .service(
        web::resource("/ci-classes")
            .route(web::get().to(classes))
            .route(web::post().to(create_class)),
    );
}

/// CIs newest first, filtered by class, status, environment, owner team and text, keyset-paged.
#[utoipa::path(get, path = "/api/v1/cis", tag = "cmdb", operation_id = "list_cis", params(CiFilter),
    responses((status = 200, description = "A page of CIs", body = PageBefore<CiSummary>)))]
pub(crate) async fn list(state: web::Data<AppState>, filter: Query<CiFilter>) -> Result<HttpResponse, AppError> {
    let filter = filter.into_inner();
    let page = state.db(move |conn| service::list(conn, &filter)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a CI.
#[utoipa::path(post, path = "/api/v1/cis", tag = "cmdb", operation_id = "create_ci", request_body = CiInput,
    responses((status = 201, description = "The new CI", body = Ci)))]
pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<CiInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let ci = state.db(move |conn| service::create(conn, &actor, now, &input)).await?;
    Ok(HttpResponse::Created().json(ci))
}

/// One CI with every field.
#[utoipa::path(get, path = "/api/v1/cis/{id}", tag = "cmdb", operation_id = "get_ci",
    params(("id" = i64, Path, example = 1, description = "CI id")),
    responses((status = 200, description = "The CI", body = Ci)))]
pub(crate) async fn show(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let ci = state.db(move |conn| service::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(ci))
}

/// Changes a CI: a merge into the stored record; `version`, when sent, must be the stored one.
#[utoipa::path(patch, path = "/api/v1/cis/{id}", tag = "cmdb", operation_id = "update_ci",
    params(("id" = i64, Path, example = 1, description = "CI id")), request_body = CiInput,
    responses((status = 200, description = "The changed CI", body = Ci)))]
pub(crate) async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, patch) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    let ci = state
        .db(move |conn| {
            let current = service::get(conn, id)?;
            let base = serde_json::to_value(CiInput::from_ci(&current)).map_err(AppError::internal)?;
            let input: CiInput = patched(base, patch)?;
            service::update(conn, &actor, now, id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ci))
}

/// Deletes a CI that no ticket names (409 otherwise: retire it instead).
#[utoipa::path(delete, path = "/api/v1/cis/{id}", tag = "cmdb", operation_id = "delete_ci",
    params(("id" = i64, Path, example = 1, description = "CI id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    state.db(move |conn| service::delete(conn, &actor, now, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every CI class.
#[utoipa::path(get, path = "/api/v1/ci-classes", tag = "cmdb", operation_id = "list_ci_classes",
    responses((status = 200, description = "Every class", body = Items<CiClass>)))]
pub(crate) async fn classes(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let items = state.db(|conn| Ok(queries::classes(conn)?)).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ClassInput {
    /// snake_case, 2–50 characters.
    #[schema(example = "load_balancer")]
    pub name: String,
}

/// Adds a CI class (admins).
#[utoipa::path(post, path = "/api/v1/ci-classes", tag = "cmdb", operation_id = "create_ci_class",
    request_body = ClassInput,
    responses((status = 201, description = "The new class", body = CiClass)))]
pub(crate) async fn create_class(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<ClassInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, name) = (user.actor(&req), state.clock.now(), body.into_inner().name);
    let class = state
        .db(move |conn| service::create_class(conn, &actor, now, &name))
        .await?;
    Ok(HttpResponse::Created().json(class))
}

/// What fails when this CI fails (`direction=down`, the default) or what it rests on (`up`),
/// each CI with the path that explains it; redundant groups pass a failure on only when every
/// member is down; cycles met are listed.
#[utoipa::path(get, path = "/api/v1/cis/{id}/impact", tag = "cmdb", operation_id = "ci_impact",
    params(("id" = i64, Path, example = 1, description = "CI id"), ImpactQuery),
    responses((status = 200, description = "The CIs reached, with their paths", body = Impact)))]
pub(crate) async fn impact(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: Query<ImpactQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, query) = (path.into_inner(), query.into_inner());
    let impact = state.db(move |conn| service::impact(conn, id, &query)).await?;
    Ok(HttpResponse::Ok().json(impact))
}

/// A CI's relationships, both ways.
#[utoipa::path(get, path = "/api/v1/cis/{id}/relationships", tag = "cmdb", operation_id = "ci_relationships",
    params(("id" = i64, Path, example = 1, description = "CI id")),
    responses((status = 200, description = "Its relationships", body = Items<Relationship>)))]
pub(crate) async fn relationships(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let items = state
        .db(move |conn| {
            service::get(conn, id)?;
            service::relationships(conn, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Adds a relationship: `from_id` depends on `to_id`.
#[utoipa::path(post, path = "/api/v1/ci-relationships", tag = "cmdb", operation_id = "create_ci_relationship",
    request_body = RelationshipInput,
    responses((status = 201, description = "The new relationship", body = Relationship)))]
pub(crate) async fn relate(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<RelationshipInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let relationship = state.db(move |conn| service::relate(conn, &actor, now, &input)).await?;
    Ok(HttpResponse::Created().json(relationship))
}

/// Removes a relationship.
#[utoipa::path(delete, path = "/api/v1/ci-relationships/{id}", tag = "cmdb", operation_id = "delete_ci_relationship",
    params(("id" = i64, Path, example = 1, description = "Relationship id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn unrelate(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    state.db(move |conn| service::unrelate(conn, &actor, now, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
