//! HTML pages of the CMDB: the list (`/cmdb`), a CI with its history (`/cmdb/{id}`), the
//! new/edit form, and the admins' class list (`/admin/ci-classes`).

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tera::Context;

use super::model::{CiClass, CiFilter, CiForm, CiInput, ImpactQuery, RelationshipInput};
use super::{queries, rules, service};
use crate::auth::permissions::{allows, Permission};
use crate::auth::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::forms::Form;
use crate::web::i18n::{self, Lang};
use crate::web::query::Query;
use crate::web::redirect;
use crate::web::templates::{render, render_status, request_lang};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/cmdb")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .route("/cmdb/new", web::get().to(new_form))
    .route("/cmdb/{id}/edit", web::get().to(edit_form))
    .route("/cmdb/{id}/delete", web::post().to(delete))
    .route("/cmdb/{id}/relationships", web::post().to(relate))
    .route("/cmdb/relationships/{id}/delete", web::post().to(unrelate))
    .service(
        web::resource("/cmdb/{id}")
            .route(web::get().to(show))
            .route(web::post().to(update)),
    )
    .service(
        web::resource("/admin/ci-classes")
            .route(web::get().to(classes))
            .route(web::post().to(create_class)),
    );
}

/// Each class's name as people read it: the built-in classes from the locale files, the ones
/// admins added as typed.
fn class_labels(lang: Lang, classes: &[CiClass]) -> BTreeMap<String, String> {
    classes
        .iter()
        .map(|c| {
            let key = format!("ci-class-{}", c.name.replace('_', "-"));
            let label = if i18n::has_message(lang, &key) {
                i18n::translate(lang, &key)
            } else {
                c.name.clone()
            };
            (c.name.clone(), label)
        })
        .collect()
}

/// A history value as people read it: class, environment and status names, not their codes.
fn shown_value(lang: Lang, labels: &BTreeMap<String, String>, field: &str, value: &str) -> String {
    let key = match field {
        "class" => return labels.get(value).cloned().unwrap_or_else(|| value.to_string()),
        "environment" => format!("ci-environment-{value}"),
        "status" => format!("ci-status-{value}"),
        _ => return value.to_string(),
    };
    if i18n::has_message(lang, &key) {
        i18n::translate(lang, &key)
    } else {
        value.to_string()
    }
}

/// The query string of a filter, for the next page's link.
fn filter_query(filter: &CiFilter, before: i64) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("class", &filter.class),
        ("status", &filter.status),
        ("environment", &filter.environment),
        ("q", &filter.q),
    ] {
        if let Some(v) = v.as_deref().filter(|s| !s.is_empty()) {
            pairs.push((k, v.to_string()));
        }
    }
    if let Some(team) = filter.team_id {
        pairs.push(("team_id", team.to_string()));
    }
    pairs.push(("before", before.to_string()));
    serde_html_form::to_string(&pairs).unwrap_or_default()
}

async fn list(req: HttpRequest, state: web::Data<AppState>, filter: Query<CiFilter>) -> Result<HttpResponse, AppError> {
    let filter = filter.into_inner();
    let f = filter.clone();
    let (page, classes, teams) = state
        .db(move |conn| {
            Ok((
                service::list(conn, &f)?,
                queries::classes(conn)?,
                crate::teams::queries::all(conn)?,
            ))
        })
        .await?;
    let mut context = Context::new();
    context.insert(
        "next_url",
        &page.next_before.map(|b| format!("/cmdb?{}", filter_query(&filter, b))),
    );
    context.insert("cis", &page.items);
    context.insert("filter", &filter);
    context.insert("class_labels", &class_labels(request_lang(&req), &classes));
    context.insert("classes", &classes);
    context.insert("teams", &teams);
    context.insert("environments", &rules::ENVIRONMENTS);
    context.insert("statuses", &rules::STATUSES);
    render(&req, "cmdb/list.html", context)
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    render_show(
        &req,
        &state,
        &user,
        path.into_inner(),
        StatusCode::OK,
        RelationForm::default(),
        BTreeMap::new(),
    )
    .await
}

