//! HTML pages for incidents: queues and filters, the new-incident form, the incident page with
//! its timeline and one form per action.

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use super::model::{IncidentFilter, IncidentInput};
use super::rules::{Action, Level, Priority, Status};
use super::service::{
    self, AssignInput, CommentInput, EscalationInput, StatusUpdateInput, TransitionInput, CHANNELS, UPDATE_STATES,
};
use crate::auth::permissions::{allows, Permission};
use crate::auth::CurrentUser;
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::forms::Form;
use crate::web::query::Query;
use crate::web::redirect;
use crate::web::templates::{render, render_status, request_lang};

pub const PAGE_SIZE: i64 = 50;

/// The forms on the incident page, by the name their errors are filed under.
const FORMS: [&str; 9] = [
    "edit",
    "hold",
    "mitigate",
    "resolve",
    "comment",
    "status_update",
    "escalate",
    "assign",
    "attach",
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    // "/incidents/new" before "/incidents/{id}": the router takes the first match.
    cfg.route("/incidents/new", web::get().to(new_form))
        .route("/incidents/export.csv", web::get().to(export))
        .service(
            web::resource("/incidents")
                .route(web::get().to(list))
                .route(web::post().to(create)),
        )
        .route("/incidents/{id}", web::get().to(show))
        .route("/incidents/{id}/comments", web::post().to(comment))
        .route("/incidents/{id}/edit", web::post().to(edit))
        .route("/incidents/{id}/status-updates", web::post().to(status_update))
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
                      session: Session,
                      path: web::Path<i64>,
                      form: Form<TransitionForm>| {
                    transition(req, state, user, session, path, form, action)
                },
            ),
        );
    }
}

use crate::tickets::work_routes::choices;

/// Query strings from HTML forms send empty fields; treat them as absent.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    view: String,
    status: String,
    priority: String,
    team_id: String,
    assignee_id: String,
    category: String,
    service: String,
    /// A checkbox: "true" when ticked.
    without_problem: String,
    q: String,
    before: String,
    from: String,
    to: String,
    sort: String,
    /// `include`: the "include archived" checkbox.
    archived: String,
}

impl ListQuery {
    /// The filters that are set, as query parameters (for the export and next-page links).
    fn filter_params(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("view", &self.view),
            ("status", &self.status),
            ("priority", &self.priority),
            ("team_id", &self.team_id),
            ("assignee_id", &self.assignee_id),
            ("category", &self.category),
            ("service", &self.service),
            ("without_problem", &self.without_problem),
            ("q", &self.q),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
            ("archived", &self.archived),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (key, value.as_str()))
    }
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

fn opt_id(s: &str) -> Result<Option<i64>, AppError> {
    match s.trim() {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|_| AppError::BadRequest(format!("'{text}' is not an id"))),
    }
}

fn filter_of(query: &ListQuery) -> Result<IncidentFilter, AppError> {
    Ok(IncidentFilter {
        view: opt(&query.view),
        status: opt(&query.status),
        priority: opt(&query.priority),
        team_id: opt_id(&query.team_id)?,
        assignee_id: opt_id(&query.assignee_id)?,
        category: opt(&query.category),
        service: opt(&query.service),
        without_problem: Some(query.without_problem.trim() == "true").filter(|ticked| *ticked),
        q: opt(&query.q),
        before: opt_id(&query.before)?,
        sort: opt(&query.sort),
        limit: None,
        from: opt(&query.from),
        to: opt(&query.to),
        archived: opt(&query.archived),
    })
}

