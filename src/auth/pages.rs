//! Sign-in, sign-out, first-run setup and the language switch.

use actix_session::Session;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tera::Context;

use super::service::{self, LoginOutcome};
use super::{end_session, request_ip, session_secret, start_session, user_agent, CurrentUser};
use crate::error::AppError;
use crate::state::AppState;
use crate::users::model::UserInput;
use crate::web::errors::safe_next;
use crate::web::flash::{self, Kind};
use crate::web::forms::Form;
use crate::web::i18n::{translate, translate_with, Lang};
use crate::web::query::Query;
use crate::web::templates::{render, render_status, request_lang};
use crate::web::{redirect, LANG_COOKIE};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/login")
            .route(web::get().to(login_page))
            .route(web::post().to(login_submit)),
    )
    .route("/logout", web::post().to(logout))
    .service(
        web::resource("/setup")
            .route(web::get().to(setup_page))
            .route(web::post().to(setup_submit)),
    )
    .route("/locale", web::post().to(switch_locale));
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    if !state.setup_done() {
        if state.db(service::needs_setup).await? {
            return Ok(redirect("/setup"));
        }
        state.mark_setup_done();
    }
    let mut context = Context::new();
    context.insert("email", "");
    context.insert("next", &safe_next(query.next.as_deref()));
    context.insert("error", &None::<String>);
    render(&req, "auth/login.html", context)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let (ip, agent) = (request_ip(&req), user_agent(&req));
    let now = state.clock.now();
    let (email, password) = (form.email.clone(), form.password.clone());
    let outcome = state
        .db(move |conn| service::login(conn, &email, &password, &ip, &agent, now))
        .await?;
    let lang = request_lang(&req);
    let (status, message) = match outcome {
        LoginOutcome::Success { session_secret, .. } => {
            start_session(&session, &session_secret, now.and_utc().timestamp())?;
            return Ok(redirect(&safe_next(form.next.as_deref())));
        }
        LoginOutcome::Failed => (StatusCode::UNPROCESSABLE_ENTITY, translate(lang, "login-failed")),
        LoginOutcome::Locked { minutes } => (
            StatusCode::TOO_MANY_REQUESTS,
            translate_with(lang, "login-throttled", &[("minutes", minutes)]),
        ),
    };
    let mut context = Context::new();
    context.insert("email", form.email.trim());
    context.insert("next", &safe_next(form.next.as_deref()));
    context.insert("error", &Some(message));
    render_status(&req, status, "auth/login.html", context)
}

/// Ends the session server-side (a copy of the cookie is worthless afterwards) and in the cookie.
async fn logout(req: HttpRequest, state: web::Data<AppState>, session: Session) -> Result<HttpResponse, AppError> {
    if let Some(secret) = session_secret(&session) {
        let (ip, now) = (request_ip(&req), state.clock.now());
        state.db(move |conn| service::logout(conn, &secret, &ip, now)).await?;
    }
    end_session(&session);
    flash::push(&session, Kind::Success, "flash-logged-out");
    Ok(redirect("/login"))
}

async fn setup_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if state.setup_done() || !state.db(service::needs_setup).await? {
        state.mark_setup_done();
        return Err(AppError::NotFound);
    }
    let mut context = Context::new();
    let lang = request_lang(&req);
    context.insert(
        "form",
        &UserInput {
            locale: lang.code().to_string(),
            time_zone: "Asia/Tokyo".to_string(),
            ..Default::default()
        },
    );
    context.insert("errors", &std::collections::BTreeMap::<String, String>::new());
    render(&req, "auth/setup.html", context)
}

async fn setup_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    Form(form): Form<UserInput>,
) -> Result<HttpResponse, AppError> {
    if state.setup_done() {
        return Err(AppError::NotFound);
    }
    let (ip, agent) = (request_ip(&req), user_agent(&req));
    let now = state.clock.now();
    let input = form.clone();
    let created = state
        .db(move |conn| {
            let view = service::setup_first_admin(conn, &ip, now, input)?;
            service::open_session(conn, view.id, &ip, &agent, now)
        })
        .await;
    match created {
        Ok(session_secret) => {
            state.mark_setup_done();
            start_session(&session, &session_secret, now.and_utc().timestamp())?;
            flash::push(&session, Kind::Success, "flash-setup-done");
            Ok(redirect("/"))
        }
        Err(AppError::Validation(errors)) => {
            let mut context = Context::new();
            context.insert("form", &form);
            context.insert("errors", &errors.translated(request_lang(&req)));
            render_status(&req, StatusCode::UNPROCESSABLE_ENTITY, "auth/setup.html", context)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct LocaleForm {
    #[serde(default)]
    lang: String,
    next: Option<String>,
}

/// Switches the language: kept in a cookie, and in the user's profile when signed in.
async fn switch_locale(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: Option<CurrentUser>,
    Form(form): Form<LocaleForm>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::parse(&form.lang).ok_or_else(|| AppError::BadRequest("lang must be ja or en".into()))?;
    if let Some(user) = user {
        let actor = user.actor(&req);
        let now = state.clock.now();
        state
            .db(move |conn| crate::users::service::set_locale(conn, &actor, now, user.id, lang.code()))
            .await?;
    }
    flash::push(&session, Kind::Info, "flash-language-changed");
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(state.config.secure_cookies())
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    let mut response = redirect(&safe_next(form.next.as_deref()));
    response.add_cookie(&cookie).map_err(AppError::internal)?;
    Ok(response)
}
