//! Report pages (`/reports/sla`, `/dashboard`) and API (`/api/v1/reports/sla`,
//! `/api/v1/reports/backlog`, `/api/v1/dashboard`); CSV with `Accept: text/csv` or the
//! pages' `.csv` links.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tera::Context;

use super::{svg, ReportQuery, SlaReport};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::csv::{self, cell};
use crate::web::i18n::{translate, Lang};
use crate::web::json::Items;
use crate::web::query::Query;
use crate::web::templates::render;

pub fn pages(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(dashboard_page))
        .route("/reports/sla", web::get().to(report_page))
        .route("/reports/sla.csv", web::get().to(report_csv));
}

pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports/sla", web::get().to(report_api))
        .route("/reports/backlog", web::get().to(backlog_api))
        .route("/dashboard", web::get().to(dashboard_api));
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"))
}

async fn load(state: &web::Data<AppState>, user: &CurrentUser, query: ReportQuery) -> Result<SlaReport, AppError> {
    let (tz, now) = (user.time_zone.clone(), state.clock.now());
    state
        .db(move |conn| {
            let period = super::period(&query, &tz, now)?;
            super::sla_report(conn, &period)
        })
        .await
}

fn number(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}")).unwrap_or_default()
}

fn rows_csv(report: &SlaReport) -> Result<HttpResponse, AppError> {
    csv::response(
        "sla-report.csv",
        &[
            "month",
            "team",
            "priority",
            "tickets",
            "response_met_percent",
            "resolution_met_percent",
            "breaches",
            "mtta_business_minutes",
            "mtta_wall_minutes",
            "mttr_business_minutes",
            "mttr_wall_minutes",
        ],
        report.rows.iter().map(|r| {
            vec![
                r.row.month.clone(),
                cell(&r.row.team),
                r.row.priority.clone(),
                r.row.tickets.to_string(),
                number(r.response_met_percent),
                number(r.resolution_met_percent),
                r.row.breaches.to_string(),
                number(r.row.mtta_business_minutes),
                number(r.row.mtta_wall_minutes),
                number(r.row.mttr_business_minutes),
                number(r.row.mttr_wall_minutes),
            ]
        }),
    )
}

fn breaches_csv(report: &SlaReport) -> Result<HttpResponse, AppError> {
    csv::response(
        "sla-breaches.csv",
        &[
            "number",
            "title",
            "priority",
            "team",
            "response_breached",
            "resolution_breached",
        ],
        report.breaches.iter().map(|b| {
            vec![
                b.number.clone(),
                cell(&b.title),
                b.priority.clone(),
                cell(&b.team),
                b.response_breached.to_string(),
                b.resolution_breached.to_string(),
            ]
        }),
    )
}

/// The SLA report: met %, MTTA, MTTR and breaches per group. `Accept: text/csv` gives the rows as CSV.
#[utoipa::path(get, path = "/api/v1/reports/sla", tag = "reports", operation_id = "sla_report", params(ReportQuery),
    responses((status = 200, description = "The report", content(
        (SlaReport = "application/json"),
        (String = "text/csv", example = "month,team,priority,tickets,...")))))]
pub(crate) async fn report_api(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let report = load(&state, &user, query.into_inner()).await?;
    if wants_csv(&req) {
        return rows_csv(&report);
    }
    Ok(HttpResponse::Ok().json(report))
}

/// Open incidents by priority and age. `Accept: text/csv` gives CSV.
#[utoipa::path(get, path = "/api/v1/reports/backlog", tag = "reports", operation_id = "backlog_report",
    responses((status = 200, description = "Backlog ageing", content(
        (Items<super::AgeingRow> = "application/json"),
        (String = "text/csv")))))]
pub(crate) async fn backlog_api(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let rows = state.db(move |conn| super::backlog_ageing(conn, now)).await?;
    if wants_csv(&req) {
        return csv::response(
            "backlog.csv",
            &["priority", "age", "tickets"],
            rows.iter()
                .map(|r| vec![r.priority.clone(), r.bucket[2..].to_string(), r.tickets.to_string()]),
        );
    }
    Ok(HttpResponse::Ok().json(Items { items: rows }))
}

/// The manager dashboard's figures.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "reports", operation_id = "dashboard",
    responses((status = 200, description = "Dashboard", body = super::Dashboard)))]
pub(crate) async fn dashboard_api(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (tz, now) = (user.time_zone.clone(), state.clock.now());
    let dashboard = state.db(move |conn| super::dashboard(conn, &tz, now)).await?;
    Ok(HttpResponse::Ok().json(dashboard))
}

/// The label of a report row: its group's values joined.
fn label(row: &super::ReportRow) -> String {
    [row.month.as_str(), row.team.as_str(), row.priority.as_str()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn met_chart(lang: Lang, report_rows: &[super::ReportRowView]) -> String {
    let labels: Vec<String> = report_rows.iter().map(|r| label(&r.row)).collect();
    svg::bars(
        &translate(lang, "report-chart-met"),
        &labels,
        &[
            (
                translate(lang, "sla-response"),
                report_rows.iter().map(|r| r.response_met_percent).collect(),
                "#0969da",
            ),
            (
                translate(lang, "sla-resolution"),
                report_rows.iter().map(|r| r.resolution_met_percent).collect(),
                "#1a7f37",
            ),
        ],
        100.0,
        "%",
    )
}

fn mttr_chart(lang: Lang, report_rows: &[super::ReportRowView]) -> String {
    let labels: Vec<String> = report_rows.iter().map(|r| label(&r.row)).collect();
    svg::lines(
        &translate(lang, "report-chart-mttr"),
        &labels,
        &[
            (
                translate(lang, "report-mttr-business"),
                report_rows.iter().map(|r| r.row.mttr_business_minutes).collect(),
                "#8250df",
            ),
            (
                translate(lang, "report-mttr-wall"),
                report_rows.iter().map(|r| r.row.mttr_wall_minutes).collect(),
                "#bc4c00",
            ),
        ],
        "",
    )
}

async fn report_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let report = load(&state, &user, query.clone()).await?;
    let now = state.clock.now();
    let backlog = state.db(move |conn| super::backlog_ageing(conn, now)).await?;
    let lang = user.locale;
    let csv_query = serde_html_form::to_string(&ReportQuery {
        from: Some(report.from.clone()),
        to: Some(report.to.clone()),
        group_by: Some(report.group_by.join(",")),
    })
    .unwrap_or_default();
    let mut context = Context::new();
    context.insert("met_chart", &met_chart(lang, &report.rows));
    context.insert("mttr_chart", &mttr_chart(lang, &report.rows));
    context.insert("report", &report);
    context.insert("backlog", &backlog);
    context.insert("csv_query", &csv_query);
    render(&req, "reports/sla.html", context)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CsvQuery {
    table: String,
    #[serde(flatten)]
    report: ReportQuery,
}

async fn report_csv(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<CsvQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let report = load(&state, &user, query.report).await?;
    match query.table.as_str() {
        "breaches" => breaches_csv(&report),
        _ => rows_csv(&report),
    }
}

async fn dashboard_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let (tz, now) = (user.time_zone.clone(), state.clock.now());
    let dashboard = state.db(move |conn| super::dashboard(conn, &tz, now)).await?;
    let mut context = Context::new();
    context.insert("trend_chart", &mttr_chart(user.locale, &dashboard.trend));
    context.insert("met_chart", &met_chart(user.locale, &dashboard.trend));
    context.insert("dashboard", &dashboard);
    render(&req, "reports/dashboard.html", context)
}
