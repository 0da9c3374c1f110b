//! `/admin/backups`: the backup schedule and retention, the runs with size, duration and
//! restore test, and "back up now" (run synchronously under the job's lease).

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use super::model::{BackupSettings, SettingsInput};
use super::{job, queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::flash::{self, Kind};
use crate::web::forms::Form;
use crate::web::redirect;
use crate::web::templates::{render_status, request_lang};

/// Runs listed on the page.
pub const RUNS_SHOWN: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/backups", web::get().to(page))
        .route("/admin/backups/settings", web::post().to(save))
        .route("/admin/backups/run", web::post().to(run_now))
        .route("/admin/backups/retention", web::post().to(save_retention));
}

/// The settings form as typed: numbers stay text so a wrong one comes back as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
struct SettingsForm {
    enabled: Option<String>,
    time_of_day: String,
    time_zone: String,
    target_dir: String,
    keep_daily: String,
    keep_weekly: String,
    alert_team_id: String,
}

impl SettingsForm {
    fn of(s: &BackupSettings) -> Self {
        Self {
            enabled: s.enabled.then(|| "on".to_string()),
            time_of_day: s.time_of_day.clone(),
            time_zone: s.time_zone.clone(),
            target_dir: s.target_dir.clone(),
            keep_daily: s.keep_daily.to_string(),
            keep_weekly: s.keep_weekly.to_string(),
            alert_team_id: s.alert_team_id.map(|t| t.to_string()).unwrap_or_default(),
        }
    }

    fn input(&self) -> SettingsInput {
        SettingsInput {
            enabled: self.enabled.is_some(),
            time_of_day: self.time_of_day.clone(),
            time_zone: self.time_zone.clone(),
            target_dir: self.target_dir.clone(),
            // Not a number: out of range, so the field is named.
            keep_daily: self.keep_daily.trim().parse().unwrap_or(-1),
            keep_weekly: self.keep_weekly.trim().parse().unwrap_or(-1),
            alert_team_id: self.alert_team_id.trim().parse().ok(),
        }
    }
}

#[derive(Serialize)]
struct RunView {
    #[serde(flatten)]
    run: super::model::BackupRun,
    /// Rounded up, so a small archive never reads as 0 KB.
    size_kb: Option<i64>,
}

#[derive(Serialize)]
struct CountView {
    table: String,
    count: i64,
}

#[derive(Serialize)]
struct RetentionRunView {
    #[serde(serialize_with = "crate::db::utc::serialize")]
    started_at: chrono::NaiveDateTime,
    counts: Vec<CountView>,
    error: Option<String>,
}

/// A retention period as the form shows it.
#[derive(Serialize)]
struct PeriodView {
    table: &'static str,
    days: String,
    /// The label's message: `retention-days-label`, or `retention-months-label` for archiving.
    label: &'static str,
    max: i32,
}