async fn render_show(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: &CurrentUser,
    id: i64,
    status: StatusCode,
    relation_form: RelationForm,
    relation_errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let (ci, mut history, classes, relationships, impact) = state
        .db(move |conn| {
            Ok((
                service::get(conn, id)?,
                service::history(conn, id)?,
                queries::classes(conn)?,
                service::relationships(conn, id)?,
                service::impact(conn, id, &ImpactQuery::default())?,
            ))
        })
        .await?;
    let lang = request_lang(req);
    let labels = class_labels(lang, &classes);
    for change in history.iter_mut().flat_map(|h| h.changes.iter_mut()) {
        change.before = shown_value(lang, &labels, &change.field, &change.before);
        change.after = shown_value(lang, &labels, &change.field, &change.after);
    }
    let mut context = Context::new();
    context.insert("class_labels", &labels);
    context.insert("ci", &ci);
    context.insert("history", &history);
    context.insert("relationships", &relationships);
    context.insert("impact", &impact);
    context.insert("kinds", &service::KINDS);
    context.insert("relation_form", &relation_form);
    context.insert("relation_errors", &relation_errors);
    context.insert("can_manage", &allows(user.role, Permission::ManageCmdb));
    render_status(req, status, "cmdb/show.html", context)
}

/// The CI page's form for a relationship: `outgoing` when this CI depends on the other.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default)]
struct RelationForm {
    other_id: String,
    kind: String,
    direction: String,
    redundancy_group: String,
}

async fn relate(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<RelationForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (actor, now) = (user.actor(&req), state.clock.now());
    let result = match form.other_id.trim().parse::<i64>() {
        Err(_) => Err(AppError::Validation(FieldErrors::single(
            "other_id",
            crate::error::FieldMessage::new("error-ci-unknown"),
        ))),
        Ok(other) => {
            let outgoing = form.direction != "incoming";
            let input = RelationshipInput {
                from_id: Some(if outgoing { id } else { other }),
                to_id: Some(if outgoing { other } else { id }),
                kind: form.kind.clone(),
                redundancy_group: form.redundancy_group.clone(),
            };
            state.db(move |conn| service::relate(conn, &actor, now, &input)).await
        }
    };
    match result {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-ci-relationship-created");
            Ok(redirect(&format!("/cmdb/{id}")))
        }
        Err(AppError::Validation(errors)) => {
            // The other end is one field on the page, whichever way the edge points.
            let mut shown = errors.translated(request_lang(&req));
            for field in ["from_id", "to_id"] {
                if let Some(message) = shown.remove(field) {
                    shown.entry("other_id".into()).or_insert(message);
                }
            }
            render_show(&req, &state, &user, id, StatusCode::UNPROCESSABLE_ENTITY, form, shown).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BackTo {
    ci_id: i64,
}

async fn unrelate(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(back): Form<BackTo>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    let removed = state.db(move |conn| service::unrelate(conn, &actor, now, id)).await?;
    flash::push(&session, Kind::Success, "flash-ci-relationship-deleted");
    let back = if back.ci_id == removed.to_id {
        removed.to_id
    } else {
        removed.from_id
    };
    Ok(redirect(&format!("/cmdb/{back}")))
}

fn form_of(input: &CiInput) -> CiForm {
    CiForm {
        name: input.name.clone(),
        class: input.class.clone(),
        environment: input.environment.clone(),
        criticality: input.criticality.map(|c| c.to_string()).unwrap_or_default(),
        status: input.status.clone(),
        owner_team_id: input.owner_team_id.map(|t| t.to_string()).unwrap_or_default(),
        location: input.location.clone(),
        host_name: input.host_name.clone(),
        ip_addresses: input.ip_addresses.clone(),
        os_family: input.os_family.clone(),
        os_release: input.os_release.clone(),
        software_name: input.software_name.clone(),
        software_version: input.software_version.clone(),
        vendor: input.vendor.clone(),
        support_ends_on: input.support_ends_on.clone(),
        attributes: rules::attribute_lines(&input.attributes),
        notes: input.notes.clone(),
        version: input.version.map(|v| v.to_string()).unwrap_or_default(),
    }
}

/// The form's text as input; a number or an attribute line that does not read is a field error.
fn input_of(form: &CiForm) -> Result<CiInput, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut number = |field: &'static str, raw: &str| -> Option<i64> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        raw.parse()
            .map_err(|_| errors.add(field, crate::error::FieldMessage::new("error-json-value")))
            .ok()
    };
    let criticality = number("criticality", &form.criticality);
    let owner_team_id = number("owner_team_id", &form.owner_team_id);
    let version = number("version", &form.version);
    let attributes = rules::parse_attribute_lines(&form.attributes)
        .map_err(|e| errors.add("attributes", e))
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CiInput {
        name: form.name.clone(),
        class: form.class.clone(),
        environment: form.environment.clone(),
        criticality,
        status: form.status.clone(),
        owner_team_id,
        location: form.location.clone(),
        host_name: form.host_name.clone(),
        ip_addresses: form.ip_addresses.clone(),
        os_family: form.os_family.clone(),
        os_release: form.os_release.clone(),
        software_name: form.software_name.clone(),
        software_version: form.software_version.clone(),
        vendor: form.vendor.clone(),
        support_ends_on: form.support_ends_on.clone(),
        attributes,
        notes: form.notes.clone(),
        version,
    })
}

