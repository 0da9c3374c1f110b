//! The post-mortem page of an incident and "my action items".

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use super::model::{ActionItemInput, Sections, SectionsPatch};
use super::rules::{self, Status, Step};
use super::service;
use crate::auth::permissions::{allows, Permission};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::forms::Form;
use crate::web::redirect;
use crate::web::templates::{render, render_status, request_lang};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/incidents/{id}/postmortem")
            .route(web::get().to(show))
            .route(web::post().to(create)),
    )
    .route("/incidents/{id}/postmortem/action-items", web::post().to(add_item))
    .route("/action-items", web::get().to(my_items))
    .route("/action-items/{id}/done", web::post().to(done));
    // One form, one route per step (its buttons post to these).
    for step in Step::ALL {
        cfg.route(
            &format!("/incidents/{{id}}/postmortem/{}", step.as_str()),
            web::post().to(
                move |req: HttpRequest,
                      state: web::Data<AppState>,
                      user: CurrentUser,
                      session: Session,
                      path: web::Path<i64>,
                      Form(patch): Form<SectionsPatch>| {
                    take_step(req, state, user, session, path.into_inner(), step, patch)
                },
            ),
        );
    }
}

/// What the user typed into a form the page is shown again for: refused input is shown as
/// typed, never lost.
#[derive(Default)]
struct Typed {
    sections: Option<SectionsPatch>,
    item: Option<ItemForm>,
}

async fn render_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: &CurrentUser,
    id: i64,
    status: StatusCode,
    errors: BTreeMap<String, String>,
    typed: Typed,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let view = state.db(move |conn| service::get(conn, id, now)).await?;
    let mut pm = serde_json::to_value(&view).map_err(AppError::internal)?;
    if let Some(sections) = typed.sections {
        // The sections as typed over the stored ones; the version stays the current one.
        if let serde_json::Value::Object(fields) = serde_json::to_value(sections).map_err(AppError::internal)? {
            for (name, value) in fields {
                if name != "version" && value.is_string() {
                    pm[name] = value;
                }
            }
        }
    }
    let users = state
        .db(|conn| {
            Ok(crate::users::queries::list(conn, &Default::default(), 1000)?
                .into_iter()
                .filter(|u| u.active)
                .map(|u| (u.id, u.display_name))
                .collect::<Vec<_>>())
        })
        .await?;
    let mut context = Context::new();
    context.insert("pm", &pm);
    context.insert("item", &typed.item.unwrap_or_default());
    context.insert("sections", &Sections::NAMES);
    context.insert("users", &users);
    context.insert("errors", &errors);
    context.insert("can_publish", &allows(user.role, Permission::PublishPostmortems));
    render_status(req, status, "postmortems/show.html", context)
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    render_page(
        &req,
        &state,
        &user,
        path.into_inner(),
        StatusCode::OK,
        BTreeMap::new(),
        Typed::default(),
    )
    .await
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    state.db(move |conn| service::create(conn, &actor, now, id)).await?;
    flash::push(&session, Kind::Success, "flash-postmortem-created");
    Ok(redirect(&format!("/incidents/{id}/postmortem")))
}

async fn take_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    id: i64,
    step: Step,
    patch: SectionsPatch,
) -> Result<HttpResponse, AppError> {
    let (actor, now, submitted) = (user.actor(&req), state.clock.now(), patch.clone());
    let typed = || Typed {
        sections: Some(submitted.clone()),
        item: None,
    };
    match state
        .db(move |conn| service::change(conn, &actor, now, id, step, &patch))
        .await
    {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-postmortem-updated");
            Ok(redirect(&format!("/incidents/{id}/postmortem")))
        }
        Err(AppError::Validation(errors)) => {
            let errors = errors.translated(request_lang(&req));
            render_page(
                &req,
                &state,
                &user,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                typed(),
            )
            .await
        }
        Err(AppError::Conflict(_)) => {
            // The page as it is now, with why the step was refused above its buttons.
            let current = state.db(move |conn| service::get(conn, id, now)).await?;
            let key = match Status::parse(&current.status) {
                Some(from) if rules::next(from, step).is_some() => "error-page-body-409",
                Some(Status::Draft) if step == Step::Publish => "error-postmortem-publish-needs-review",
                _ => "error-postmortem-step-not-allowed",
            };
            let mut errors = BTreeMap::new();
            errors.insert("status".into(), crate::web::i18n::translate(request_lang(&req), key));
            render_page(&req, &state, &user, id, StatusCode::CONFLICT, errors, typed()).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
struct ItemForm {
    title: String,
    owner_id: String,
    due_on: String,
}

async fn add_item(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<ItemForm>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    let input = ActionItemInput {
        title: form.title.clone(),
        owner_id: form.owner_id.trim().parse().ok(),
        due_on: form.due_on.clone(),
        problem_id: None,
    };
    match state
        .db(move |conn| service::add_item(conn, &actor, now, id, &input))
        .await
    {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-postmortem-updated");
            Ok(redirect(&format!("/incidents/{id}/postmortem")))
        }
        Err(AppError::Validation(errors)) => {
            let errors = errors.translated(request_lang(&req));
            let typed = Typed {
                sections: None,
                item: Some(form),
            };
            render_page(&req, &state, &user, id, StatusCode::UNPROCESSABLE_ENTITY, errors, typed).await
        }
        Err(e) => Err(e),
    }
}

async fn my_items(req: HttpRequest, state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (owner, now) = (user.id, state.clock.now());
    let items = state
        .db(move |conn| service::items_of(conn, None, Some(owner), false, now))
        .await?;
    let mut context = Context::new();
    context.insert("items", &items);
    render(&req, "postmortems/my_items.html", context)
}

async fn done(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    let may_manage =
        crate::auth::permissions::allows(user.role, crate::auth::permissions::Permission::WritePostmortems);
    state
        .db(move |conn| service::complete_item(conn, &actor, now, id, may_manage))
        .await?;
    flash::push(&session, Kind::Success, "flash-action-item-done");
    Ok(redirect("/action-items"))
}