/// `GET /incidents/export.csv`: the filtered list as CSV (UTF-8 with BOM so Excel reads
/// Japanese; times in the user's zone; cells that would start a formula are defused).
async fn export(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = filter_of(&query.into_inner())?;
    let (user_id, tz) = (user.id, user.time_zone.clone());
    let zone = tz.clone();
    let rows = state
        .db(move |conn| service::export(conn, user_id, &tz, &filter))
        .await?;
    let cell = crate::web::csv::cell;
    let local = |t: chrono::NaiveDateTime| crate::web::templates::format_local(&crate::db::utc::format(&t), &zone);
    crate::web::csv::response(
        "incidents.csv",
        &[
            "number",
            "priority",
            "status",
            "title",
            "category",
            "team",
            "assignee",
            "reported_at",
            "updated_at",
        ],
        rows.iter().map(|r| {
            vec![
                r.number.clone(),
                r.priority.clone(),
                r.status.clone(),
                cell(&r.title),
                cell(&r.category),
                cell(r.team.as_deref().unwrap_or("")),
                cell(r.assignee.as_deref().unwrap_or("")),
                local(r.reported_at),
                local(r.updated_at),
            ]
        }),
    )
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let filter = filter_of(&query)?;
    let (user_id, tz, db_filter, now) = (user.id, user.time_zone.clone(), filter.clone(), state.clock.now());
    let (rows, next) = state
        .db(move |conn| service::list(conn, user_id, &tz, &db_filter, PAGE_SIZE, now))
        .await?;
    let (teams, users) = choices(&state).await?;
    let export_url = {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in query.filter_params() {
            q.append_pair(key, value);
        }
        format!("/incidents/export.csv?{}", q.finish())
    };
    let next_url = next.map(|before| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in query.filter_params() {
            q.append_pair(key, value);
        }
        q.append_pair("before", &before.to_string());
        format!("/incidents?{}", q.finish())
    });
    let mut context = Context::new();
    context.insert("incidents", &rows);
    context.insert("view", filter.view.as_deref().unwrap_or("open"));
    context.insert("views", &["open", "mine", "team", "unassigned", "major", "all"]);
    context.insert("filters", &query_view(&query));
    context.insert("statuses", &Status::ALL.map(Status::as_str));
    context.insert("priorities", &Priority::ALL.map(Priority::as_str));
    context.insert(
        "sorts",
        &super::queries::ListSort::ALL.map(super::queries::ListSort::as_str),
    );
    context.insert("teams", &teams);
    context.insert("users", &users);
    context.insert("next_url", &next_url);
    context.insert("export_url", &export_url);
    context.insert("is_first_page", &filter.before.is_none());
    render(&req, "incidents/list.html", context)
}

#[derive(Serialize)]
struct FilterView {
    from: String,
    to: String,
    status: String,
    priority: String,
    team_id: String,
    assignee_id: String,
    category: String,
    service: String,
    without_problem: bool,
    archived: String,
    q: String,
    sort: String,
}

