//! Pages and API of the shared use cases (`work.rs`) for every kind: `/tickets/{id}/comments`,
//! `assign`, `watchers`, `attachments`. The route table lets every signed-in person in; the
//! ticket's kind decides (`work::load_for`): 404 for no such ticket, 403 for a kind the role
//! may not see or work. Pages go back to the ticket's own page (`KindSpec::page`).

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::model::Ticket;
use super::work::{self, AssignInput, CommentInput, Need};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::flash_back;
use crate::web::forms::Form;
use crate::web::json::Json;

pub fn pages(cfg: &mut web::ServiceConfig) {
    cfg.route("/tickets/{id}/comments", web::post().to(comment_page))
        .route("/tickets/{id}/assign", web::post().to(assign_page))
        .route("/tickets/{id}/attachments", web::post().to(attach_page))
        .route(
            "/tickets/{id}/attachments/{attachment_id}",
            web::get().to(download_page),
        )
        .route("/tickets/{id}/watchers", web::post().to(watch_page))
        .route("/tickets/{id}/watchers/{user_id}/delete", web::post().to(unwatch_page))
        .route("/tickets/{id}/requester", web::post().to(requester_page));
}

pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.route("/tickets/{id}/comments", web::post().to(comment_api))
        .route("/tickets/{id}/assign", web::post().to(assign_api))
        .route("/tickets/{id}/attachments", web::post().to(attach_api))
        .route("/tickets/{id}/attachments/{attachment_id}", web::get().to(download_api))
        .service(
            web::resource("/tickets/{id}/watchers")
                .route(web::get().to(watchers_api))
                .route(web::post().to(watch_api)),
        )
        .route("/tickets/{id}/watchers/{user_id}", web::delete().to(unwatch_api))
        .route("/tickets/{id}/requester", web::post().to(requester_api));
}

/// A team or person to choose in a form.
#[derive(Serialize)]
pub struct Choice {
    pub id: i64,
    pub name: String,
}

/// The teams and the active people, for the assign forms of every kind.
pub async fn choices(state: &web::Data<AppState>) -> Result<(Vec<Choice>, Vec<Choice>), AppError> {
    state
        .db(|conn| {
            let teams = crate::teams::queries::all(conn)?
                .into_iter()
                .map(|t| Choice { id: t.id, name: t.name })
                .collect();
            let filter = crate::users::model::UserFilter::default();
            let users = crate::users::queries::list(conn, &filter, 1000)?
                .into_iter()
                .filter(|u| u.active)
                .map(|u| Choice {
                    id: u.id,
                    name: u.display_name,
                })
                .collect();
            Ok((teams, users))
        })
        .await
}

/// A ticket of any kind after a shared use case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketSummary {
    pub id: i64,
    /// `incident` or `problem`.
    pub kind: String,
    #[schema(example = "PRB-000012")]
    pub number: String,
    pub title: String,
    pub status: String,
    pub priority: String,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub version: i32,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
    /// The person the ticket is for, when it has one.
    pub requester: Option<super::watchers::RequesterView>,
    /// Its page: `/problems/12`.
    #[schema(example = "/problems/12")]
    pub page: String,
}

impl TicketSummary {
    pub fn of(conn: &mut crate::db::DbConnection, ticket: Ticket) -> Result<Self, AppError> {
        let page = work::spec_of(&ticket)?.page(ticket.id);
        let requester = super::watchers::requester_of(conn, ticket.id)?;
        Ok(Self {
            id: ticket.id,
            kind: ticket.kind,
            number: ticket.reference,
            title: ticket.title,
            status: ticket.status,
            priority: ticket.priority,
            team_id: ticket.team_id,
            assignee_id: ticket.assignee_id,
            version: ticket.version,
            updated_at: ticket.updated_at,
            requester,
            page,
        })
    }
}

