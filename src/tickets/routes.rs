//! Soft deletion of tickets by administrators: a confirmation page with a required reason, the
//! list of deleted tickets with restore, and the same three actions in the JSON API.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use tera::Context;

use super::model::Ticket;
use super::{queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::forms::Form;
use crate::web::json::Json;
use crate::web::query::Query;
use crate::web::redirect;
use crate::web::templates::{render_status, request_lang};

const PAGE_SIZE: i64 = 50;
const CURSOR_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

pub fn pages(cfg: &mut web::ServiceConfig) {
    cfg.route("/tickets/{id}/delete", web::get().to(confirm))
        .route("/tickets/{id}/delete", web::post().to(delete_page))
        .route("/admin/deleted", web::get().to(deleted_page))
        .route("/admin/deleted/{id}/restore", web::post().to(restore_page));
}

pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.route("/tickets/deleted", web::get().to(deleted_api))
        .route("/tickets/{id}", web::delete().to(delete_api))
        .route("/tickets/{id}/restore", web::post().to(restore_api));
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub(crate) struct ReasonInput {
    /// Why the ticket is deleted (required).
    #[schema(example = "重複起票のため削除")]
    reason: String,
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub(crate) struct CursorQuery {
    /// Keyset cursor, with `before_id`: `next.before_at` of the previous page.
    before_at: Option<String>,
    /// Keyset cursor, with `before_at`: `next.before_id` of the previous page.
    before_id: Option<i64>,
}

/// The cursor of the next page of deleted tickets.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct DeletedCursor {
    before_at: String,
    before_id: i64,
}

/// A page of deleted tickets.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct DeletedPage {
    items: Vec<DeletedTicket>,
    /// The query of the next page; `null` on the last.
    next: Option<DeletedCursor>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct DeletedTicket {
    /// The ticket id (`DELETE`/`restore` take it).
    id: i64,
    /// `incident` or `problem`.
    kind: String,
    #[schema(example = "INC-000186")]
    number: String,
    title: String,
    status: String,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    deleted_at: Option<NaiveDateTime>,
}

impl From<Ticket> for DeletedTicket {
    fn from(t: Ticket) -> Self {
        Self {
            id: t.id,
            kind: t.kind,
            number: t.reference,
            title: t.title,
            status: t.status,
            deleted_at: t.deleted_at,
        }
    }
}

/// One page of deleted tickets and the cursor of the next page.
async fn load_deleted(
    state: &web::Data<AppState>,
    cursor: CursorQuery,
) -> Result<(Vec<DeletedTicket>, Option<(String, i64)>), AppError> {
    let before = match (cursor.before_at, cursor.before_id) {
        (Some(at), Some(id)) => Some((
            NaiveDateTime::parse_from_str(at.trim_end_matches('Z'), CURSOR_FORMAT).map_err(|_| {
                AppError::Validation(crate::error::FieldErrors::single(
                    "before_at",
                    crate::error::FieldMessage::new("error-date-invalid"),
                ))
            })?,
            id,
        )),
        _ => None,
    };
    let rows = state
        .db(move |conn| Ok(queries::deleted(conn, before, PAGE_SIZE + 1)?))
        .await?;
    let next = (rows.len() as i64 > PAGE_SIZE)
        .then(|| &rows[PAGE_SIZE as usize - 1])
        .and_then(|last| {
            last.deleted_at
                .map(|at| (at.format(CURSOR_FORMAT).to_string(), last.id))
        });
    Ok((
        rows.into_iter().take(PAGE_SIZE as usize).map(Into::into).collect(),
        next,
    ))
}

async fn render_confirm(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    id: i64,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let ticket = state.db(move |conn| Ok(queries::find(conn, id)?)).await?;
    let mut context = Context::new();
    context.insert("ticket", &DeletedTicket::from(ticket));
    context.insert("error", &error);
    render_status(req, status, "tickets/delete.html", context)
}

async fn confirm(req: HttpRequest, state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    render_confirm(&req, &state, path.into_inner(), StatusCode::OK, None).await
}

async fn delete_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(input): Form<ReasonInput>,
) -> Result<HttpResponse, AppError> {
    let (id, actor, now) = (path.into_inner(), user.actor(&req), state.clock.now());
    match state
        .db(move |conn| service::soft_delete(conn, &actor, now, id, &input.reason))
        .await
    {
        Ok(()) => {
            flash::push(&session, Kind::Success, "flash-ticket-deleted");
            Ok(redirect("/admin/deleted"))
        }
        Err(AppError::Validation(errors)) => {
            let message = errors.translated(request_lang(&req)).remove("reason");
            render_confirm(&req, &state, id, StatusCode::UNPROCESSABLE_ENTITY, message).await
        }
        Err(e) => Err(e),
    }
}

async fn deleted_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<CursorQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let first_page = query.before_id.is_none();
    let (tickets, next) = load_deleted(&state, query).await?;
    let mut context = Context::new();
    context.insert("tickets", &tickets);
    context.insert(
        "next_url",
        &next.map(|(at, id)| format!("/admin/deleted?before_at={at}&before_id={id}")),
    );
    context.insert("is_first_page", &first_page);
    render_status(&req, StatusCode::OK, "tickets/deleted.html", context)
}

async fn restore_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, actor, now) = (path.into_inner(), user.actor(&req), state.clock.now());
    state.db(move |conn| service::restore(conn, &actor, now, id)).await?;
    flash::push(&session, Kind::Success, "flash-ticket-restored");
    Ok(redirect("/admin/deleted"))
}

/// Soft-deleted tickets, most recently deleted first (50 a page).
#[utoipa::path(get, path = "/api/v1/tickets/deleted", tag = "tickets", operation_id = "list_deleted_tickets",
    params(CursorQuery),
    responses((status = 200, description = "A page of deleted tickets", body = DeletedPage)))]
pub(crate) async fn deleted_api(
    state: web::Data<AppState>,
    query: Query<CursorQuery>,
) -> Result<HttpResponse, AppError> {
    let (items, next) = load_deleted(&state, query.into_inner()).await?;
    let next = next.map(|(before_at, before_id)| DeletedCursor { before_at, before_id });
    Ok(HttpResponse::Ok().json(DeletedPage { items, next }))
}

/// Soft-deletes a ticket with a reason; it disappears from lists and can be restored.
#[utoipa::path(delete, path = "/api/v1/tickets/{id}", tag = "tickets", operation_id = "delete_ticket",
    params(("id" = i64, Path, example = 1, description = "Ticket id (an incident's or a problem's)")), request_body(content = Option<ReasonInput>, description = "The reason (required)"),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    body: Json<Option<ReasonInput>>,
) -> Result<HttpResponse, AppError> {
    let (id, actor, now) = (path.into_inner(), user.actor(&req), state.clock.now());
    let reason = body.into_inner().map(|b| b.reason).unwrap_or_default();
    state
        .db(move |conn| service::soft_delete(conn, &actor, now, id, &reason))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Restores a soft-deleted ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/restore", tag = "tickets", operation_id = "restore_ticket",
    params(("id" = i64, Path, example = 1, description = "Ticket id")),
    responses((status = 204, description = "Restored")))]
pub(crate) async fn restore_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, actor, now) = (path.into_inner(), user.actor(&req), state.clock.now());
    state.db(move |conn| service::restore(conn, &actor, now, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