fn query_view(q: &ListQuery) -> FilterView {
    FilterView {
        from: q.from.clone(),
        to: q.to.clone(),
        status: q.status.clone(),
        priority: q.priority.clone(),
        team_id: q.team_id.clone(),
        assignee_id: q.assignee_id.clone(),
        category: q.category.clone(),
        service: q.service.clone(),
        without_problem: q.without_problem.trim() == "true",
        archived: q.archived.trim().to_string(),
        q: q.q.clone(),
        // The order the list is in, so the select shows it.
        sort: super::service::effective_sort(Some(&q.q), super::queries::ListSort::parse(q.sort.trim()))
            .as_str()
            .to_string(),
    }
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
struct IncidentForm {
    title: String,
    description: String,
    impact: String,
    urgency: String,
    channel: String,
    category: String,
    service: String,
    team_id: String,
    reported_at: String,
    requester_email: String,
}

async fn render_new(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    status: StatusCode,
    form: &IncidentForm,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let (teams, _) = choices(state).await?;
    let mut context = Context::new();
    context.insert("form", form);
    context.insert("errors", &errors);
    context.insert("levels", &Level::ALL.map(Level::as_str));
    context.insert("channels", &CHANNELS);
    context.insert("teams", &teams);
    render_status(req, status, "incidents/new.html", context)
}

async fn new_form(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let form = IncidentForm {
        impact: "medium".into(),
        urgency: "medium".into(),
        channel: "phone".into(),
        ..Default::default()
    };
    render_new(&req, &state, StatusCode::OK, &form, BTreeMap::new()).await
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<IncidentForm>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, tz) = (user.actor(&req), state.clock.now(), user.time_zone.clone());
    let team_id = match opt_id(&form.team_id) {
        Ok(id) => id,
        Err(_) => Some(-1), // reported as an unknown team
    };
    let input = IncidentInput {
        title: form.title.clone(),
        description: form.description.clone(),
        impact: form.impact.clone(),
        urgency: form.urgency.clone(),
        channel: form.channel.clone(),
        category: form.category.clone(),
        service: form.service.clone(),
        team_id,
        assignee_id: None,
        reported_at: form.reported_at.clone(),
        requester_id: None,
        requester_email: form.requester_email.clone(),
    };
    service::check_people_fields(user.role, input.team_id.is_some(), input.assignee_id.is_some())?;
    match state
        .db(move |conn| {
            crate::tickets::watchers::create_with_requester(
                conn,
                &input.requester(),
                |conn| service::create(conn, &actor, now, &tz, &input),
                |v| v.id,
            )
        })
        .await
    {
        Ok(view) => {
            flash::push(&session, Kind::Success, "flash-incident-created");
            Ok(redirect(&format!("/incidents/{}", view.id)))
        }
        Err(AppError::Validation(errors)) => {
            render_new(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                errors.translated(request_lang(&req)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Serialize)]
struct CanDo {
    manage: bool,
}

/// The incident page; `errors` belong to the form named by `form_name` after a failed post.
#[allow(clippy::too_many_arguments)] // the page, the failed form and its errors, the chosen template
async fn render_show(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: &CurrentUser,
    id: i64,
    status: StatusCode,
    form_name: &str,
    errors: BTreeMap<String, String>,
    update_template: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let (user_id, role) = (user.id, user.role);
    let (view, postmortem_status, attachments, watch_panel, archived) = state
        .db(move |conn| {
            let view = service::get_live(conn, id, now, true)?;
            let archived = crate::tickets::queries::is_archived(conn, id)?;
            let watch_panel = crate::tickets::work_routes::watch_panel(conn, id, user_id, role)?;
            let postmortem = crate::postmortems::queries::for_incident(conn, id)?.map(|p| p.status);
            let attachments: Vec<crate::attachments::model::AttachmentView> =
                crate::attachments::queries::of_ticket(conn, id)?
                    .into_iter()
                    .map(Into::into)
                    .collect();
            Ok((view, postmortem, attachments, watch_panel, archived))
        })
        .await?;
    let (teams, users) = choices(state).await?;
    let mut context = Context::new();
    context.insert("incident", &view);
    context.insert("archived", &archived);
    // The shared timeline partial (`tickets/_timeline.html`).
    context.insert("timeline", &view.timeline);
    context.insert("ticket_id", &view.id);
    context.insert("status_prefix", "status-");
    context.insert("postmortem_status", &postmortem_status);
    context.insert("attachments", &attachments);
    context.insert("watch_panel", &watch_panel);
    context.insert("teams", &teams);
    context.insert("users", &users);
    context.insert("update_states", &UPDATE_STATES);
    // "Start from a template" links reload the page with the chosen state's text in the form.
    let draft = update_template.and_then(|chosen| {
        service::status_update_template(&view, chosen, user.locale, state.clock.now(), &user.time_zone)
            .map(|message| serde_json::json!({ "state": chosen, "message": message }))
    });
    context.insert("update_draft", &draft);
    context.insert(
        "incident_can",
        &CanDo {
            manage: allows(user.role, Permission::ManageIncidents),
        },
    );
    // Every form on the page gets its own (usually empty) error map.
    let mut form_errors: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for name in FORMS {
        form_errors.insert(name, BTreeMap::new());
    }
    form_errors.insert(form_name, errors);
    context.insert("form_errors", &form_errors);
    render_status(req, status, "incidents/show.html", context)
}

#[derive(Deserialize)]
struct ShowQuery {
    update_template: Option<String>,
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    query: Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    render_show(
        &req,
        &state,
        &user,
        path.into_inner(),
        StatusCode::OK,
        "",
        BTreeMap::new(),
        query.update_template.as_deref(),
    )
    .await
}

/// Which incident a form acts on, the name its errors are filed under and the flash on success.
struct Step {
    id: i64,
    form_name: &'static str,
    flash_key: &'static str,
}

/// Runs a use case from a form on the incident page: back to the page on success, the page
/// with the form's field errors on bad input.
async fn act<F>(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    step: Step,
    run: F,
) -> Result<HttpResponse, AppError>
where
    F: FnOnce(
            &mut crate::db::DbConnection,
            &crate::audit::model::Actor,
            chrono::NaiveDateTime,
        ) -> Result<super::model::IncidentView, AppError>
        + Send
        + 'static,
{
    let (actor, now) = (user.actor(&req), state.clock.now());
    let outcome = state.db(move |conn| run(conn, &actor, now)).await;
    let back = super::rules::SPEC.page(step.id);
    crate::web::after_action(&req, &session, outcome, step.flash_key, &back, |errors| {
        render_show(
            &req,
            &state,
            &user,
            step.id,
            StatusCode::UNPROCESSABLE_ENTITY,
            step.form_name,
            errors,
            None,
        )
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TransitionForm {
    version: Option<i32>,
    reason: String,
    workaround: String,
    resolution: String,
    resolution_kind: String,
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
    let id = path.into_inner();
    let input = TransitionInput {
        version: form.version,
        reason: form.reason,
        workaround: form.workaround,
        resolution: form.resolution,
        resolution_kind: form.resolution_kind,
    };
    act(
        req,
        state,
        user,
        session,
        Step {
            id,
            form_name: action.as_str(),
            flash_key: "flash-incident-updated",
        },
        move |conn, actor, now| service::transition(conn, actor, now, id, action, &input),
    )
    .await
}

/// The correction form on the incident page; every field it shows is submitted, so an emptied
/// title is an error (form decoding would otherwise read an empty value as "not given").
#[derive(Deserialize, Default)]
#[serde(default)]
struct EditForm {
    version: Option<i32>,
    title: String,
    impact: String,
    urgency: String,
    category: String,
    service: String,
}

async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<EditForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = service::EditInput {
        version: form.version,
        title: Some(form.title),
        description: None,
        impact: Some(form.impact),
        urgency: Some(form.urgency),
        category: Some(form.category),
        service: Some(form.service),
    };
    act(
        req,
        state,
        user,
        session,
        Step {
            id,
            form_name: "edit",
            flash_key: "flash-incident-updated",
        },
        move |conn, actor, now| service::edit(conn, actor, now, id, &input),
    )
    .await
}

async fn comment(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(input): Form<CommentInput>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    act(
        req,
        state,
        user,
        session,
        Step {
            id,
            form_name: "comment",
            flash_key: "flash-comment-added",
        },
        move |conn, actor, now| service::comment(conn, actor, now, id, &input),
    )
    .await
}

async fn status_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(input): Form<StatusUpdateInput>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    act(
        req,
        state,
        user,
        session,
        Step {
            id,
            form_name: "status_update",
            flash_key: "flash-status-update-posted",
        },
        move |conn, actor, now| service::status_update(conn, actor, now, id, &input),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EscalationForm {
    version: Option<i32>,
    kind: String,
    to_team: String,
    reason: String,
    tried: String,
}

async fn escalate(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<EscalationForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = EscalationInput {
        version: form.version,
        kind: form.kind,
        to_team: opt_id(&form.to_team)?,
        reason: form.reason,
        tried: form.tried,
    };
    service::check_people_fields(user.role, input.to_team.is_some(), false)?;
    act(
        req,
        state,
        user,
        session,
        Step {
            id,
            form_name: "escalate",
            flash_key: "flash-incident-escalated",
        },
        move |conn, actor, now| service::escalate(conn, actor, now, id, &input),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AssignForm {
    version: Option<i32>,
    team_id: String,
    assignee_id: String,
}

async fn assign(
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
        // The form always sends both; an empty choice clears.
        team_id: Some(opt_id(&form.team_id)?),
        assignee_id: Some(opt_id(&form.assignee_id)?),
    };
    service::check_people_fields(user.role, input.team_id.is_some(), input.assignee_id.is_some())?;
    act(
        req,
        state,
        user,
        session,
        Step {
            id,
            form_name: "assign",
            flash_key: "flash-incident-updated",
        },
        move |conn, actor, now| service::assign(conn, actor, now, id, &input),
    )
    .await
}

async fn attach(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let upload = match crate::attachments::routes::read_upload(payload, state.config.max_upload_bytes).await {
        Ok(upload) => upload,
        Err(AppError::Validation(errors)) => {
            let errors = errors.translated(request_lang(&req));
            return render_show(
                &req,
                &state,
                &user,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                "attach",
                errors,
                None,
            )
            .await;
        }
        Err(e) => return Err(e),
    };
    let (actor, now, data_dir) = (user.actor(&req), state.clock.now(), state.config.data_dir.clone());
    let limits = crate::attachments::service::Limits::of(&state.config);
    let stored = state
        .db(move |conn| crate::attachments::service::store(conn, &data_dir, &actor, now, id, &upload, limits))
        .await;
    // Over the rate or the quota: the incident page again, the reason beside the file field.
    let (status, message, retry_after) = match stored {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-attachment-added");
            return Ok(redirect(&format!("/incidents/{id}")));
        }
        Err(AppError::TooManyRequests { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            FieldMessage::new("error-upload-rate")
                .with("max", limits.per_minute)
                .with("seconds", retry_after_secs),
            Some(retry_after_secs),
        ),
        Err(AppError::InsufficientStorage(_)) => (
            StatusCode::INSUFFICIENT_STORAGE,
            FieldMessage::new("error-storage-full"),
            None,
        ),
        Err(e) => return Err(e),
    };
    let errors = FieldErrors::single("file", message).translated(request_lang(&req));
    let mut page = render_show(&req, &state, &user, id, status, "attach", errors, None).await?;
    if let Some(seconds) = retry_after {
        page.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(seconds),
        );
    }
    Ok(page)
}
