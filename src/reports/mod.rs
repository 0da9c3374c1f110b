//! Reports for managers: the SLA report (per month, team and/or priority: tickets, response
//! and resolution met %, MTTA and MTTR in business and wall minutes, breaches), backlog ageing
//! and the dashboard's figures. Everything is one aggregate query over the stored SLA figures
//! (`ticket_sla`, kept at every transition), so a year of a million incidents is one scan.

pub mod rollup;
pub mod routes;
pub mod svg;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use serde::{Deserialize, Serialize};

use crate::db::{backend_of, Backend, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};

/// The dimensions a report can be grouped by.
pub const DIMENSIONS: [&str; 3] = ["month", "team", "priority"];
/// Breached tickets listed with a report at most.
const BREACH_LIST: i64 = 100;

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day (YYYY-MM-DD, the user's zone); default: the first of the month 11 months ago.
    pub from: Option<String>,
    /// Last day, inclusive; default: today.
    pub to: Option<String>,
    /// Comma-separated dimensions (month, team, priority); default: month.
    pub group_by: Option<String>,
}

/// One group of the SLA report.
#[derive(Debug, Clone, Serialize, QueryableByName, utoipa::ToSchema)]
pub struct ReportRow {
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = Text)]
    pub team: String,
    #[diesel(sql_type = Text)]
    pub priority: String,
    #[diesel(sql_type = BigInt)]
    pub tickets: i64,
    #[diesel(sql_type = BigInt)]
    pub response_decided: i64,
    #[diesel(sql_type = BigInt)]
    pub response_met: i64,
    #[diesel(sql_type = BigInt)]
    pub resolution_decided: i64,
    #[diesel(sql_type = BigInt)]
    pub resolution_met: i64,
    #[diesel(sql_type = BigInt)]
    pub breaches: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub mtta_business_minutes: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub mtta_wall_minutes: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub mttr_business_minutes: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub mttr_wall_minutes: Option<f64>,
}

impl ReportRow {
    /// Share of decided clocks that were met, in percent with one decimal.
    pub fn response_met_percent(&self) -> Option<f64> {
        percent(self.response_met, self.response_decided)
    }

    pub fn resolution_met_percent(&self) -> Option<f64> {
        percent(self.resolution_met, self.resolution_decided)
    }
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

#[derive(Debug, Clone, Serialize, QueryableByName, utoipa::ToSchema)]
pub struct Breach {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub priority: String,
    #[diesel(sql_type = Text)]
    pub team: String,
    #[diesel(sql_type = BigInt)]
    pub response_breached: i64,
    #[diesel(sql_type = BigInt)]
    pub resolution_breached: i64,
}

#[derive(Debug, Clone, Serialize, QueryableByName, utoipa::ToSchema)]
pub struct AgeingRow {
    #[diesel(sql_type = Text)]
    pub priority: String,
    #[diesel(sql_type = Text)]
    pub bucket: String,
    #[diesel(sql_type = BigInt)]
    pub tickets: i64,
}

/// The report with its resolved parameters.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlaReport {
    pub from: String,
    pub to: String,
    pub group_by: Vec<&'static str>,
    pub rows: Vec<ReportRowView>,
    pub breaches: Vec<Breach>,
}

/// A row with its percentages worked out, as the API and pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportRowView {
    #[serde(flatten)]
    pub row: ReportRow,
    pub response_met_percent: Option<f64>,
    pub resolution_met_percent: Option<f64>,
}

/// Backend-specific SQL pieces; everything else in the report's SQL is shared.
struct Dialect {
    backend: Backend,
}

impl Dialect {
    /// `YYYY-MM` of a UTC timestamp column shifted into the user's zone by `offset_minutes`.
    fn month(&self, column: &str, offset_minutes: i64) -> String {
        match self.backend {
            Backend::Sqlite => format!("strftime('%Y-%m', {column}, '{offset_minutes:+} minutes')"),
            Backend::Postgres => format!("to_char({column} + interval '{offset_minutes} minutes', 'YYYY-MM')"),
        }
    }

    /// Minutes from `from` to `to` (timestamp columns).
    fn minutes_between(&self, from: &str, to: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("((julianday({to}) - julianday({from})) * 1440.0)"),
            Backend::Postgres => format!("(EXTRACT(EPOCH FROM ({to} - {from})) / 60.0)"),
        }
    }
}

