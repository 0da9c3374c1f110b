//! HTML pages for people: the admin's user list and forms, and everyone's own profile
//! (preferences, password, API tokens).

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use super::model::{PreferencesInput, UserChanges, UserFilter, UserInput};
use super::{queries, service};
use crate::auth::permissions::Role;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::teams::queries as team_queries;
use crate::web::flash::{self, Kind};
use crate::web::forms::{checkbox, Form};
use crate::web::query::Query;
use crate::web::redirect;
use crate::web::templates::{render, render_status, request_lang};

pub const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(home)))
        .service(
            web::resource("/admin/users")
                .route(web::get().to(list))
                .route(web::post().to(create)),
        )
        .route("/admin/users/new", web::get().to(new_form))
        .route("/admin/users/{id}/edit", web::get().to(edit_form))
        .route("/admin/users/{id}", web::post().to(update))
        .route("/admin/users/{id}/sessions/end", web::post().to(end_sessions))
        .service(
            web::resource("/profile")
                .route(web::get().to(profile))
                .route(web::post().to(update_profile)),
        )
        .route("/profile/password", web::post().to(change_password))
        .route("/profile/tokens", web::post().to(create_token))
        .route("/profile/tokens/{id}/revoke", web::post().to(revoke_token))
        .route("/profile/sessions/{id}/end", web::post().to(end_own_session));
}

#[derive(Serialize)]
struct Stats {
    users: i64,
    teams: i64,
}

#[derive(Serialize)]
struct TeamRef {
    id: i64,
    name: String,
}

async fn home(req: HttpRequest, state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let user_id = user.id;
    let (teams, stats) = state
        .db(move |conn| {
            let team_ids = queries::team_ids(conn, user_id)?;
            let teams: Vec<TeamRef> = team_queries::all(conn)?
                .into_iter()
                .filter(|t| team_ids.contains(&t.id))
                .map(|t| TeamRef { id: t.id, name: t.name })
                .collect();
            Ok((
                teams,
                Stats {
                    users: queries::count(conn)?,
                    teams: team_queries::count(conn)?,
                },
            ))
        })
        .await?;
    let mut context = Context::new();
    context.insert("teams", &teams);
    context.insert("stats", &stats);
    render(&req, "home.html", context)
}

#[derive(Serialize)]
struct UserRow {
    id: i64,
    email: String,
    display_name: String,
    role: String,
    active: bool,
    teams: String,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    last_login_at: Option<chrono::NaiveDateTime>,
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<UserFilter>,
) -> Result<HttpResponse, AppError> {
    let filter = query.into_inner();
    let db_filter = filter.clone();
    let (rows, next_after) = state
        .db(move |conn| {
            let mut users = queries::list(conn, &db_filter, PAGE_SIZE + 1)?;
            let next = (users.len() as i64 > PAGE_SIZE).then(|| {
                users.truncate(PAGE_SIZE as usize);
                users.last().map(|u| u.id)
            });
            let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
            let mut names = queries::team_names_of(conn, &ids)?;
            let rows: Vec<UserRow> = users
                .into_iter()
                .map(|u| UserRow {
                    teams: names.remove(&u.id).unwrap_or_default().join(", "),
                    id: u.id,
                    email: u.email,
                    display_name: u.display_name,
                    role: u.role,
                    active: u.active,
                    last_login_at: u.last_login_at,
                })
                .collect();
            Ok((rows, next.flatten()))
        })
        .await?;
    let q = filter.q.clone().unwrap_or_default();
    let role = filter.role.clone().unwrap_or_default();
    let next_url = next_after.map(|after| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .append_pair("role", &role)
            .append_pair("after", &after.to_string())
            .finish();
        format!("/admin/users?{query}")
    });
    let mut context = Context::new();
    context.insert("users", &rows);
    context.insert("q", &q);
    context.insert("role_filter", &role);
    context.insert("roles", &Role::ALL.map(Role::as_str));
    context.insert("next_url", &next_url);
    context.insert("is_first_page", &filter.after.is_none());
    render(&req, "users/list.html", context)
}

#[derive(Serialize, Default)]
struct UserFormView {
    email: String,
    display_name: String,
    role: String,
    locale: String,
    time_zone: String,
    active: bool,
    team_ids: Vec<i64>,
}

