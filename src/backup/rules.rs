//! Pure rules of backups: the tables and their order, the portable form of a value.

use chrono::NaiveDateTime;
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
    "ticket_sequences",
    "tickets",
    "ticket_search",
    "incidents",
    "ticket_events",
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
    "sla_settings_token",
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

    #[test]
    fn every_table_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        assert!(TABLES.iter().all(|t| seen.insert(*t)));
        assert!(IN_USE_TABLES.iter().all(|t| TABLES.contains(t)));
    }
}
