//! Pure CMDB rules: the closed vocabularies, field validation, and the field-by-field
//! history drawn from audit rows. No database and no HTTP here.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use super::model::CiInput;
use crate::error::{FieldErrors, FieldMessage};

/// The classes every CMDB starts with (admins add more).
pub const BUILTIN_CLASSES: [&str; 10] = [
    "business_service",
    "application",
    "database",
    "middleware",
    "server",
    "virtual_machine",
    "container",
    "network_device",
    "storage",
    "other",
];
pub const ENVIRONMENTS: [&str; 3] = ["production", "staging", "development"];
pub const STATUSES: [&str; 4] = ["planned", "active", "maintenance", "retired"];
pub const CRITICALITIES: std::ops::RangeInclusive<i64> = 1..=4;

pub const MAX_NAME: usize = 200;
pub const MAX_TEXT: usize = 200;
pub const MAX_NOTES: usize = 10_000;
pub const MAX_ATTRIBUTES: usize = 50;
pub const MAX_ATTRIBUTE_KEY: usize = 100;
pub const MAX_ATTRIBUTE_VALUE: usize = 1000;
pub const MAX_IPS: usize = 32;

/// A CI's input after the pure checks; the class and the team are still names/ids the
/// service resolves against the database.
#[derive(Debug, Clone, PartialEq)]
pub struct Valid {
    pub name: String,
    pub class: String,
    pub environment: String,
    pub criticality: i32,
    pub status: String,
    pub owner_team_id: Option<i64>,
    pub location: String,
    pub host_name: String,
    pub ip_addresses: String,
    pub os_family: String,
    pub os_release: String,
    pub software_name: String,
    pub software_version: String,
    pub vendor: String,
    pub support_ends_on: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub notes: String,
}

fn text(errors: &mut FieldErrors, field: &'static str, raw: &str, max: usize) -> String {
    let value = raw.trim().to_string();
    if value.chars().count() > max {
        errors.add(field, FieldMessage::new("error-too-long").with("max", max as i64));
    }
    value
}

/// A class name as admins type it: snake_case ASCII, 2–50 characters.
pub fn valid_class_name(raw: &str) -> Result<String, FieldMessage> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldMessage::new("error-required"));
    }
    let ok = (2..=50).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(FieldMessage::new("error-ci-class-name"))
    }
}

/// IP addresses separated by commas or white space, each parsed, written back as `a, b`.
pub fn normalize_ips(raw: &str) -> Result<String, FieldMessage> {
    let parts: Vec<&str> = raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() > MAX_IPS {
        return Err(FieldMessage::new("error-too-many").with("max", MAX_IPS as i64));
    }
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        let ip: IpAddr = part.parse().map_err(|_| FieldMessage::new("error-ci-ip-invalid"))?;
        out.push(ip.to_string());
    }
    Ok(out.join(", "))
}

/// A calendar date `YYYY-MM-DD` (empty is none).
pub fn parse_date(raw: &str) -> Result<Option<String>, FieldMessage> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(|d| Some(d.format("%Y-%m-%d").to_string()))
        .map_err(|_| FieldMessage::new("error-date-invalid"))
}

/// Free attributes from the form's `key=value` lines.
pub fn parse_attribute_lines(raw: &str) -> Result<BTreeMap<String, String>, FieldMessage> {
    let mut map = BTreeMap::new();
    for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| FieldMessage::new("error-ci-attribute-line"))?;
        map.insert(key.trim().to_string(), value.trim().to_string());
    }
    Ok(map)
}

/// Free attributes as the form shows them.
pub fn attribute_lines(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// Checks everything that needs no database.
pub fn validate(input: &CiInput) -> Result<Valid, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = text(&mut errors, "name", &input.name, MAX_NAME);
    if name.is_empty() {
        errors.add("name", FieldMessage::new("error-required"));
    }
    let class = input.class.trim().to_string();
    if class.is_empty() {
        errors.add("class", FieldMessage::new("error-required"));
    }
    let environment = input.environment.trim().to_string();
    if !ENVIRONMENTS.contains(&environment.as_str()) {
        errors.add("environment", FieldMessage::new("error-ci-environment"));
    }
    let criticality = match input.criticality {
        Some(c) if CRITICALITIES.contains(&c) => c as i32,
        _ => {
            errors.add("criticality", FieldMessage::new("error-ci-criticality"));
            0
        }
    };
    let status = input.status.trim().to_string();
    if !STATUSES.contains(&status.as_str()) {
        errors.add("status", FieldMessage::new("error-ci-status"));
    }
    let location = text(&mut errors, "location", &input.location, MAX_TEXT);
    let host_name = text(&mut errors, "host_name", &input.host_name, MAX_TEXT);
    let ip_addresses = normalize_ips(&input.ip_addresses)
        .map_err(|e| errors.add("ip_addresses", e))
        .unwrap_or_default();
    let os_family = text(&mut errors, "os_family", &input.os_family, MAX_TEXT);
    let os_release = text(&mut errors, "os_release", &input.os_release, MAX_TEXT);
    let software_name = text(&mut errors, "software_name", &input.software_name, MAX_TEXT);
    let software_version = text(&mut errors, "software_version", &input.software_version, MAX_TEXT);
    let vendor = text(&mut errors, "vendor", &input.vendor, MAX_TEXT);
    let support_ends_on = parse_date(&input.support_ends_on)
        .map_err(|e| errors.add("support_ends_on", e))
        .unwrap_or_default();
    let notes = text(&mut errors, "notes", &input.notes, MAX_NOTES);
    let mut attributes = BTreeMap::new();
    if input.attributes.len() > MAX_ATTRIBUTES {
        errors.add(
            "attributes",
            FieldMessage::new("error-too-many").with("max", MAX_ATTRIBUTES as i64),
        );
    }
    for (key, value) in &input.attributes {
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            errors.add("attributes", FieldMessage::new("error-ci-attribute-line"));
        } else if key.chars().count() > MAX_ATTRIBUTE_KEY || value.chars().count() > MAX_ATTRIBUTE_VALUE {
            errors.add(
                "attributes",
                FieldMessage::new("error-too-long").with("max", MAX_ATTRIBUTE_VALUE as i64),
            );
        } else {
            attributes.insert(key.to_string(), value.to_string());
        }
    }
    errors.into_result().map_err(|e| match e {
        crate::error::AppError::Validation(f) => f,
        _ => unreachable!("into_result only gives validation errors"),
    })?;
    Ok(Valid {
        name,
        class,
        environment,
        criticality,
        status,
        owner_team_id: input.owner_team_id,
        location,
        host_name,
        ip_addresses,
        os_family,
        os_release,
        software_name,
        software_version,
        vendor,
        support_ends_on,
        attributes,
        notes,
    })
}

