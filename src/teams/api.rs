//! JSON API for teams.

use actix_web::{web, HttpRequest, HttpResponse};

use super::model::{TeamInput, TeamSummary};
use super::{queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::{patched, Json};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/teams")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .route("/teams/{id}", web::patch().to(update));
}

async fn list(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
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
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": teams })))
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<TeamInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let team = state.db(move |conn| service::create(conn, &actor, now, &input)).await?;
    Ok(HttpResponse::Created().json(team))
}

async fn update(
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
