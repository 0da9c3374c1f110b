//! HTML pages for problems: list with candidates, new (from an incident), the problem page.

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use super::model::{AnalysisInput, ProblemInput};
use super::rules::Action;
use super::service;
use crate::auth::permissions::{allows, Permission};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::forms::Form;
use crate::web::query::Query;
use crate::web::redirect;
use crate::web::templates::{render, render_status, request_lang};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/problems/new", web::get().to(new_form))
        .service(
            web::resource("/problems")
                .route(web::get().to(list))
                .route(web::post().to(create)),
        )
        .route("/problems/{id}", web::get().to(show))
        .route("/problems/{id}/incidents", web::post().to(link));
    for action in Action::ALL {
        cfg.route(
            &format!("/problems/{{id}}/{}", action.as_str()),
            web::post().to(
                move |req: HttpRequest,
                      state: web::Data<AppState>,
                      user: CurrentUser,
                      session: Session,
                      path: web::Path<i64>,
                      form: Form<TransitionForm>| {
                    transition(req, state, user, session, path, form, action)
                },
            ),
        );
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    all: String,
    before: Option<i64>,
    /// `include`: the "include archived" checkbox.
    archived: String,
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (open_only, before, now) = (query.all.is_empty(), query.before, state.clock.now());
    let include_archived = query.archived.trim() == "include";
    let tz = user.time_zone.clone();
    let (rows, next, candidates) = state
        .db(move |conn| {
            let (rows, next) = service::list(conn, open_only, include_archived, before, 50)?;
            Ok((rows, next, service::candidates(conn, now, &tz)?))
        })
        .await?;
    let mut context = Context::new();
    context.insert("problems", &rows);
    context.insert("candidates", &candidates);
    context.insert("open_only", &open_only);
    context.insert("include_archived", &include_archived);
    context.insert(
        "next_url",
        &next.map(|b| {
            format!(
                "/problems?{}{}before={b}",
                if open_only { "" } else { "all=1&" },
                if include_archived { "archived=include&" } else { "" }
            )
        }),
    );
    render(&req, "problems/list.html", context)
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
struct NewForm {
    title: String,
    description: String,
    priority: String,
    incident_ids: Vec<i64>,
    fix_due_on: String,
    requester_email: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewQuery {
    incident: Option<i64>,
}

async fn render_new(
    req: &HttpRequest,
    status: StatusCode,
    form: &NewForm,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let mut context = Context::new();
    context.insert("form", form);
    context.insert("errors", &errors);
    context.insert("priorities", &["P1", "P2", "P3", "P4"]);
    render_status(req, status, "problems/new.html", context)
}

async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<NewQuery>,
) -> Result<HttpResponse, AppError> {
    let mut form = NewForm {
        priority: "P3".into(),
        ..Default::default()
    };
    if let Some(id) = query.incident {
        let incident = state
            .db(move |conn| crate::incidents::service::get(conn, id, false))
            .await?;
        form.title = incident.title;
        form.priority = incident.priority;
        form.incident_ids = vec![id];
    }
    render_new(&req, StatusCode::OK, &form, BTreeMap::new()).await
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<NewForm>,
) -> Result<HttpResponse, AppError> {
    let (actor, now) = (user.actor(&req), state.clock.now());
    let input = ProblemInput {
        title: form.title.clone(),
        description: form.description.clone(),
        priority: form.priority.clone(),
        team_id: None,
        owner_id: None,
        incident_ids: form.incident_ids.clone(),
        fix_due_on: form.fix_due_on.clone(),
        requester_id: None,
        requester_email: form.requester_email.clone(),
    };
    match state
        .db(move |conn| {
            crate::tickets::watchers::create_with_requester(
                conn,
                &input.requester(),
                |conn| service::create(conn, &actor, now, &input),
                |v| v.id,
            )
        })
        .await
    {
        Ok(view) => {
            flash::push(&session, Kind::Success, "flash-problem-created");
            Ok(redirect(&format!("/problems/{}", view.id)))
        }
        Err(AppError::Validation(errors)) => {
            render_new(
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                errors.translated(request_lang(&req)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn render_show(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: &CurrentUser,
    id: i64,
    status: StatusCode,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let (user_id, role) = (user.id, user.role);
    let (view, attachments, watch_panel) = state
        .db(move |conn| {
            let watch_panel = crate::tickets::work_routes::watch_panel(conn, id, user_id, role)?;
            let attachments: Vec<crate::attachments::model::AttachmentView> =
                crate::attachments::queries::of_ticket(conn, id)?
                    .into_iter()
                    .map(Into::into)
                    .collect();
            Ok((service::get(conn, id)?, attachments, watch_panel))
        })
        .await?;
    let (teams, users) = crate::tickets::work_routes::choices(state).await?;
    let mut context = Context::new();
    context.insert("problem", &view);
    // The shared timeline partial (`tickets/_timeline.html`).
    context.insert("timeline", &view.timeline);
    context.insert("ticket_id", &view.id);
    context.insert("status_prefix", "problem-status-");
    context.insert("attachments", &attachments);
    context.insert("watch_panel", &watch_panel);
    context.insert("teams", &teams);
    context.insert("users", &users);
    context.insert("errors", &errors);
    context.insert("problem_can", &allows(user.role, Permission::ManageProblems));
    render_status(req, status, "problems/show.html", context)
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    render_show(&req, &state, &user, path.into_inner(), StatusCode::OK, BTreeMap::new()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkForm {
    incident_number: String,
}

async fn link(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<LinkForm>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    let number = form.incident_number.trim().to_uppercase();
    let result = state
        .db(move |conn| {
            use crate::db::schema::tickets;
            use diesel::prelude::*;
            let incident: Option<i64> = tickets::table
                .filter(tickets::reference.eq(&number))
                .filter(tickets::kind.eq("incident"))
                .select(tickets::id)
                .first(conn)
                .optional()?;
            let ids: Vec<i64> = incident.into_iter().collect();
            if ids.is_empty() {
                return Err(AppError::Validation(crate::error::FieldErrors::single(
                    "incident_number",
                    crate::error::FieldMessage::new("error-incident-unknown"),
                )));
            }
            service::link_incidents(conn, &actor, now, id, &ids)
        })
        .await;
    let outcome = result;
    crate::web::after_action(
        &req,
        &session,
        outcome,
        "flash-problem-updated",
        &super::rules::SPEC.page(id),
        |errors| render_show(&req, &state, &user, id, StatusCode::UNPROCESSABLE_ENTITY, errors),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TransitionForm {
    version: Option<i32>,
    root_cause: String,
    contributing_factors: String,
    five_whys: String,
    workaround: String,
    fix_due_on: String,
    resolution: String,
}

async fn transition(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<TransitionForm>,
    action: Action,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    let input = AnalysisInput {
        version: form.version,
        root_cause: form.root_cause,
        contributing_factors: form.contributing_factors,
        five_whys: form.five_whys,
        workaround: form.workaround,
        fix_due_on: form.fix_due_on,
    };
    let resolution = form.resolution;
    let outcome = state
        .db(move |conn| service::transition(conn, &actor, now, id, action, &input, &resolution))
        .await;
    crate::web::after_action(
        &req,
        &session,
        outcome,
        "flash-problem-updated",
        &super::rules::SPEC.page(id),
        |errors| render_show(&req, &state, &user, id, StatusCode::UNPROCESSABLE_ENTITY, errors),
    )
    .await
}
