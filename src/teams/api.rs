//! JSON API for teams.

use actix_web::{web, HttpRequest, HttpResponse};

use super::model::{Team, TeamInput, TeamSummary};
use super::{queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::{patched, Items, Json};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/teams")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .route("/teams/{id}", web::patch().to(update));
}

/// All teams with their member counts.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", operation_id = "list_teams",
    responses((status = 200, description = "Every team", body = Items<TeamSummary>)))]
pub(crate) async fn list(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let teams = state
        .db(|conn| {
            let counts = queries::member_counts(conn)?;
            Ok(queries::all(conn)?
                .into_iter()
                .map(|t| TeamSummary {
                    member_count: counts.get(&t.id).copied().unwrap_or(0),
                    id: t.id,
                    name: t.name,
                    description: t.description,
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items: teams }))
}

/// Creates a team.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", operation_id = "create_team", request_body = TeamInput,
    responses((status = 201, description = "The new team", body = Team)))]
pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<TeamInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let team = state.db(move |conn| service::create(conn, &actor, now, &input)).await?;
    Ok(HttpResponse::Created().json(team))
}

/// Renames or re-describes a team.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", operation_id = "update_team",
    params(("id" = i64, Path, example = 1, description = "Team id")), request_body = TeamInput,
    responses((status = 200, description = "The changed team", body = Team)))]
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
    let team = state
        .db(move |conn| {
            // A merge: the fields the body leaves out keep their stored values.
            let current = queries::find(conn, id)?;
            let base = serde_json::json!({ "name": current.name, "description": current.description });
            let input: TeamInput = patched(base, patch)?;
            service::update(conn, &actor, now, id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(team))
}
