//! JSON API: `/api/v1/calendars` and `/api/v1/sla-policies` (CRUD; PATCH takes the fields to
//! change, as a JSON merge patch over the current record), `.ics` import of holidays, and the
//! levels of a team's escalation policy (`/api/v1/teams/{id}/escalation-rules`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::model::{CalendarInput, CalendarView, EscalationRule, EscalationRuleInput, Policy, PolicyInput};
use super::{queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::{patched, Items, Json};

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

/// Every business calendar.
#[utoipa::path(get, path = "/api/v1/calendars", tag = "sla", operation_id = "list_calendars",
    responses((status = 200, description = "Calendars", body = Items<CalendarView>)))]
pub(crate) async fn list_calendars(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let items = state.db(service::calendars).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// One business calendar with its week and closures.
#[utoipa::path(get, path = "/api/v1/calendars/{id}", tag = "sla", operation_id = "get_calendar",
    params(("id" = i64, Path, example = 1, description = "Calendar id")),
    responses((status = 200, description = "The calendar", body = CalendarView)))]
pub(crate) async fn show_calendar(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| service::calendar_view(conn, id)).await?))
}

/// Creates a business calendar.
#[utoipa::path(post, path = "/api/v1/calendars", tag = "sla", operation_id = "create_calendar", request_body = CalendarInput,
    responses((status = 201, description = "Created; `Location` names it", body = CalendarView, headers(("Location" = String, description = "The new calendar's URL")))))]
pub(crate) async fn create_calendar(
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

/// Changes a calendar: the body is a JSON merge patch (RFC 7396) over the calendar; `closures` are replaced only when given.
#[utoipa::path(patch, path = "/api/v1/calendars/{id}", tag = "sla", operation_id = "update_calendar",
    params(("id" = i64, Path, example = 1, description = "Calendar id")), request_body = CalendarInput,
    responses((status = 200, description = "The changed calendar", body = CalendarView)))]
pub(crate) async fn update_calendar(
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

/// Deletes a calendar no policy uses.
#[utoipa::path(delete, path = "/api/v1/calendars/{id}", tag = "sla", operation_id = "delete_calendar",
    params(("id" = i64, Path, example = 1, description = "Calendar id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_calendar(
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
/// Adds the holidays of an .ics file (`Content-Type: text/calendar`) to a calendar's closures.
#[utoipa::path(post, path = "/api/v1/calendars/{id}/import", tag = "sla", operation_id = "import_calendar_ics",
    params(("id" = i64, Path, example = 1, description = "Calendar id")), request_body(content = String, content_type = "text/calendar", description = "An iCalendar file"),
    responses((status = 200, description = "The calendar with the imported closures", body = CalendarView)))]
pub(crate) async fn import_calendar(
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

/// Every SLA policy, in matching order.
#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "sla", operation_id = "list_sla_policies",
    responses((status = 200, description = "Policies", body = Items<Policy>)))]
pub(crate) async fn list_policies(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let items = state.db(|conn| Ok(queries::policies(conn)?)).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// One SLA policy.
#[utoipa::path(get, path = "/api/v1/sla-policies/{id}", tag = "sla", operation_id = "get_sla_policy",
    params(("id" = i64, Path, example = 1, description = "Policy id")),
    responses((status = 200, description = "The policy", body = Policy)))]
pub(crate) async fn show_policy(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| Ok(queries::policy(conn, id)?)).await?))
}

/// Creates an SLA policy.
#[utoipa::path(post, path = "/api/v1/sla-policies", tag = "sla", operation_id = "create_sla_policy", request_body = PolicyInput,
    responses((status = 201, description = "Created; `Location` names it", body = Policy, headers(("Location" = String, description = "The new policy's URL")))))]
pub(crate) async fn create_policy(
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

/// Changes an SLA policy: the body is a JSON merge patch (RFC 7396) over the policy.
#[utoipa::path(patch, path = "/api/v1/sla-policies/{id}", tag = "sla", operation_id = "update_sla_policy",
    params(("id" = i64, Path, example = 1, description = "Policy id")), request_body = PolicyInput,
    responses((status = 200, description = "The changed policy", body = Policy)))]
pub(crate) async fn update_policy(
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

/// Deletes an SLA policy.
#[utoipa::path(delete, path = "/api/v1/sla-policies/{id}", tag = "sla", operation_id = "delete_sla_policy",
    params(("id" = i64, Path, example = 1, description = "Policy id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_policy(
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

/// The levels of a team's escalation policy.
#[utoipa::path(get, path = "/api/v1/teams/{id}/escalation-rules", tag = "sla", operation_id = "list_escalation_rules",
    params(("id" = i64, Path, example = 1, description = "Team id")),
    responses((status = 200, description = "Levels, first to last", body = Items<EscalationRule>)))]
pub(crate) async fn list_rules(state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let team = path.into_inner();
    let items = state.db(move |conn| service::escalation_rules(conn, team)).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Adds a level to a team's escalation policy.
#[utoipa::path(post, path = "/api/v1/teams/{id}/escalation-rules", tag = "sla", operation_id = "create_escalation_rule",
    params(("id" = i64, Path, example = 1, description = "Team id")), request_body = EscalationRuleInput,
    responses((status = 201, description = "The new level", body = EscalationRule)))]
pub(crate) async fn create_rule(
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

/// Removes a level of an escalation policy.
#[utoipa::path(delete, path = "/api/v1/escalation-rules/{id}", tag = "sla", operation_id = "delete_escalation_rule",
    params(("id" = i64, Path, example = 1, description = "Escalation rule id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_rule(
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
