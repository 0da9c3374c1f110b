//! JSON API: `/api/v1/calendars` and `/api/v1/sla-policies` (CRUD; PATCH takes the fields to
//! change, as a JSON merge patch over the current record), `.ics` import of holidays, and the
//! levels of a team's escalation policy (`/api/v1/teams/{id}/escalation-rules`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::model::{CalendarInput, EscalationRuleInput, PolicyInput};
use super::{queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::{patched, Json};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/calendars")
            .route(web::get().to(list_calendars))
            .route(web::post().to(create_calendar)),
    )
    .service(
        web::resource("/calendars/{id}")
            .route(web::get().to(show_calendar))
            .route(web::patch().to(update_calendar))
            .route(web::delete().to(delete_calendar)),
    )
    .route("/calendars/{id}/import", web::post().to(import_calendar))
    .service(
        web::resource("/teams/{id}/escalation-rules")
            .route(web::get().to(list_rules))
            .route(web::post().to(create_rule)),
    )
    .route("/escalation-rules/{id}", web::delete().to(delete_rule))
    .service(
        web::resource("/sla-policies")
            .route(web::get().to(list_policies))
            .route(web::post().to(create_policy)),
    )
    .service(
        web::resource("/sla-policies/{id}")
            .route(web::get().to(show_policy))
            .route(web::patch().to(update_policy))
            .route(web::delete().to(delete_policy)),
    );
}

async fn list_calendars(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let items = state.db(service::calendars).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn show_calendar(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| service::calendar_view(conn, id)).await?))
}

async fn create_calendar(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<CalendarInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let view = state
        .db(move |conn| service::create_calendar(conn, &actor, now, &input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/calendars/{}", view.calendar.id)))
        .json(view))
}

async fn update_calendar(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<Value>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, patch) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    let view = state
        .db(move |conn| {
            let current = service::calendar_view(conn, id)?;
            let mut base = serde_json::to_value(&current).expect("json");
            // The closures are replaced only when the patch names them.
            if let Value::Object(map) = &mut base {
                map.remove("closures");
            }
            let input: CalendarInput = patched(base, patch)?;
            service::update_calendar(conn, &actor, now, id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn delete_calendar(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    state
        .db(move |conn| service::delete_calendar(conn, &actor, now, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The body is the .ics file itself (`Content-Type: text/calendar`).
async fn import_calendar(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: String,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    let view = state
        .db(move |conn| service::import_ics(conn, &actor, now, id, &body))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn list_policies(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let items = state.db(|conn| Ok(queries::policies(conn)?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn show_policy(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| Ok(queries::policy(conn, id)?)).await?))
}

async fn create_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<PolicyInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let policy = state
        .db(move |conn| service::create_policy(conn, &actor, now, &input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/sla-policies/{}", policy.id)))
        .json(policy))
}

async fn update_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<Value>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, patch) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    let policy = state
        .db(move |conn| {
            let current = queries::policy(conn, id)?;
            let mut base = serde_json::to_value(&current).expect("json");
            // Stored as "P1,P2"; the input takes a list.
            let priorities: Vec<String> = current
                .priorities
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            base["priorities"] = serde_json::json!(priorities);
            let input: PolicyInput = patched(base, patch)?;
            service::update_policy(conn, &actor, now, id, &input)
        })
        .await?;
    Ok(HttpResponse::Ok().json(policy))
}

async fn delete_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    state
        .db(move |conn| service::delete_policy(conn, &actor, now, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list_rules(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let team = path.into_inner();
    let items = state.db(move |conn| service::escalation_rules(conn, team)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn create_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<EscalationRuleInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, team, input) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    let rule = state
        .db(move |conn| service::create_escalation_rule(conn, &actor, now, team, &input))
        .await?;
    Ok(HttpResponse::Created().json(rule))
}

async fn delete_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    state
        .db(move |conn| service::delete_escalation_rule(conn, &actor, now, id).map(|_| ()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