/// One field's value before and after a change, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// The fields a person changes, in the order the CI page shows them (the audit snapshot's
/// keys come back sorted; ids, versions and times are bookkeeping and left out).
pub const HISTORY_FIELDS: [&str; 17] = [
    "class",
    "name",
    "environment",
    "criticality",
    "status",
    "owner_team",
    "location",
    "host_name",
    "ip_addresses",
    "os_family",
    "os_release",
    "software_name",
    "software_version",
    "vendor",
    "support_ends_on",
    "attributes",
    "notes",
];

fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// The fields that differ between two audit snapshots of a CI (either may be absent: a
/// creation or a deletion), in [`HISTORY_FIELDS`] order.
pub fn field_changes(before: Option<&Value>, after: Option<&Value>) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    HISTORY_FIELDS
        .iter()
        .filter_map(|k| {
            let (before, after) = (shown(b.get(*k)), shown(a.get(*k)));
            (before != after).then(|| FieldChange {
                field: k.to_string(),
                before,
                after,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input() -> CiInput {
        CiInput {
            name: " web-prd-01 ".into(),
            class: "server".into(),
            ip_addresses: "10.0.0.1 ,fe80::1".into(),
            support_ends_on: "2028-03-31".into(),
            ..CiInput::default()
        }
    }

    #[test]
    fn a_good_input_is_normalised() {
        let v = validate(&input()).unwrap();
        assert_eq!(v.name, "web-prd-01");
        assert_eq!(v.ip_addresses, "10.0.0.1, fe80::1");
        assert_eq!(v.support_ends_on.as_deref(), Some("2028-03-31"));
        assert_eq!(v.criticality, 3);
    }

    #[test]
    fn each_bad_field_is_named() {
        let bad = CiInput {
            name: "  ".into(),
            environment: "prod".into(),
            criticality: Some(5),
            status: "broken".into(),
            ip_addresses: "10.0.0.300".into(),
            support_ends_on: "2028-02-30".into(),
            ..input()
        };
        let errors = validate(&bad).unwrap_err();
        for field in [
            "name",
            "environment",
            "criticality",
            "status",
            "ip_addresses",
            "support_ends_on",
        ] {
            assert!(errors.contains(field), "{field}");
        }
        assert!(validate(&CiInput {
            criticality: None,
            ..input()
        })
        .unwrap_err()
        .contains("criticality"));
    }

    #[test]
    fn class_names_are_snake_case() {
        assert!(valid_class_name("load_balancer").is_ok());
        for bad in ["", "Load Balancer", "1st", "x", "ロードバランサ"] {
            assert!(valid_class_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attribute_lines_round_trip() {
        let map = parse_attribute_lines("rack = A-12\n\nserial=XYZ=1\n").unwrap();
        assert_eq!(map["rack"], "A-12");
        assert_eq!(map["serial"], "XYZ=1");
        assert_eq!(parse_attribute_lines(&attribute_lines(&map)).unwrap(), map);
        assert!(parse_attribute_lines("no equals sign").is_err());
    }

    #[test]
    fn history_lists_only_changed_fields() {
        let before = json!({"id": 1, "name": "a", "status": "active", "version": 1, "attributes": {"rack": "A"}});
        let after = json!({"id": 1, "name": "a", "status": "retired", "version": 2, "attributes": {"rack": "B"}});
        let changes = field_changes(Some(&before), Some(&after));
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    field: "status".into(),
                    before: "active".into(),
                    after: "retired".into()
                },
                FieldChange {
                    field: "attributes".into(),
                    before: "rack=A".into(),
                    after: "rack=B".into()
                },
            ]
        );
        let created = field_changes(None, Some(&after));
        assert!(created.iter().any(|c| c.field == "name" && c.after == "a"));
    }
}