/// Runs `run` on a ticket the user may work, then reads it back; returns the ticket's page too.
async fn on_ticket<F>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: &CurrentUser,
    id: i64,
    run: F,
) -> Result<(TicketSummary, String), AppError>
where
    F: FnOnce(
            &mut crate::db::DbConnection,
            &crate::audit::model::Actor,
            NaiveDateTime,
            &'static super::kind::KindSpec,
        ) -> Result<(), AppError>
        + Send
        + 'static,
{
    let (actor, now, role) = (user.actor(req), state.clock.now(), user.role);
    state
        .db(move |conn| {
            let (_, spec) = work::load_for(conn, id, role, Need::Work)?;
            run(conn, &actor, now, spec)?;
            let ticket = super::queries::find(conn, id)?;
            let summary = TicketSummary::of(conn, ticket)?;
            let page = spec.page(id);
            Ok((summary, page))
        })
        .await
}

async fn comment_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(input): Form<CommentInput>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (_, page) = on_ticket(&req, &state, &user, id, move |conn, actor, now, _| {
        work::comment(conn, actor, now, id, &input)
    })
    .await?;
    flash_back(&session, Ok(()), "flash-comment-added", &page)
}

/// Adds a comment to the timeline of a ticket of any kind.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/comments", tag = "tickets", operation_id = "comment_ticket",
    params(("id" = i64, Path, example = 1, description = "Ticket id (an incident's or a problem's)")), request_body = CommentInput,
    responses((status = 201, description = "The ticket", body = TicketSummary)))]
pub(crate) async fn comment_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<CommentInput>,
) -> Result<HttpResponse, AppError> {
    let (id, input) = (path.into_inner(), body.into_inner());
    let (summary, _) = on_ticket(&req, &state, &user, id, move |conn, actor, now, _| {
        work::comment(conn, actor, now, id, &input)
    })
    .await?;
    Ok(HttpResponse::Created().json(summary))
}

/// The assign form: both fields always sent; an empty choice clears.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AssignForm {
    version: Option<i32>,
    team_id: String,
    assignee_id: String,
}

fn opt_id(field: &'static str, raw: &str) -> Result<Option<i64>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| {
        AppError::Validation(crate::error::FieldErrors::single(
            field,
            crate::error::FieldMessage::new("error-user-unknown"),
        ))
    })
}

fn assign_run(
    role: crate::auth::permissions::Role,
    id: i64,
    input: AssignInput,
) -> impl FnOnce(
    &mut crate::db::DbConnection,
    &crate::audit::model::Actor,
    NaiveDateTime,
    &'static super::kind::KindSpec,
) -> Result<(), AppError>
       + Send
       + 'static {
    move |conn, actor, now, spec| {
        work::check_people_fields(spec, role, input.team_id.is_some(), input.assignee_id.is_some())?;
        work::assign(conn, actor, now, id, &input)
    }
}

async fn assign_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<AssignForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = AssignInput {
        version: form.version,
        team_id: Some(opt_id("team_id", &form.team_id)?),
        assignee_id: Some(opt_id("assignee_id", &form.assignee_id)?),
    };
    let (_, page) = on_ticket(&req, &state, &user, id, assign_run(user.role, id, input)).await?;
    flash_back(&session, Ok(()), "flash-ticket-assigned", &page)
}

/// Sets or clears the team and assignee of a ticket of any kind (the kind says who may set
/// which field; the assignee must belong to the team).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/assign", tag = "tickets", operation_id = "assign_ticket",
    params(("id" = i64, Path, example = 1, description = "Ticket id")), request_body = AssignInput,
    responses((status = 200, description = "The ticket", body = TicketSummary)))]
