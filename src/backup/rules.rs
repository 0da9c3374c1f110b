//! Pure rules of backups: the tables and their order, the portable form of a value.

use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime, TimeZone};
use serde_json::Value;

/// Every table that holds data, parents before children, so rows load in this order with
/// foreign keys on. A table that is added to the schema and not here makes export fail
/// ("not in the backup's table list"), and a test compares this list with both schemas.
/// `sla_settings_token` comes last: loading calendars, policies and escalation rules fires
/// triggers that change it, and it must end as it was.
pub const TABLES: &[&str] = &[
    "teams",
    "users",
    "team_members",
    "api_tokens",
    "sessions",
    "idempotency_keys",
    "login_attempts",
    "app_flags",
    "audit_log",
    "audit_verifications",
    "audit_prune_anchors",
    "ticket_sequences",
    "tickets",
    "ticket_search",
    "ticket_facts",
    "ticket_archive",
    "incidents",
    "ticket_events",
    "ticket_watchers",
    "ticket_requesters",
    "problems",
    "ticket_links",
    "postmortems",
    "action_items",
    "attachments",
    "storage_usage",
    "calendars",
    "calendar_closures",
    "sla_policies",
    "ticket_sla",
    "sla_recompute_queue",
    "sla_alerts",
    "escalation_rules",
    "escalation_firings",
    "notifications",
    "sla_rollup",
    "sla_rollup_dirty",
    "backup_settings",
    "backup_runs",
    "job_leases",
    "retention_periods",
    "retention_runs",
    "sla_settings_token",
    "mail_inbound",
    "ci_classes",
    "cis",
    "ci_details",
    "ci_redundancy_groups",
    "ci_relationships",
    "ticket_cis",
    "mail_outbox",
    "mail_messages",
    "mail_attempts",
    "mail_preferences",
];

/// Tables whose rows say a database is in use: restore and import refuse to overwrite them
/// without `--force`. (A freshly migrated database holds only seeded settings rows.)
pub const IN_USE_TABLES: &[&str] = &["users", "teams", "tickets", "audit_log"];

/// What a column holds, as far as moving it between backends matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Timestamp,
    Bool,
    Float,
    Other,
}

impl ColumnKind {
    /// From the declared type on SQLite (`TIMESTAMP`) or `information_schema`'s data type on
    /// PostgreSQL (`timestamp without time zone`).
    pub fn from_declared(declared: &str) -> Self {
        let t = declared.to_ascii_lowercase();
        if t.starts_with("timestamp") {
            Self::Timestamp
        } else if t.starts_with("bool") {
            Self::Bool
        } else if t.starts_with("double") || t == "real" || t.starts_with("float") {
            Self::Float
        } else {
            Self::Other
        }
    }
}