#[allow(clippy::too_many_arguments)]
async fn render_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    status: StatusCode,
    form: Option<SettingsForm>,
    errors: BTreeMap<String, String>,
    typed_periods: Option<BTreeMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let (settings, runs, teams, periods, retention_runs, archive_report) = state
        .db(move |conn| {
            Ok((
                queries::settings(conn)?,
                queries::recent_runs(conn, RUNS_SHOWN)?,
                crate::teams::queries::all(conn)?,
                crate::retention::service::periods(conn)?,
                crate::retention::queries::recent_runs(conn, 10)?,
                crate::retention::service::archive_report(conn, now)?,
            ))
        })
        .await?;
    use crate::retention::rules::{MAX_DAYS, MAX_MONTHS, PRUNABLE, TICKET_ARCHIVE, TICKET_ARCHIVE_DEFAULT_MONTHS};
    let shown = |table: &'static str, default: i32| {
        typed_periods
            .as_ref()
            .and_then(|typed| typed.get(table).cloned())
            .unwrap_or_else(|| periods.days.get(table).copied().unwrap_or(default).to_string())
    };
    let periods: Vec<PeriodView> = PRUNABLE
        .iter()
        .map(|p| PeriodView {
            table: p.table,
            days: shown(p.table, p.default_days),
            label: "retention-days-label",
            max: MAX_DAYS,
        })
        .chain(std::iter::once(PeriodView {
            table: TICKET_ARCHIVE,
            days: shown(TICKET_ARCHIVE, TICKET_ARCHIVE_DEFAULT_MONTHS),
            label: "retention-months-label",
            max: MAX_MONTHS,
        }))
        .collect();
    let default_target = job::target_dir(
        &BackupSettings {
            target_dir: String::new(),
            ..settings.clone()
        },
        &state.config.data_dir,
    );
    let mut context = Context::new();
    context.insert("form", &form.unwrap_or_else(|| SettingsForm::of(&settings)));
    context.insert("settings", &settings);
    context.insert("default_target", &default_target.to_string_lossy());
    let runs: Vec<RunView> = runs
        .into_iter()
        .map(|run| RunView {
            size_kb: run.size_bytes.map(|b| (b + 1023) / 1024),
            run,
        })
        .collect();
    context.insert("runs", &runs);
    context.insert("teams", &teams);
    context.insert("errors", &errors);
    context.insert("periods", &periods);
    let retention_runs: Vec<RetentionRunView> = retention_runs
        .into_iter()
        .map(|run| RetentionRunView {
            started_at: run.started_at,
            counts: serde_json::from_str::<BTreeMap<String, i64>>(&run.counts)
                .unwrap_or_default()
                .into_iter()
                .map(|(table, count)| CountView { table, count })
                .collect(),
            error: run.error,
        })
        .collect();
    context.insert("retention_runs", &retention_runs);
    context.insert("archive_report", &archive_report);
    render_status(req, status, "backup/admin.html", context)
}

async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    render_page(&req, &state, StatusCode::OK, None, BTreeMap::new(), None).await
}

async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), form.input());
    match state
        .db(move |conn| service::update_settings(conn, &actor, now, &input))
        .await
    {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-saved");
            Ok(redirect("/admin/backups"))
        }
        Err(AppError::Validation(errors)) => {
            let errors = errors.translated(request_lang(&req));
            render_page(&req, &state, StatusCode::UNPROCESSABLE_ENTITY, Some(form), errors, None).await
        }
        Err(e) => Err(e),
    }
}

async fn run_now(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (actor, now, data_dir) = (user.actor(&req), state.clock.now(), state.config.data_dir.clone());
    match state
        .db(move |conn| job::run_now(conn, &data_dir, job::instance_id(), &actor, now))
        .await
    {
        Ok(run) if run.error.is_none() => flash::push(&session, Kind::Success, "flash-backup-done"),
        Ok(_) => flash::push(&session, Kind::Error, "flash-backup-failed"),
        Err(AppError::Conflict(_)) => flash::push(&session, Kind::Error, "flash-backup-busy"),
        Err(e) => return Err(e),
    }
    Ok(redirect("/admin/backups"))
}

/// `POST /admin/backups/retention`: one field per prunable table, named `days.<table>`.
async fn save_retention(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let typed: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("days.").map(|t| (t.to_string(), v.clone())))
        .collect();
    let input = crate::retention::model::Periods {
        // Not a number: out of range, so the field is named.
        days: typed
            .iter()
            .map(|(t, v)| (t.clone(), v.trim().parse().unwrap_or(-1)))
            .collect(),
    };
    let (actor, now) = (user.actor(&req), state.clock.now());
    match state
        .db(move |conn| crate::retention::service::update_periods(conn, &actor, now, &input))
        .await
    {
        Ok(_) => {
            flash::push(&session, Kind::Success, "flash-saved");
            Ok(redirect("/admin/backups"))
        }
        Err(AppError::Validation(errors)) => {
            let errors = errors.translated(request_lang(&req));
            render_page(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                errors,
                Some(typed),
            )
            .await
        }
        Err(e) => Err(e),
    }
}