pub(crate) async fn assign_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<AssignInput>,
) -> Result<HttpResponse, AppError> {
    let (id, input) = (path.into_inner(), body.into_inner());
    let (summary, _) = on_ticket(&req, &state, &user, id, assign_run(user.role, id, input)).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Stores an upload on a ticket the user may work. The body is read first, as every form is
/// (its text fields are checked before any record is looked up); nothing is stored otherwise.
async fn attach(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: &CurrentUser,
    id: i64,
    payload: actix_multipart::Multipart,
) -> Result<(crate::attachments::model::Attachment, String), AppError> {
    let upload = crate::attachments::routes::read_upload(payload, state.config.max_upload_bytes).await?;
    let (actor, now, data_dir, role) = (
        user.actor(req),
        state.clock.now(),
        state.config.data_dir.clone(),
        user.role,
    );
    let limits = crate::attachments::service::Limits::of(&state.config);
    state
        .db(move |conn| {
            let page = work::load_for(conn, id, role, Need::Work)?.1.page(id);
            let stored = crate::attachments::service::store(conn, &data_dir, &actor, now, id, &upload, limits)?;
            Ok((stored, page))
        })
        .await
}

async fn attach_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, AppError> {
    let (_, page) = attach(&req, &state, &user, path.into_inner(), payload).await?;
    flash_back(&session, Ok(()), "flash-attachment-added", &page)
}

/// Attaches a file (multipart field `file`) to a ticket of any kind.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/attachments", tag = "tickets", operation_id = "attach_to_ticket",
    params(("id" = i64, Path, example = 1, description = "Ticket id")), request_body(content = inline(crate::attachments::model::UploadForm), content_type = "multipart/form-data"),
    responses((status = 201, description = "The stored attachment", body = crate::attachments::model::Attachment)))]
pub(crate) async fn attach_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, AppError> {
    let (stored, _) = attach(&req, &state, &user, path.into_inner(), payload).await?;
    Ok(HttpResponse::Created().json(stored))
}

async fn download_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, attachment_id) = path.into_inner();
    crate::attachments::routes::serve(&state, user.role, Some(id), attachment_id).await
}

/// Downloads an attachment of a ticket of any kind (always as a download).
#[utoipa::path(get, path = "/api/v1/tickets/{id}/attachments/{attachment_id}", tag = "tickets", operation_id = "download_ticket_attachment",
    params(("id" = i64, Path, example = 1, description = "Ticket id"), ("attachment_id" = i64, Path, example = 1, description = "Attachment id")),
    responses((status = 200, description = "The file, as an attachment, with its stored content type",
        content_type = "*/*", body = Vec<u8>)))]
pub(crate) async fn download_api(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, attachment_id) = path.into_inner();
    crate::attachments::routes::serve(&state, user.role, Some(id), attachment_id).await
}

/// What the watchers panel of a ticket page shows (`templates/tickets/_watchers.html`).
#[derive(Debug, Serialize)]
pub struct WatchPanel {
    pub ticket_id: i64,
    pub watchers: Vec<super::watchers::Watcher>,
    pub requester: Option<super::watchers::RequesterView>,
    /// Whether the reader watches it (the Watch / Unwatch button).
    pub watching: bool,
    /// Whether the reader may add and remove others and change the requester.
    pub can_work: bool,
}

/// The watchers panel of ticket `id` for a reader (inside the page's `state.db` call).
pub fn watch_panel(
    conn: &mut crate::db::DbConnection,
    id: i64,
    user_id: i64,
    role: crate::auth::permissions::Role,
) -> Result<WatchPanel, AppError> {
    let ticket = super::queries::find(conn, id)?;
    let can_work = work::may(work::spec_of(&ticket)?, role, Need::Work);
    let watchers = super::watchers::list(conn, id)?;
    Ok(WatchPanel {
        ticket_id: id,
        watching: watchers.iter().any(|w| w.user_id == user_id),
        watchers,
        requester: super::watchers::requester_of(conn, id)?,
        can_work,
    })
}

/// The watch form: `user_id` empty = the person asking.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WatchForm {
    user_id: String,
}

async fn watch_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<WatchForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let who = opt_id("user_id", &form.user_id)?;
    let page = watch(&req, &state, &user, id, who).await?;
    flash_back(&session, Ok(()), "flash-watcher-added", &page)
}

async fn watch(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: &CurrentUser,
    id: i64,
    who: Option<i64>,
) -> Result<String, AppError> {
    let (actor, now, role) = (user.actor(req), state.clock.now(), user.role);
    state
        .db(move |conn| {
            super::watchers::add(conn, &actor, role, now, id, who)?;
            Ok(work::spec_of(&super::queries::find(conn, id)?)?.page(id))
        })
        .await
}