fn literal(t: NaiveDateTime) -> String {
    // Generated from parsed dates, never from raw input: safe to inline.
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S"))
}

fn bad_field(field: &'static str, key: &'static str) -> AppError {
    AppError::Validation(FieldErrors::single(field, FieldMessage::new(key)))
}

/// UTC midnight at the start of `day` in `zone`.
fn start_of(day: NaiveDate, zone: chrono_tz::Tz) -> NaiveDateTime {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
    zone.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(midnight)
}

/// The period and grouping a query asks for, checked.
pub struct Period {
    pub from_day: NaiveDate,
    pub to_day: NaiveDate,
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub offset_minutes: i64,
    pub group_by: Vec<&'static str>,
}

pub fn period(query: &ReportQuery, tz: &str, now: NaiveDateTime) -> Result<Period, AppError> {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    let today = now.and_utc().with_timezone(&zone).date_naive();
    let parse = |raw: &Option<String>, field: &'static str| -> Result<Option<NaiveDate>, AppError> {
        match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| bad_field(field, "error-date-invalid")),
        }
    };
    let to_day = parse(&query.to, "to")?.unwrap_or(today);
    let from_day = match parse(&query.from, "from")? {
        Some(day) => day,
        None => {
            let months_back = to_day.with_day0(0).expect("first of month");
            months_back
                .checked_sub_months(chrono::Months::new(11))
                .unwrap_or(months_back)
        }
    };
    if from_day > to_day {
        return Err(bad_field("from", "error-period-inverted"));
    }
    if (to_day - from_day).num_days() > 3 * 366 {
        return Err(bad_field("from", "error-period-too-long"));
    }
    let mut group_by = Vec::new();
    for part in query.group_by.as_deref().unwrap_or("month").split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match DIMENSIONS.iter().find(|d| **d == part) {
            Some(d) if !group_by.contains(d) => group_by.push(*d),
            Some(_) => {}
            None => return Err(bad_field("group_by", "error-group-by-invalid")),
        }
    }
    if group_by.is_empty() {
        group_by.push("month");
    }
    // Months are cut at the zone's offset on the first day (exact for zones without DST).
    let offset_minutes = i64::from(
        zone.offset_from_utc_datetime(&start_of(from_day, zone))
            .fix()
            .local_minus_utc(),
    ) / 60;
    Ok(Period {
        from_day,
        to_day,
        from: start_of(from_day, zone),
        to: start_of(
            to_day.succ_opt().ok_or_else(|| bad_field("to", "error-date-invalid"))?,
            zone,
        ),
        offset_minutes,
        group_by,
    })
}

