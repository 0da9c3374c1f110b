//! JSON API for incidents under `/api/v1/incidents`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::model::{IncidentFilter, IncidentInput, IncidentView};
use super::rules::Action;
use super::service::{
    self, AssignInput, CommentInput, EditInput, EscalationInput, ListItem, StatusUpdateInput, TransitionInput,
};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::{Json, PageBefore};
use crate::web::query::Query;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/incidents")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .route("/incidents/{id}", web::get().to(show))
    .route("/incidents/{id}", web::patch().to(edit))
    .route("/incidents/{id}/comments", web::post().to(comment))
    .route("/incidents/{id}/status-updates", web::post().to(status_update))
    .route(
        "/incidents/{id}/status-update-template",
        web::get().to(status_update_template),
    )
    .route("/incidents/{id}/escalate", web::post().to(escalate))
    .route("/incidents/{id}/assign", web::post().to(assign))
    .route("/incidents/{id}/attachments", web::post().to(attach))
    .route("/attachments/{id}", web::get().to(crate::attachments::routes::download));
    for action in Action::ALL {
        cfg.route(
            &format!("/incidents/{{id}}/{}", action.as_str()),
            web::post().to(
                move |req: HttpRequest,
                      state: web::Data<AppState>,
                      user: CurrentUser,
                      path: web::Path<i64>,
                      body: Json<Option<TransitionInput>>| {
                    transition(req, state, user, path, body, action)
                },
            ),
        );
    }
}

/// Incidents of a queue or filter, newest first by default, with the SLA clock that matters now.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", operation_id = "list_incidents", params(IncidentFilter),
    responses((status = 200, description = "A page of incidents", body = PageBefore<ListItem>)))]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<IncidentFilter>,
) -> Result<HttpResponse, AppError> {
    let (user_id, tz, filter, now) = (user.id, user.time_zone.clone(), query.into_inner(), state.clock.now());
    let limit = filter.limit.unwrap_or(service::PAGE_LIMIT);
    let (items, next_before) = state
        .db(move |conn| service::list(conn, user_id, &tz, &filter, limit, now))
        .await?;
    Ok(HttpResponse::Ok().json(PageBefore { items, next_before }))
}

/// Files an incident; its priority follows from impact and urgency.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", operation_id = "create_incident", request_body = IncidentInput,
    responses((status = 201, description = "Created; `Location` names it", body = IncidentView, headers(("Location" = String, description = "The new incident's URL")))))]
pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<IncidentInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, tz) = (user.actor(&req), state.clock.now(), user.time_zone.clone());
    let mut input = body.into_inner();
    service::check_people_fields(user.role, input.team_id.is_some(), input.assignee_id.is_some())?;
    if input.channel.trim().is_empty() {
        input.channel = "api".into();
    }
    let view = state
        .db(move |conn| {
            crate::tickets::watchers::create_with_requester(
                conn,
                &input.requester(),
                |conn| service::create(conn, &actor, now, &tz, &input),
                |v| v.id,
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/incidents/{}", view.id)))
        .json(view))
}

#[derive(serde::Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub(crate) struct ShowQuery {
    /// Include similar past incidents (a text search; off by default to keep reads cheap).
    similar: bool,
}

/// One incident with its timeline and live SLA clocks (`sla.explain`).
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", operation_id = "get_incident",
    params(("id" = i64, Path, example = 1, description = "Incident id (not its number)"), ShowQuery),
    responses((status = 200, description = "The incident", body = IncidentView)))]
pub(crate) async fn show(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, similar) = (path.into_inner(), query.similar);
    let now = state.clock.now();
    let view = state.db(move |conn| service::get_live(conn, id, now, similar)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Corrects an incident's text, classification or impact/urgency (`version` required).
#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", operation_id = "update_incident",
    params(("id" = i64, Path, example = 1, description = "Incident id (not its number)")), request_body = EditInput,
    responses((status = 200, description = "The changed incident", body = IncidentView)))]
pub(crate) async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<service::EditInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, input) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    let view = state
        .db(move |conn| service::edit(conn, &actor, now, id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Takes the step {action} of the incident's state machine (`allowed_actions` lists those possible now).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/{action}", tag = "incidents", operation_id = "incident_action",
    params(("id" = i64, Path, example = 1, description = "Incident id (not its number)"), ("action" = String, Path, description = "The step")),
    request_body(content = Option<TransitionInput>, description = "Optional: `version`, and what the step needs (`reason` to hold, `workaround` to mitigate, `resolution` to resolve)"),
    responses((status = 200, description = "The incident after the step", body = IncidentView)))]
pub(crate) async fn transition(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<Option<TransitionInput>>,
    action: Action,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    let input = body.into_inner().unwrap_or_default();
    let view = state
        .db(move |conn| service::transition(conn, &actor, now, id, action, &input))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Adds a comment to the timeline.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/comments", tag = "incidents", operation_id = "comment_incident",
    params(("id" = i64, Path, example = 1, description = "Incident id (not its number)")), request_body = CommentInput,
    responses((status = 201, description = "The incident with the comment", body = IncidentView)))]
