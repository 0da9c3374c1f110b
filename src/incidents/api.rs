//! JSON API for incidents under `/api/v1/incidents`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::model::{IncidentFilter, IncidentInput};
use super::rules::Action;
use super::service::{self, AssignInput, CommentInput, EscalationInput, StatusUpdateInput, TransitionInput};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::Json;
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

async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<IncidentFilter>,
) -> Result<HttpResponse, AppError> {
    let (user_id, tz, filter, now) = (user.id, user.time_zone.clone(), query.into_inner(), state.clock.now());
    let limit = filter.limit.unwrap_or(service::PAGE_LIMIT);
    let (items, next_before) = state
        .db(move |conn| service::list(conn, user_id, &tz, &filter, limit, now))
        .await?;
    Ok(HttpResponse::Ok().json(crate::web::json::PageBefore { items, next_before }))
}

async fn create(
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
        .db(move |conn| service::create(conn, &actor, now, &tz, &input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/incidents/{}", view.id)))
        .json(view))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ShowQuery {
    /// Include similar past incidents (a text search; off by default to keep reads cheap).
    similar: bool,
}

async fn show(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, similar) = (path.into_inner(), query.similar);
    let now = state.clock.now();
    let view = state.db(move |conn| service::get_live(conn, id, now, similar)).await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn edit(
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

async fn transition(
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

async fn comment(
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

async fn status_update(
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

async fn escalate(
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

async fn assign(
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

async fn attach(
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

#[derive(serde::Deserialize)]
struct TemplateQuery {
    state: String,
    /// `ja` or `en`; the user's language when absent.
    lang: Option<String>,
}

/// The prefilled text of a status update in ja or en, for clients that post updates.
async fn status_update_template(
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
    Ok(HttpResponse::Ok().json(serde_json::json!({ "state": query.state, "lang": lang.code(), "message": message })))
}
