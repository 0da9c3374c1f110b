//! HTML pages for teams (administrators).

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tera::Context;

use super::model::{TeamInput, TeamSummary};
use super::{queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::forms::Form;
use crate::web::redirect;
use crate::web::templates::{render, render_status, request_lang};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/teams")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .route("/admin/teams/new", web::get().to(new_form))
    .route("/admin/teams/{id}/edit", web::get().to(edit_form))
    .route("/admin/teams/{id}", web::post().to(update));
}

async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
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
    let mut context = Context::new();
    context.insert("teams", &teams);
    render(&req, "teams/list.html", context)
}

async fn render_form(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    status: StatusCode,
    team_id: Option<i64>,
    form: TeamInput,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let members = match team_id {
        Some(id) => state.db(move |conn| Ok(queries::members(conn, id)?)).await?,
        None => Vec::new(),
    };
    let mut context = Context::new();
    context.insert("mode", if team_id.is_some() { "edit" } else { "new" });
    context.insert(
        "action",
        &team_id
            .map(|id| format!("/admin/teams/{id}"))
            .unwrap_or_else(|| "/admin/teams".into()),
    );
    context.insert("team_id", &team_id);
    context.insert("form", &form);
    context.insert("errors", &errors);
    context.insert("members", &members);
    render_status(req, status, "teams/form.html", context)
}

async fn new_form(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    render_form(
        &req,
        &state,
        StatusCode::OK,
        None,
        TeamInput::default(),
        BTreeMap::new(),
    )
    .await
}

async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let team = state.db(move |conn| Ok(queries::find(conn, id)?)).await?;
    let form = TeamInput {
        name: team.name,
        description: team.description,
    };
    render_form(&req, &state, StatusCode::OK, Some(id), form, BTreeMap::new()).await
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<TeamInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), form.clone());
    match state.db(move |conn| service::create(conn, &actor, now, &input)).await {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-team-created");
            Ok(redirect("/admin/teams"))
        }
        Err(AppError::Validation(errors)) => {
            render_form(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                errors.translated(request_lang(&req)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<TeamInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id, input) = (user.actor(&req), state.clock.now(), path.into_inner(), form.clone());
    match state
        .db(move |conn| service::update(conn, &actor, now, id, &input))
        .await
    {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-team-updated");
            Ok(redirect("/admin/teams"))
        }
        Err(AppError::Validation(errors)) => {
            render_form(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(id),
                form,
                errors.translated(request_lang(&req)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}