/// The SLA report over incidents reported in the period.
pub fn sla_report(conn: &mut DbConnection, period: &Period) -> Result<SlaReport, AppError> {
    let dialect = Dialect {
        backend: backend_of(conn),
    };
    let month = dialect.month("x.at", period.offset_minutes);
    let key = |dimension: &str, expression: &str| {
        if period.group_by.contains(&dimension) {
            expression.to_string()
        } else {
            "''".to_string()
        }
    };
    let (month_key, team_key, priority_key) = (
        key("month", &month),
        key("team", "COALESCE(tm.name, '')"),
        key("priority", "x.priority"),
    );
    let (from, to) = (literal(period.from), literal(period.to));
    let contributions = rollup::contributions(&dialect);
    // Whole-hour periods (every zone with a whole-hour offset) read the hourly rollup, and add
    // the hours changed since it was built up from the tickets; other periods, or a backlog of
    // dirty hours, add up the tickets. The dirty hours are listed first and inlined: joined
    // in SQL, PostgreSQL plans a scan of every incident whenever the list is (usually) empty.
    let rollup_usable = rollup::covers(period.from, period.to) && period.offset_minutes % 60 == 0;
    let dirty = if rollup_usable {
        rollup::dirty_between(conn, &from, &to)?
    } else {
        Vec::new()
    };
    let figures = if rollup_usable && dirty.len() as i64 <= rollup::MAX_DIRTY_IN_REPORT {
        let columns = rollup::FIGURES
            .iter()
            .map(|f| format!("r.{f}"))
            .collect::<Vec<_>>()
            .join(", ");
        let clean = format!(
            "SELECT r.bucket AS at, r.team_id, r.priority, {columns}
             FROM sla_rollup r
             WHERE r.bucket >= {from} AND r.bucket < {to}"
        );
        if dirty.is_empty() {
            clean
        } else {
            let hours: Vec<String> = dirty.iter().map(|b| literal(*b)).collect();
            let ranges: Vec<String> = dirty
                .iter()
                .map(|b| {
                    format!(
                        "(i.reported_at >= {} AND i.reported_at < {})",
                        literal(*b),
                        literal(*b + Duration::hours(1))
                    )
                })
                .collect();
            format!(
                "{clean} AND r.bucket NOT IN ({hours})
                 UNION ALL
                 {contributions} WHERE t.deleted_at IS NULL AND ({ranges})",
                hours = hours.join(", "),
                ranges = ranges.join(" OR "),
            )
        }
    } else {
        format!("{contributions} WHERE i.reported_at >= {from} AND i.reported_at < {to} AND t.deleted_at IS NULL")
    };
    let total = |column: &str| format!("CAST(SUM(x.{column}) AS BIGINT) AS {column}");
    let average = |sum: &str, count: &str, name: &str| {
        format!(
            "CAST(SUM(x.{sum}) AS DOUBLE PRECISION) / CAST(NULLIF(SUM(x.{count}), 0) AS DOUBLE PRECISION) AS {name}"
        )
    };
    let sql = format!(
        "SELECT {month_key} AS month, {team_key} AS team, {priority_key} AS priority,
           {tickets}, {response_decided}, {response_met}, {resolution_decided}, {resolution_met}, {breaches},
           {mtta_business}, {mtta_wall}, {mttr_business}, {mttr_wall}
         FROM ({figures}) x
         LEFT JOIN teams tm ON tm.id = x.team_id
         GROUP BY 1, 2, 3
         ORDER BY 1, 2, 3",
        tickets = total("tickets"),
        response_decided = total("response_decided"),
        response_met = total("response_met"),
        resolution_decided = total("resolution_decided"),
        resolution_met = total("resolution_met"),
        breaches = total("breaches"),
        mtta_business = average("mtta_business_sum", "mtta_count", "mtta_business_minutes"),
        mtta_wall = average("mtta_wall_sum", "mtta_count", "mtta_wall_minutes"),
        mttr_business = average("mttr_business_sum", "mttr_count", "mttr_business_minutes"),
        mttr_wall = average("mttr_wall_sum", "mttr_count", "mttr_wall_minutes"),
    );
    let rows: Vec<ReportRow> = diesel::sql_query(sql).load(conn)?;
    let breaches_sql = format!(
        "SELECT t.id AS id, t.reference AS number, t.title AS title, t.priority AS priority,
           COALESCE(tm.name, '') AS team,
           CAST(CASE WHEN s.response_breached THEN 1 ELSE 0 END AS BIGINT) AS response_breached,
           CAST(CASE WHEN s.resolution_breached THEN 1 ELSE 0 END AS BIGINT) AS resolution_breached
         FROM incidents i
         JOIN tickets t ON t.id = i.ticket_id
         JOIN ticket_sla s ON s.ticket_id = i.ticket_id
         LEFT JOIN teams tm ON tm.id = t.team_id
         WHERE i.reported_at >= {from} AND i.reported_at < {to} AND t.deleted_at IS NULL
           AND (s.response_breached OR s.resolution_breached)
         ORDER BY i.reported_at DESC, t.id DESC
         LIMIT {BREACH_LIST}",
        from = literal(period.from),
        to = literal(period.to),
    );
    let breaches: Vec<Breach> = diesel::sql_query(breaches_sql).load(conn)?;
    Ok(SlaReport {
        from: period.from_day.format("%Y-%m-%d").to_string(),
        to: period.to_day.format("%Y-%m-%d").to_string(),
        group_by: period.group_by.clone(),
        rows: rows
            .into_iter()
            .map(|row| ReportRowView {
                response_met_percent: row.response_met_percent(),
                resolution_met_percent: row.resolution_met_percent(),
                row,
            })
            .collect(),
        breaches,
    })
}

