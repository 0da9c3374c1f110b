//! Admin pages for business calendars (with a month view of working and non-working days and
//! .ics import), SLA policies and each team's escalation policy (its levels in order, linked
//! from the teams page). Same service functions as the API.

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use tera::Context;

use super::model::{CalendarInput, ClosureInput, EscalationRule, EscalationRuleInput, PolicyInput};
use super::{holidays, queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::forms::Form;
use crate::web::query::Query;
use crate::web::redirect;
use crate::web::templates::{render_status, request_lang};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/calendars", web::get().to(calendars))
        .route("/admin/calendars", web::post().to(create_calendar))
        .route("/admin/calendars/{id}", web::get().to(calendar))
        .route("/admin/calendars/{id}", web::post().to(update_calendar))
        .route("/admin/calendars/{id}/delete", web::post().to(delete_calendar))
        .route("/admin/calendars/{id}/import", web::post().to(import_calendar))
        .route("/admin/sla-policies", web::get().to(policies))
        .route("/admin/sla-policies", web::post().to(create_policy))
        .route("/admin/sla-policies/{id}", web::post().to(update_policy))
        .route("/admin/teams/{id}/escalation", web::get().to(escalation_policy))
        .route("/admin/teams/{id}/escalation", web::post().to(create_level))
        .route("/admin/escalation-rules/{id}/delete", web::post().to(delete_level));
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The calendar form: one text field per weekday ("09:00-12:00, 13:00-18:00") and closures one
/// per line ("2026-12-29..2027-01-03 年末年始").
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
struct CalendarForm {
    name: String,
    time_zone: String,
    japanese_holidays: Option<String>,
    mon: String,
    tue: String,
    wed: String,
    thu: String,
    fri: String,
    sat: String,
    sun: String,
    closures: String,
}

impl CalendarForm {
    fn days(&self) -> [&String; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }

    fn input(&self) -> CalendarInput {
        let closures = self
            .closures
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let (range, name) = line.split_once(' ').unwrap_or((line, ""));
                let (starts_on, ends_on) = range.split_once("..").unwrap_or((range, ""));
                ClosureInput {
                    starts_on: starts_on.into(),
                    ends_on: ends_on.into(),
                    name: name.trim().into(),
                }
            })
            .collect();
        CalendarInput {
            name: self.name.clone(),
            time_zone: self.time_zone.clone(),
            week: self
                .days()
                .iter()
                .map(|d| {
                    d.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .collect(),
            japanese_holidays: self.japanese_holidays.is_some(),
            closures: Some(closures),
        }
    }

    fn of(view: &super::model::CalendarView) -> CalendarForm {
        let day = |i: usize| view.week.get(i).map(|d| d.join(", ")).unwrap_or_default();
        CalendarForm {
            name: view.calendar.name.clone(),
            time_zone: view.calendar.time_zone.clone(),
            japanese_holidays: view.calendar.japanese_holidays.then(|| "on".into()),
            mon: day(0),
            tue: day(1),
            wed: day(2),
            thu: day(3),
            fri: day(4),
            sat: day(5),
            sun: day(6),
            closures: view
                .closures
                .iter()
                .map(|c| {
                    let range = if c.starts_on == c.ends_on {
                        c.starts_on.clone()
                    } else {
                        format!("{}..{}", c.starts_on, c.ends_on)
                    };
                    format!("{range} {}", c.name).trim().to_string()
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

#[derive(Serialize)]
struct MonthDay {
    day: u32,
    /// Some working interval on this day (not closed, not an empty weekday).
    working: bool,
    hours: String,
    holiday: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MonthQuery {
    month: Option<String>,
}

/// The working days of a month on a calendar, for the month view.
fn month_view(conn: &mut crate::db::DbConnection, id: i64, month: NaiveDate) -> Result<(Vec<MonthDay>, u32), AppError> {
    let row = queries::calendar(conn, id)?;
    let closures = queries::closures(conn, id)?;
    let rules = service::calendar_rules(&row, &closures, month.year()..=month.year());
    let names: BTreeMap<NaiveDate, &str> = if row.japanese_holidays {
        holidays::japanese_holidays(month.year()).into_iter().collect()
    } else {
        BTreeMap::new()
    };
    let closure_names: Vec<(NaiveDate, NaiveDate, String)> = closures
        .into_iter()
        .filter_map(|c| {
            let s = NaiveDate::parse_from_str(&c.starts_on, "%Y-%m-%d").ok()?;
            let e = NaiveDate::parse_from_str(&c.ends_on, "%Y-%m-%d").ok()?;
            Some((s, e, c.name))
        })
        .collect();
    let mut days = Vec::new();
    let mut day = month;
    while day.month() == month.month() {
        let weekday = day.weekday().num_days_from_monday() as usize;
        let closed = rules.closed.contains(&day);
        let intervals = &rules.week[weekday];
        let holiday = names.get(&day).map(|n| n.to_string()).or_else(|| {
            closure_names
                .iter()
                .find(|(s, e, _)| *s <= day && day <= *e)
                .map(|(_, _, n)| n.clone())
        });
        days.push(MonthDay {
            day: day.day(),
            working: !closed && !intervals.is_empty(),
            hours: if closed {
                String::new()
            } else {
                intervals
                    .iter()
                    .map(super::rules::Interval::format)
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            holiday: if closed { holiday.or(Some(String::new())) } else { None },
        });
        day += Duration::days(1);
    }
    Ok((days, month.weekday().num_days_from_monday()))
}

async fn calendars(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    render_calendars(&req, &state, StatusCode::OK, CalendarForm::default(), BTreeMap::new()).await
}

async fn render_calendars(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    status: StatusCode,
    form: CalendarForm,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let (items, policies) = state
        .db(|conn| Ok((service::calendars(conn)?, queries::policies(conn)?)))
        .await?;
    let mut context = Context::new();
    context.insert("calendars", &items);
    context.insert("policies", &policies);
    context.insert(
        "form",
        &if form.name.is_empty() && form.time_zone.is_empty() {
            CalendarForm {
                time_zone: "Asia/Tokyo".into(),
                japanese_holidays: Some("on".into()),
                mon: "09:00-12:00, 13:00-18:00".into(),
                tue: "09:00-12:00, 13:00-18:00".into(),
                wed: "09:00-12:00, 13:00-18:00".into(),
                thu: "09:00-12:00, 13:00-18:00".into(),
                fri: "09:00-12:00, 13:00-18:00".into(),
                ..form
            }
        } else {
            form
        },
    );
    context.insert("errors", &errors);
    context.insert("weekdays", &WEEKDAYS);
    render_status(req, status, "sla/calendars.html", context)
}

async fn create_calendar(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<CalendarForm>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), form.input());
    match state
        .db(move |conn| service::create_calendar(conn, &actor, now, &input))
        .await
    {
        Ok(view) => {
            flash::push(&session, Kind::Success, "flash-saved");
            Ok(redirect(&format!("/admin/calendars/{}", view.calendar.id)))
        }
        Err(AppError::Validation(errors)) => {
            let errors = errors.translated(request_lang(&req));
            render_calendars(&req, &state, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await
        }
        Err(e) => Err(e),
    }
}

async fn calendar(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: Query<MonthQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = state.db(move |conn| service::calendar_view(conn, id)).await?;
    let form = CalendarForm::of(&view);
    render_calendar(
        &req,
        &state,
        id,
        StatusCode::OK,
        form,
        BTreeMap::new(),
        query.into_inner().month,
    )
    .await
}

async fn render_calendar(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    id: i64,
    status: StatusCode,
    form: CalendarForm,
    errors: BTreeMap<String, String>,
    month: Option<String>,
) -> Result<HttpResponse, AppError> {
    let today = state.clock.now().date();
    let month = month
        .and_then(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok())
        .unwrap_or_else(|| today.with_day(1).expect("first"));
    let (view, (days, offset), users) = state
        .db(move |conn| {
            Ok((
                service::calendar_view(conn, id)?,
                month_view(conn, id, month)?,
                queries::policies_using(conn, id)?,
            ))
        })
        .await?;
    let previous = month.checked_sub_months(chrono::Months::new(1)).unwrap_or(month);
    let next = month.checked_add_months(chrono::Months::new(1)).unwrap_or(month);
    let mut context = Context::new();
    context.insert("calendar", &view);
    context.insert("form", &form);
    context.insert("errors", &errors);
    context.insert("weekdays", &WEEKDAYS);
    context.insert("days", &days);
    context.insert("offset", &offset);
    context.insert("month", &month.format("%Y-%m").to_string());
    context.insert("previous", &previous.format("%Y-%m").to_string());
    context.insert("next", &next.format("%Y-%m").to_string());
    context.insert("used_by", &users);
    render_status(req, status, "sla/calendar.html", context)
}

async fn update_calendar(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<CalendarForm>,
) -> Result<HttpResponse, AppError> {
    let (id, actor, now, input) = (path.into_inner(), user.actor(&req), state.clock.now(), form.input());
    match state
        .db(move |conn| service::update_calendar(conn, &actor, now, id, &input))
        .await
    {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-saved");
            Ok(redirect(&format!("/admin/calendars/{id}")))
        }
        Err(AppError::Validation(errors)) => {
            let errors = errors.translated(request_lang(&req));
            render_calendar(&req, &state, id, StatusCode::UNPROCESSABLE_ENTITY, form, errors, None).await
        }
        Err(e) => Err(e),
    }
}

async fn delete_calendar(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, actor, now) = (path.into_inner(), user.actor(&req), state.clock.now());
    match state
        .db(move |conn| service::delete_calendar(conn, &actor, now, id))
        .await
    {
        Ok(()) => {
            flash::push(&session, Kind::Success, "flash-deleted");
            Ok(redirect("/admin/calendars"))
        }
        Err(AppError::Conflict(_)) => {
            flash::push(&session, Kind::Error, "flash-calendar-in-use");
            Ok(redirect(&format!("/admin/calendars/{id}")))
        }
        Err(e) => Err(e),
    }
}

/// The .ics file comes as the upload of a multipart form.
async fn import_calendar(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (actor, now) = (user.actor(&req), state.clock.now());
    let result = match crate::attachments::routes::read_upload(payload, 1024 * 1024).await {
        Ok(upload) => {
            let text = String::from_utf8_lossy(&upload.bytes).into_owned();
            state
                .db(move |conn| service::import_ics(conn, &actor, now, id, &text))
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            flash::push(&session, Kind::Success, "flash-imported");
            Ok(redirect(&format!("/admin/calendars/{id}")))
        }
        Err(AppError::Validation(errors)) => {
            let view = state.db(move |conn| service::calendar_view(conn, id)).await?;
            let form = CalendarForm::of(&view);
            let errors = errors.translated(request_lang(&req));
            render_calendar(&req, &state, id, StatusCode::UNPROCESSABLE_ENTITY, form, errors, None).await
        }
        Err(e) => Err(e),
    }
}

/// The policy form (one form per policy on the page, and one for a new policy).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
struct PolicyForm {
    name: String,
    position: String,
    active: Option<String>,
    priorities: Vec<String>,
    category: String,
    team_id: String,
    response_minutes: String,
    resolution_minutes: String,
    calendar_id: String,
    warn_percent: String,
    mitigation_stops_resolution: Option<String>,
}

impl PolicyForm {
    fn input(&self) -> Result<PolicyInput, AppError> {
        let number = |raw: &str, field: &'static str| -> Result<Option<i64>, AppError> {
            match raw.trim() {
                "" => Ok(None),
                text => text.parse().map(Some).map_err(|_| {
                    AppError::Validation(crate::error::FieldErrors::single(
                        field,
                        crate::error::FieldMessage::new("error-number-invalid"),
                    ))
                }),
            }
        };
        let small = |raw: &str, field: &'static str| -> Result<Option<i32>, AppError> {
            Ok(number(raw, field)?.map(|n| n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32))
        };
        Ok(PolicyInput {
            name: self.name.clone(),
            position: small(&self.position, "position")?,
            active: Some(self.active.is_some()),
            kind: "incident".into(),
            priorities: self.priorities.clone(),
            category: Some(self.category.clone()),
            team_id: number(&self.team_id, "team_id")?,
            response_minutes: small(&self.response_minutes, "response_minutes")?,
            resolution_minutes: small(&self.resolution_minutes, "resolution_minutes")?,
            calendar_id: number(&self.calendar_id, "calendar_id")?,
            warn_percent: small(&self.warn_percent, "warn_percent")?,
            mitigation_stops_resolution: self.mitigation_stops_resolution.is_some(),
        })
    }
}

async fn policies(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    render_policies(&req, &state, StatusCode::OK, None, BTreeMap::new()).await
}

async fn render_policies(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    status: StatusCode,
    failed: Option<(String, PolicyForm)>,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let (items, calendars, teams) = state
        .db(|conn| {
            Ok((
                queries::policies(conn)?,
                queries::calendars(conn)?,
                crate::teams::queries::all(conn)?,
            ))
        })
        .await?;
    let mut context = Context::new();
    context.insert("policies", &items);
    context.insert("calendars", &calendars);
    context.insert("teams", &teams);
    context.insert("priorities", &["P1", "P2", "P3", "P4"]);
    context.insert("failed_form", &failed.as_ref().map(|(name, _)| name.clone()));
    context.insert("failed", &failed.map(|(_, form)| form));
    context.insert("errors", &errors);
    context.insert("no_errors", &serde_json::json!({}));
    context.insert("empty_policy", &serde_json::json!({}));
    render_status(req, status, "sla/policies.html", context)
}

async fn save_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    id: Option<i64>,
    form: PolicyForm,
) -> Result<HttpResponse, AppError> {
    let (actor, now) = (user.actor(&req), state.clock.now());
    let result = match form.input() {
        Ok(input) => {
            state
                .db(move |conn| match id {
                    Some(id) => service::update_policy(conn, &actor, now, id, &input),
                    None => service::create_policy(conn, &actor, now, &input),
                })
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-saved");
            Ok(redirect("/admin/sla-policies"))
        }
        Err(AppError::Validation(errors)) => {
            let errors = errors.translated(request_lang(&req));
            let name = id.map_or_else(|| "new".to_string(), |id| id.to_string());
            render_policies(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((name, form)),
                errors,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn create_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<PolicyForm>,
) -> Result<HttpResponse, AppError> {
    save_policy(req, state, user, session, None, form).await
}

async fn update_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<PolicyForm>,
) -> Result<HttpResponse, AppError> {
    save_policy(req, state, user, session, Some(path.into_inner()), form).await
}

/// The triggers a level can have, as the form offers them (delays first: they are what a policy
/// is mostly made of). `clock_kind` values; each has an `escalation-trigger-…` message.
const TRIGGERS: [&str; 6] = [
    "unacknowledged",
    "unresolved",
    "response_warning",
    "response_breach",
    "resolution_warning",
    "resolution_breach",
];

/// The form for a new level of a team's escalation policy.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
struct LevelForm {
    position: String,
    /// One of [`TRIGGERS`].
    trigger: String,
    delay_minutes: String,
    notify: String,
    escalate_to_team_id: String,
    to_level: String,
}

impl LevelForm {
    /// The service's input; numbers that do not parse are field errors here already.
    fn input(&self) -> Result<EscalationRuleInput, AppError> {
        let mut errors = crate::error::FieldErrors::new();
        let mut number = |raw: &str, field: &'static str| -> Option<i64> {
            match raw.trim() {
                "" => None,
                text => text
                    .parse()
                    .map_err(|_| errors.add(field, crate::error::FieldMessage::new("error-number-invalid")))
                    .ok(),
            }
        };
        let small = |n: Option<i64>| n.map(|n| n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32);
        let position = small(number(&self.position, "position"));
        let delay_minutes = small(number(&self.delay_minutes, "delay_minutes"));
        let escalate_to_team_id = number(&self.escalate_to_team_id, "escalate_to_team_id");
        let to_level = small(number(&self.to_level, "to_level"));
        errors.into_result()?;
        let trigger = self.trigger.trim();
        let (clock, kind) = match trigger.split_once('_') {
            Some((clock, kind)) if TRIGGERS.contains(&trigger) => (clock, kind),
            _ => ("", trigger),
        };
        Ok(EscalationRuleInput {
            clock: clock.into(),
            kind: kind.into(),
            delay_minutes,
            notify: self.notify.clone(),
            escalate_to_team_id,
            to_level,
            position,
        })
    }
}

/// A level as the page lists it.
#[derive(Serialize)]
struct LevelView {
    #[serde(flatten)]
    rule: EscalationRule,
    /// One of [`TRIGGERS`].
    trigger: String,
    to_team: Option<String>,
}

async fn escalation_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let form = LevelForm {
        trigger: "unacknowledged".into(),
        notify: "team".into(),
        ..Default::default()
    };
    render_escalation(&req, &state, path.into_inner(), StatusCode::OK, form, BTreeMap::new()).await
}

async fn render_escalation(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    team_id: i64,
    status: StatusCode,
    form: LevelForm,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let (team, rules, teams) = state
        .db(move |conn| {
            Ok((
                crate::teams::queries::find(conn, team_id)?,
                service::escalation_rules(conn, team_id)?,
                crate::teams::queries::all(conn)?,
            ))
        })
        .await?;
    let name_of = |id: i64| teams.iter().find(|t| t.id == id).map(|t| t.name.clone());
    let levels: Vec<LevelView> = rules
        .into_iter()
        .map(|rule| LevelView {
            trigger: if rule.is_delay() {
                rule.kind.clone()
            } else {
                format!("{}_{}", rule.clock, rule.kind)
            },
            to_team: rule.escalate_to_team_id.and_then(name_of),
            rule,
        })
        .collect();
    let others: Vec<_> = teams.iter().filter(|t| t.id != team_id).collect();
    let mut context = Context::new();
    context.insert("team", &team);
    context.insert("levels", &levels);
    context.insert("teams", &others);
    context.insert("triggers", &TRIGGERS);
    context.insert("form", &form);
    context.insert("errors", &errors);
    render_status(req, status, "sla/escalation.html", context)
}

async fn create_level(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
    Form(form): Form<LevelForm>,
) -> Result<HttpResponse, AppError> {
    let (team_id, actor, now) = (path.into_inner(), user.actor(&req), state.clock.now());
    let result = match form.input() {
        Ok(input) => {
            state
                .db(move |conn| service::create_escalation_rule(conn, &actor, now, team_id, &input))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-saved");
            Ok(redirect(&format!("/admin/teams/{team_id}/escalation")))
        }
        Err(AppError::Validation(mut errors)) => {
            // The form has one field for what the service checks as kind and clock.
            for field in ["kind", "clock"] {
                if let Some(message) = errors.0.remove(field) {
                    errors.add("trigger", message);
                }
            }
            let errors = errors.translated(request_lang(&req));
            render_escalation(&req, &state, team_id, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await
        }
        Err(e) => Err(e),
    }
}

async fn delete_level(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, actor, now) = (path.into_inner(), user.actor(&req), state.clock.now());
    let rule = state
        .db(move |conn| service::delete_escalation_rule(conn, &actor, now, id))
        .await?;
    flash::push(&session, Kind::Success, "flash-deleted");
    Ok(redirect(&format!("/admin/teams/{}/escalation", rule.team_id)))
}