async fn render_form(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    status: StatusCode,
    user_id: Option<i64>,
    form: UserFormView,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let teams: Vec<TeamRef> = state
        .db(|conn| {
            Ok(team_queries::all(conn)?
                .into_iter()
                .map(|t| TeamRef { id: t.id, name: t.name })
                .collect())
        })
        .await?;
    let mut context = Context::new();
    context.insert("mode", if user_id.is_some() { "edit" } else { "new" });
    context.insert(
        "action",
        &user_id
            .map(|id| format!("/admin/users/{id}"))
            .unwrap_or_else(|| "/admin/users".to_string()),
    );
    context.insert("user_id", &user_id);
    context.insert("form", &form);
    context.insert("errors", &errors);
    context.insert("roles", &Role::ALL.map(Role::as_str));
    context.insert("teams", &teams);
    render_status(req, status, "users/form.html", context)
}

async fn new_form(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let form = UserFormView {
        role: Role::Helpdesk.as_str().into(),
        locale: "ja".into(),
        time_zone: "Asia/Tokyo".into(),
        active: true,
        ..Default::default()
    };
    render_form(&req, &state, StatusCode::OK, None, form, BTreeMap::new()).await
}

#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    password: String,
    #[serde(default, deserialize_with = "checkbox")]
    active: bool,
    #[serde(default)]
    team_ids: Vec<i64>,
}