pub(crate) async fn comment(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<CommentInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, input) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    let view = state
        .db(move |conn| service::comment(conn, &actor, now, id, &input))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Posts a status update for stakeholders (一次連絡 and later).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/status-updates", tag = "incidents", operation_id = "post_status_update",
    params(("id" = i64, Path, example = 1, description = "Incident id (not its number)")), request_body = StatusUpdateInput,
    responses((status = 201, description = "The incident with the update", body = IncidentView)))]
pub(crate) async fn status_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<StatusUpdateInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, input) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    let view = state
        .db(move |conn| service::status_update(conn, &actor, now, id, &input))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Escalates (functional or hierarchical) or de-escalates an incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/escalate", tag = "incidents", operation_id = "escalate_incident",
    params(("id" = i64, Path, example = 1, description = "Incident id (not its number)")), request_body = EscalationInput,
    responses((status = 200, description = "The escalated incident", body = IncidentView)))]
pub(crate) async fn escalate(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<EscalationInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, input) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    service::check_people_fields(user.role, input.to_team.is_some(), false)?;
    let view = state
        .db(move |conn| service::escalate(conn, &actor, now, id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Sets or clears the team and assignee.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/assign", tag = "incidents", operation_id = "assign_incident",
    params(("id" = i64, Path, example = 1, description = "Incident id (not its number)")), request_body = AssignInput,
    responses((status = 200, description = "The incident", body = IncidentView)))]
pub(crate) async fn assign(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<AssignInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, input) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        body.into_inner(),
    );
    service::check_people_fields(user.role, input.team_id.is_some(), input.assignee_id.is_some())?;
    let view = state
        .db(move |conn| service::assign(conn, &actor, now, id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Uploads a file (multipart field `file`) to an incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/attachments", tag = "incidents", operation_id = "attach_to_incident",
    params(("id" = i64, Path, example = 1, description = "Incident id (not its number)")), request_body(content = inline(crate::attachments::model::UploadForm), content_type = "multipart/form-data"),
    responses((status = 201, description = "The stored attachment", body = crate::attachments::model::Attachment)))]
pub(crate) async fn attach(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, AppError> {
    let upload = crate::attachments::routes::read_upload(payload, state.config.max_upload_bytes).await?;
    let (actor, now, id, data_dir) = (
        user.actor(&req),
        state.clock.now(),
        path.into_inner(),
        state.config.data_dir.clone(),
    );
    let limits = crate::attachments::service::Limits::of(&state.config);
    let stored = state
        .db(move |conn| crate::attachments::service::store(conn, &data_dir, &actor, now, id, &upload, limits))
        .await?;
    Ok(HttpResponse::Created().json(stored))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TemplateQuery {
    /// `confirming`, `investigating`, `identified`, `monitoring` or `recovered`.
    #[param(example = "investigating")]
    state: String,
    /// `ja` or `en`; the user's language when absent.
    lang: Option<String>,
}

/// A prefilled status update.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct StatusUpdateTemplate {
    #[schema(example = "investigating")]
    state: String,
    /// `ja` or `en`.
    lang: &'static str,
    #[schema(example = "【障害報告（第2報）】INC-000186 VPN 接続不可\n現在、原因を調査しています。")]
    message: String,
}

/// The prefilled text of a status update in ja or en, for clients that post updates.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/status-update-template", tag = "incidents", operation_id = "status_update_template",
    params(("id" = i64, Path, example = 1, description = "Incident id (not its number)"), TemplateQuery),
    responses((status = 200, description = "The text to edit and post", body = StatusUpdateTemplate)))]
pub(crate) async fn status_update_template(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    query: Query<TemplateQuery>,
) -> Result<HttpResponse, AppError> {
    use crate::error::{FieldErrors, FieldMessage};
    use crate::web::i18n::Lang;
    let id = path.into_inner();
    let query = query.into_inner();
    let lang = match query.lang.as_deref() {
        None | Some("") => user.locale,
        Some(code) => Lang::parse(code).ok_or_else(|| {
            AppError::Validation(FieldErrors::single("lang", FieldMessage::new("error-locale-invalid")))
        })?,
    };
    let view = state.db(move |conn| service::get(conn, id, false)).await?;
    let message = service::status_update_template(&view, &query.state, lang, state.clock.now(), &user.time_zone)
        .ok_or_else(|| {
            AppError::Validation(FieldErrors::single(
                "state",
                FieldMessage::new("error-update-state-invalid"),
            ))
        })?;
    Ok(HttpResponse::Ok().json(StatusUpdateTemplate {
        state: query.state,
        lang: lang.code(),
        message,
    }))
}