async fn unwatch(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: &CurrentUser,
    id: i64,
    who: i64,
) -> Result<String, AppError> {
    let (actor, now, role) = (user.actor(req), state.clock.now(), user.role);
    state
        .db(move |conn| {
            super::watchers::remove(conn, &actor, role, now, id, who)?;
            Ok(work::spec_of(&super::queries::find(conn, id)?)?.page(id))
        })
        .await
}

async fn unwatch_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, who) = path.into_inner();
    let page = unwatch(&req, &state, &user, id, who).await?;
    flash_back(&session, Ok(()), "flash-watcher-removed", &page)
}

/// The watchers of a ticket.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct WatcherList {
    items: Vec<super::watchers::Watcher>,
}

/// Who watches a ticket (anyone who can see it may ask).
#[utoipa::path(get, path = "/api/v1/tickets/{id}/watchers", tag = "tickets", operation_id = "list_watchers",
    params(("id" = i64, Path, example = 1, description = "Ticket id")),
    responses((status = 200, description = "The watchers", body = WatcherList)))]
pub(crate) async fn watchers_api(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, role) = (path.into_inner(), user.role);
    let items = state
        .db(move |conn| {
            work::load_for(conn, id, role, Need::View)?;
            super::watchers::list(conn, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WatcherList { items }))
}

/// Watches a ticket (no `user_id`), or adds someone who can see it as a watcher (needs work on
/// the ticket; someone who cannot see its kind is a 422 on `user_id`).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/watchers", tag = "tickets", operation_id = "add_watcher",
    params(("id" = i64, Path, example = 1, description = "Ticket id")), request_body = super::watchers::WatchInput,
    responses((status = 200, description = "The watchers", body = WatcherList)))]
pub(crate) async fn watch_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<super::watchers::WatchInput>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    watch(&req, &state, &user, id, body.into_inner().user_id).await?;
    let items = state.db(move |conn| super::watchers::list(conn, id)).await?;
    Ok(HttpResponse::Ok().json(WatcherList { items }))
}

/// Stops watching (one's own id), or removes another watcher (needs work on the ticket).
#[utoipa::path(delete, path = "/api/v1/tickets/{id}/watchers/{user_id}", tag = "tickets", operation_id = "remove_watcher",
    params(("id" = i64, Path, example = 1, description = "Ticket id"), ("user_id" = i64, Path, example = 2, description = "The watcher's user id")),
    responses((status = 204, description = "Removed")))]
pub(crate) async fn unwatch_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, who) = path.into_inner();
    unwatch(&req, &state, &user, id, who).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The requester form: a user or an address; both empty clears it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RequesterForm {
    requester_id: String,
    requester_email: String,
}

async fn requester_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<RequesterForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = super::watchers::RequesterInput {
        requester_id: opt_id("requester_id", &form.requester_id)?,
        requester_email: form.requester_email,
    };
    let (_, page) = on_ticket(&req, &state, &user, id, move |conn, actor, now, _| {
        super::watchers::set_requester(conn, actor, now, id, &input)
    })
    .await?;
    flash_back(&session, Ok(()), "flash-requester-saved", &page)
}

/// Sets (or, with neither field, clears) the person a ticket is for: a user or an address.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/requester", tag = "tickets", operation_id = "set_requester",
    params(("id" = i64, Path, example = 1, description = "Ticket id")), request_body = super::watchers::RequesterInput,
    responses((status = 200, description = "The ticket", body = TicketSummary)))]
pub(crate) async fn requester_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<super::watchers::RequesterInput>,
) -> Result<HttpResponse, AppError> {
    let (id, input) = (path.into_inner(), body.into_inner());
    let (summary, _) = on_ticket(&req, &state, &user, id, move |conn, actor, now, _| {
        super::watchers::set_requester(conn, actor, now, id, &input)
    })
    .await?;
    Ok(HttpResponse::Ok().json(summary))
}