impl UserForm {
    fn view(&self) -> UserFormView {
        UserFormView {
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            role: self.role.clone(),
            locale: self.locale.clone(),
            time_zone: self.time_zone.clone(),
            active: self.active,
            team_ids: self.team_ids.clone(),
        }
    }
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<UserForm>,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor(&req);
    let now = state.clock.now();
    let input = UserInput {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        role: form.role.clone(),
        locale: form.locale.clone(),
        time_zone: form.time_zone.clone(),
        password: form.password.clone(),
        team_ids: form.team_ids.clone(),
    };
    match state.db(move |conn| service::create(conn, &actor, now, &input)).await {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-user-created");
            Ok(redirect("/admin/users"))
        }
        Err(AppError::Validation(errors)) => {
            render_form(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form.view(),
                errors.translated(request_lang(&req)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = state.db(move |conn| service::view_by_id(conn, id)).await?;
    let form = UserFormView {
        email: view.email,
        display_name: view.display_name,
        role: view.role,
        locale: view.locale,
        time_zone: view.time_zone,
        active: view.active,
        team_ids: view.team_ids,
    };
    render_form(&req, &state, StatusCode::OK, Some(id), form, BTreeMap::new()).await
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<UserForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let actor = user.actor(&req);
    let now = state.clock.now();
    let changes = UserChanges {
        email: Some(form.email.clone()),
        display_name: Some(form.display_name.clone()),
        role: Some(form.role.clone()),
        locale: Some(form.locale.clone()),
        time_zone: Some(form.time_zone.clone()),
        active: Some(form.active),
        password: Some(form.password.clone()).filter(|p| !p.is_empty()),
        team_ids: Some(form.team_ids.clone()),
    };
    match state
        .db(move |conn| service::update(conn, &actor, now, id, &changes))
        .await
    {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-user-updated");
            Ok(redirect("/admin/users"))
        }
        Err(AppError::Validation(errors)) => {
            render_form(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(id),
                form.view(),
                errors.translated(request_lang(&req)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// Ends every session of a user, from the admin edit page.
async fn end_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, id) = (user.actor(&req), state.clock.now(), path.into_inner());
    state
        .db(move |conn| crate::auth::service::end_sessions_of(conn, &actor, now, id))
        .await?;
    flash::push(&session, Kind::Success, "flash-sessions-ended");
    Ok(redirect(&format!("/admin/users/{id}/edit")))
}

// ---- Profile -------------------------------------------------------------------------------

#[derive(Default)]
struct ProfileErrors {
    form: BTreeMap<String, String>,
    password: BTreeMap<String, String>,
    token: BTreeMap<String, String>,
}

async fn render_profile(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: &CurrentUser,
    status: StatusCode,
    form: Option<PreferencesInput>,
    errors: ProfileErrors,
    new_token: Option<String>,
) -> Result<HttpResponse, AppError> {
    let user_id = user.id;
    let (now, lifetimes) = (
        state.clock.now(),
        crate::auth::sessions::Lifetimes::from_config(&state.config),
    );
    let (current, tokens, sessions) = state
        .db(move |conn| {
            Ok((
                queries::find(conn, user_id)?,
                queries::tokens_of(conn, user_id)?,
                crate::auth::sessions::live_of(conn, user_id, now, lifetimes)?,
            ))
        })
        .await?;
    let form = form.unwrap_or(PreferencesInput {
        display_name: current.display_name.clone(),
        locale: current.locale.clone(),
        time_zone: current.time_zone.clone(),
    });
    let mut context = Context::new();
    context.insert("form", &form);
    context.insert("errors", &errors.form);
    context.insert("password_errors", &errors.password);
    context.insert("token_errors", &errors.token);
    context.insert("tokens", &tokens);
    context.insert("new_token", &new_token);
    context.insert("sessions", &sessions);
    context.insert("current_session_id", &user.session_id);
    render_status(req, status, "profile/show.html", context)
}

async fn profile(req: HttpRequest, state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    render_profile(
        &req,
        &state,
        &user,
        StatusCode::OK,
        None,
        ProfileErrors::default(),
        None,
    )
    .await
}

async fn update_profile(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<PreferencesInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, id, now, input) = (user.actor(&req), user.id, state.clock.now(), form.clone());
    match state
        .db(move |conn| service::update_preferences(conn, &actor, now, id, &input))
        .await
    {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-profile-updated");
            Ok(redirect("/profile"))
        }
        Err(AppError::Validation(errors)) => {
            let errors = ProfileErrors {
                form: errors.translated(request_lang(&req)),
                ..Default::default()
            };
            render_profile(
                &req,
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(form),
                errors,
                None,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let (actor, id, now, keep) = (user.actor(&req), user.id, state.clock.now(), user.session_id);
    match state
        .db(move |conn| {
            service::change_password(conn, &actor, now, id, &form.current_password, &form.new_password, keep)
        })
        .await
    {
        Ok(()) => {
            // Other sessions of this user end; this one carries on.
            flash::push(&session, Kind::Success, "flash-password-changed");
            Ok(redirect("/profile"))
        }
        Err(AppError::TooManyRequests { retry_after_secs }) => {
            let minutes = ((retry_after_secs + 59) / 60).max(1);
            let message = crate::web::i18n::translate_with(
                request_lang(&req),
                "password-change-throttled",
                &[("minutes", minutes)],
            );
            let errors = ProfileErrors {
                password: BTreeMap::from([("current_password".to_string(), message)]),
                ..Default::default()
            };
            let mut response =
                render_profile(&req, &state, &user, StatusCode::TOO_MANY_REQUESTS, None, errors, None).await?;
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after_secs),
            );
            Ok(response)
        }
        Err(AppError::Validation(errors)) => {
            let errors = ProfileErrors {
                password: errors.translated(request_lang(&req)),
                ..Default::default()
            };
            render_profile(
                &req,
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                errors,
                None,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
}

async fn create_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    Form(form): Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let (actor, id, now) = (user.actor(&req), user.id, state.clock.now());
    match state
        .db(move |conn| service::create_token(conn, &actor, now, id, &form.name))
        .await
    {
        // Rendered directly (not redirected) so the secret is shown once and never stored in a session.
        Ok(created) => {
            render_profile(
                &req,
                &state,
                &user,
                StatusCode::OK,
                None,
                ProfileErrors::default(),
                Some(created.secret),
            )
            .await
        }
        Err(AppError::Validation(errors)) => {
            let errors = ProfileErrors {
                token: errors.translated(request_lang(&req)),
                ..Default::default()
            };
            render_profile(
                &req,
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                errors,
                None,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn revoke_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, id, now, token_id) = (user.actor(&req), user.id, state.clock.now(), path.into_inner());
    state
        .db(move |conn| service::revoke_token(conn, &actor, now, id, token_id))
        .await?;
    flash::push(&session, Kind::Success, "flash-token-revoked");
    Ok(redirect("/profile"))
}

/// Ends one of the user's own sessions (another browser), from the profile page.
async fn end_own_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, id, now, session_id) = (user.actor(&req), user.id, state.clock.now(), path.into_inner());
    state
        .db(move |conn| crate::auth::service::end_own_session(conn, &actor, now, id, session_id))
        .await?;
    flash::push(&session, Kind::Success, "flash-session-ended");
    Ok(redirect("/profile"))
}