async fn render_form(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    status: StatusCode,
    ci_id: Option<i64>,
    form: CiForm,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let (classes, teams) = state
        .db(|conn| Ok((queries::classes(conn)?, crate::teams::queries::all(conn)?)))
        .await?;
    let mut context = Context::new();
    context.insert("mode", if ci_id.is_some() { "edit" } else { "new" });
    context.insert(
        "action",
        &ci_id.map(|id| format!("/cmdb/{id}")).unwrap_or_else(|| "/cmdb".into()),
    );
    context.insert("ci_id", &ci_id);
    context.insert("form", &form);
    context.insert("errors", &errors);
    context.insert("class_labels", &class_labels(request_lang(req), &classes));
    context.insert("classes", &classes);
    context.insert("teams", &teams);
    context.insert("environments", &rules::ENVIRONMENTS);
    context.insert("statuses", &rules::STATUSES);
    render_status(req, status, "cmdb/form.html", context)
}

async fn new_form(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let form = form_of(&CiInput {
        class: "server".into(),
        ..CiInput::default()
    });
    render_form(&req, &state, StatusCode::OK, None, form, BTreeMap::new()).await
}

async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let ci = state.db(move |conn| service::get(conn, id)).await?;
    render_form(
        &req,
        &state,
        StatusCode::OK,
        Some(id),
        form_of(&CiInput::from_ci(&ci)),
        BTreeMap::new(),
    )
    .await
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<CiForm>,
) -> Result<HttpResponse, AppError> {
    save(req, state, user, session, None, form).await
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<CiForm>,
) -> Result<HttpResponse, AppError> {
    save(req, state, user, session, Some(path.into_inner()), form).await
}

async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    id: Option<i64>,
    form: CiForm,
) -> Result<HttpResponse, AppError> {
    let (actor, now) = (user.actor(&req), state.clock.now());
    let result = match input_of(&form) {
        Err(errors) => Err(AppError::Validation(errors)),
        Ok(input) => {
            state
                .db(move |conn| match id {
                    None => service::create(conn, &actor, now, &input),
                    Some(id) => service::update(conn, &actor, now, id, &input),
                })
                .await
        }
    };
    match result {
        Ok(ci) => {
            let key = if id.is_some() {
                "flash-ci-updated"
            } else {
                "flash-ci-created"
            };
            flash::push(&session, Kind::Success, key);
            Ok(redirect(&format!("/cmdb/{}", ci.id)))
        }
        Err(AppError::Validation(errors)) => {
            render_form(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                id,
                form,
                errors.translated(request_lang(&req)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    state.db(move |conn| service::delete(conn, &actor, now, id)).await?;
    flash::push(&session, Kind::Success, "flash-ci-deleted");
    Ok(redirect("/cmdb"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ClassForm {
    name: String,
}

async fn render_classes(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    status: StatusCode,
    name: &str,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let classes = state.db(|conn| Ok(queries::classes(conn)?)).await?;
    let mut context = Context::new();
    context.insert("class_labels", &class_labels(request_lang(req), &classes));
    context.insert("classes", &classes);
    context.insert("name", name);
    context.insert("errors", &errors);
    render_status(req, status, "cmdb/classes.html", context)
}

async fn classes(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    render_classes(&req, &state, StatusCode::OK, "", BTreeMap::new()).await
}

async fn create_class(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<ClassForm>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, name) = (user.actor(&req), state.clock.now(), form.name.clone());
    match state
        .db(move |conn| service::create_class(conn, &actor, now, &name))
        .await
    {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-ci-class-created");
            Ok(redirect("/admin/ci-classes"))
        }
        Err(AppError::Validation(errors)) => {
            render_classes(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form.name,
                errors.translated(request_lang(&req)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}