/// Open incidents by priority and age: < 1 day, 1–3 days, 3–7 days, 7–30 days, older.
pub fn backlog_ageing(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Vec<AgeingRow>, AppError> {
    let ago = |days: i64| literal(now - Duration::days(days));
    let sql = format!(
        "SELECT t.priority AS priority,
           CASE WHEN i.reported_at >= {d1} THEN 'a_lt_1d' WHEN i.reported_at >= {d3} THEN 'b_1_3d'
                WHEN i.reported_at >= {d7} THEN 'c_3_7d' WHEN i.reported_at >= {d30} THEN 'd_7_30d'
                ELSE 'e_gt_30d' END AS bucket,
           COUNT(*) AS tickets
         FROM tickets t JOIN incidents i ON i.ticket_id = t.id
         WHERE t.kind = 'incident' AND t.status IN ('new', 'acknowledged', 'in_progress', 'on_hold', 'mitigated')
           AND t.deleted_at IS NULL
         GROUP BY 1, 2 ORDER BY 1, 2",
        d1 = ago(1),
        d3 = ago(3),
        d7 = ago(7),
        d30 = ago(30),
    );
    Ok(diesel::sql_query(sql).load(conn)?)
}

#[derive(Debug, Clone, Serialize, QueryableByName, utoipa::ToSchema)]
pub struct AtRisk {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub priority: String,
    #[diesel(sql_type = Text)]
    pub clock: String,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub due_at: NaiveDateTime,
}

/// The manager dashboard's figures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub open_by_priority: Vec<(String, i64)>,
    pub at_risk: Vec<AtRisk>,
    pub breached_this_month: i64,
    /// The last six months of the SLA report (by month).
    pub trend: Vec<ReportRowView>,
}

pub fn dashboard(conn: &mut DbConnection, tz: &str, now: NaiveDateTime) -> Result<Dashboard, AppError> {
    use crate::db::schema::tickets;
    let open: Vec<(String, i64)> = tickets::table
        .filter(tickets::kind.eq("incident"))
        .filter(tickets::status.eq_any(["new", "acknowledged", "in_progress", "on_hold", "mitigated"]))
        .filter(tickets::deleted_at.is_null())
        .group_by(tickets::priority)
        .select((tickets::priority, diesel::dsl::count_star()))
        .order(tickets::priority)
        .load(conn)?;
    let at = literal(now);
    // Past the warning threshold, not yet due, still running: what needs attention now.
    let at_risk: Vec<AtRisk> = diesel::sql_query(format!(
        "SELECT t.id AS id, t.reference AS number, t.title AS title, t.priority AS priority, 'response' AS clock,
                s.response_due_at AS due_at
         FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id
         WHERE s.response_met_at IS NULL AND NOT s.paused AND s.response_warn_at <= {at} AND s.response_due_at > {at}
           AND t.deleted_at IS NULL
         UNION ALL
         SELECT t.id, t.reference, t.title, t.priority, 'resolution', s.resolution_due_at
         FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id
         WHERE s.resolution_met_at IS NULL AND NOT s.paused AND s.resolution_warn_at <= {at} AND s.resolution_due_at > {at}
           AND t.deleted_at IS NULL
         ORDER BY 6 LIMIT 20"
    ))
    .load(conn)?;
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    let today = now.and_utc().with_timezone(&zone).date_naive();
    let first_of_month = today.with_day(1).expect("first of month");
    let this_month = period(
        &ReportQuery {
            from: Some(first_of_month.format("%Y-%m-%d").to_string()),
            to: Some(today.format("%Y-%m-%d").to_string()),
            group_by: Some("month".into()),
        },
        tz,
        now,
    )?;
    let breached_this_month = sla_report(conn, &this_month)?.rows.iter().map(|r| r.row.breaches).sum();
    let six_months = period(
        &ReportQuery {
            from: first_of_month
                .checked_sub_months(chrono::Months::new(5))
                .map(|d| d.format("%Y-%m-%d").to_string()),
            to: Some(today.format("%Y-%m-%d").to_string()),
            group_by: Some("month".into()),
        },
        tz,
        now,
    )?;
    let trend = sla_report(conn, &six_months)?.rows;
    Ok(Dashboard {
        open_by_priority: open,
        at_risk,
        breached_this_month,
        trend,
    })
}