/// The one form of a value in a portable export, whichever backend it came from: times as
/// diesel writes them on SQLite (`2026-11-23 03:47:56.901653`, which PostgreSQL reads too),
/// booleans as `true`/`false` (SQLite returns 0/1), floats as floats (PostgreSQL's JSON
/// writes `0` for 0.0).
pub fn portable_value(kind: ColumnKind, value: Value) -> Result<Value, String> {
    match (kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (ColumnKind::Timestamp, Value::String(s)) => {
            let t = parse_timestamp(&s).ok_or_else(|| format!("not a time: {s}"))?;
            Ok(Value::String(t.format("%F %T%.f").to_string()))
        }
        (ColumnKind::Bool, Value::Number(n)) => Ok(Value::Bool(n.as_i64() != Some(0))),
        (ColumnKind::Float, Value::Number(n)) => Ok(n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        (_, other) => Ok(other),
    }
}

fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

/// The latest scheduled instant (UTC) at or before `now`: today's `time_of_day` in `zone`, or
/// yesterday's when today's has not come yet. A local time that does not exist (a DST gap) is
/// taken an hour later; an ambiguous one at its first occurrence.
pub fn latest_slot(now: NaiveDateTime, time_of_day: NaiveTime, zone: chrono_tz::Tz) -> NaiveDateTime {
    let local_today = now.and_utc().with_timezone(&zone).date_naive();
    let at = |day: chrono::NaiveDate| {
        let local = day.and_time(time_of_day);
        zone.from_local_datetime(&local)
            .earliest()
            .or_else(|| zone.from_local_datetime(&(local + Duration::hours(1))).earliest())
            .map(|t| t.naive_utc())
            .unwrap_or(local)
    };
    let today = at(local_today);
    if today <= now {
        today
    } else {
        at(local_today - Duration::days(1))
    }
}

/// Whether a scheduled backup is due: switched on, and the latest slot came after the settings
/// were last saved (switching backups on at 15:00 with 02:00 waits for the next 02:00) and has
/// no run yet.
pub fn backup_due(enabled: bool, slot: NaiveDateTime, settings_saved_at: NaiveDateTime, slot_has_run: bool) -> bool {
    enabled && slot > settings_saved_at && !slot_has_run
}

/// `HH:MM` (24-hour) as a time of day.
pub fn parse_time_of_day(raw: &str) -> Option<NaiveTime> {
    let raw = raw.trim();
    if raw.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(raw, "%H:%M").ok()
}

/// Of the archives (id, when it was made), those retention keeps: the newest of each of the
/// last `daily` days and the newest of each of the last `weekly` ISO weeks (days and weeks in
/// `zone`, counted among days and weeks that have an archive). The newest archive is always
/// kept. Returns the ids to remove.
pub fn archives_to_prune(archives: &[(i64, NaiveDateTime)], daily: u32, weekly: u32, zone: chrono_tz::Tz) -> Vec<i64> {
    let mut newest_first: Vec<(i64, NaiveDateTime)> = archives.to_vec();
    newest_first.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    let mut keep = std::collections::HashSet::new();
    let mut days = Vec::new();
    let mut weeks = Vec::new();
    for (id, at) in &newest_first {
        let local = at.and_utc().with_timezone(&zone).date_naive();
        let week = local.iso_week();
        if !days.contains(&local) {
            days.push(local);
            if days.len() <= daily as usize {
                keep.insert(*id);
            }
        }
        if !weeks.contains(&(week.year(), week.week())) {
            weeks.push((week.year(), week.week()));
            if weeks.len() <= weekly as usize {
                keep.insert(*id);
            }
        }
    }
    if let Some((id, _)) = newest_first.first() {
        keep.insert(*id);
    }
    newest_first
        .iter()
        .filter(|(id, _)| !keep.contains(id))
        .map(|(id, _)| *id)
        .collect()
}

/// The first difference between the counts a manifest promises and those found, as a sentence.
pub fn first_count_mismatch(
    expected: &std::collections::BTreeMap<String, i64>,
    found: &std::collections::BTreeMap<String, i64>,
) -> Option<String> {
    for (table, want) in expected {
        match found.get(table) {
            None => return Some(format!("table {table}: missing (manifest says {want} rows)")),
            Some(got) if got != want => return Some(format!("table {table}: {got} rows, manifest says {want}")),
            _ => {}
        }
    }
    found
        .keys()
        .find(|t| !expected.contains_key(*t))
        .map(|t| format!("table {t}: not in the manifest"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_take_one_form_from_either_backend() {
        let ts = ColumnKind::from_declared("timestamp without time zone");
        assert_eq!(ts, ColumnKind::from_declared("TIMESTAMP"));
        assert_eq!(
            portable_value(ts, json!("2026-11-23T03:47:56.901653")).unwrap(),
            json!("2026-11-23 03:47:56.901653")
        );
        assert_eq!(
            portable_value(ts, json!("2026-11-23 03:47:56")).unwrap(),
            json!("2026-11-23 03:47:56")
        );
        let b = ColumnKind::from_declared("BOOLEAN");
        assert_eq!(portable_value(b, json!(1)).unwrap(), json!(true));
        assert_eq!(portable_value(b, json!(false)).unwrap(), json!(false));
        let f = ColumnKind::from_declared("double precision");
        assert_eq!(portable_value(f, json!(0)).unwrap(), json!(0.0));
        assert_eq!(portable_value(ColumnKind::Other, json!("x")).unwrap(), json!("x"));
        assert!(portable_value(ts, json!("yesterday")).is_err());
    }

    #[test]
    fn the_first_count_mismatch_is_named() {
        let expected: std::collections::BTreeMap<String, i64> =
            [("users".to_string(), 2), ("tickets".to_string(), 5)].into();
        let same = expected.clone();
        assert_eq!(first_count_mismatch(&expected, &same), None);
        let fewer: std::collections::BTreeMap<String, i64> =
            [("users".to_string(), 2), ("tickets".to_string(), 4)].into();
        assert_eq!(
            first_count_mismatch(&expected, &fewer).unwrap(),
            "table tickets: 4 rows, manifest says 5"
        );
    }

    fn utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn the_latest_slot_is_todays_time_in_the_zone_or_yesterdays() {
        let two = NaiveTime::from_hms_opt(2, 0, 0).unwrap();
        let tokyo = chrono_tz::Asia::Tokyo;
        // 02:00 in Tokyo is 17:00 UTC the day before.
        assert_eq!(
            latest_slot(utc("2026-12-02 17:00"), two, tokyo),
            utc("2026-12-02 17:00")
        );
        assert_eq!(
            latest_slot(utc("2026-12-02 16:59"), two, tokyo),
            utc("2026-12-01 17:00")
        );
        assert_eq!(
            latest_slot(utc("2026-12-03 09:00"), two, tokyo),
            utc("2026-12-02 17:00")
        );
        // A DST gap in New York (2:30 does not exist on 2026-03-08): an hour later.
        let half_two = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        let ny = chrono_tz::America::New_York;
        assert_eq!(
            latest_slot(utc("2026-03-08 12:00"), half_two, ny),
            utc("2026-03-08 07:30")
        );
    }

    #[test]
    fn a_backup_is_due_once_per_slot_after_the_settings_were_saved() {
        let slot = utc("2026-12-02 17:00");
        assert!(backup_due(true, slot, utc("2026-12-02 10:00"), false));
        assert!(!backup_due(false, slot, utc("2026-12-02 10:00"), false));
        assert!(!backup_due(true, slot, utc("2026-12-02 10:00"), true));
        assert!(!backup_due(true, slot, utc("2026-12-02 18:00"), false));
        assert_eq!(parse_time_of_day("02:00"), NaiveTime::from_hms_opt(2, 0, 0));
        assert_eq!(parse_time_of_day("2:00"), None);
        assert_eq!(parse_time_of_day("25:00"), None);
    }

    #[test]
    fn retention_keeps_n_daily_and_m_weekly_archives() {
        let tokyo = chrono_tz::Asia::Tokyo;
        // One archive a day from Mon 2026-11-02 to Sun 2026-11-22 (Tokyo 02:00), two on the last day.
        let mut archives: Vec<(i64, NaiveDateTime)> = (0..21)
            .map(|d| (d + 1, utc("2026-11-01 17:00") + Duration::days(d)))
            .collect();
        archives.push((100, utc("2026-11-22 03:00")));
        let pruned = archives_to_prune(&archives, 3, 3, tokyo);
        let kept: Vec<i64> = archives.iter().map(|a| a.0).filter(|id| !pruned.contains(id)).collect();
        // Daily: the newest of 22 (id 100), 21 and 20; weekly: the newest of the weeks ending
        // 22 (100), 15 (id 14) and 8 (id 7).
        assert_eq!(kept, vec![7, 14, 19, 20, 100]);
        assert_eq!(archives_to_prune(&archives[..1], 0, 0, tokyo), Vec::<i64>::new());
    }

    #[test]
    fn every_table_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        assert!(TABLES.iter().all(|t| seen.insert(*t)));
        assert!(IN_USE_TABLES.iter().all(|t| TABLES.contains(t)));
    }
}
