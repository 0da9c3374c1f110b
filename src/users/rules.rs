//! Pure validation rules for people: e-mail shape, names, roles, languages, time zones.
//! No database and no HTTP here.

use crate::auth::password;
use crate::auth::permissions::Role;
use crate::error::{FieldErrors, FieldMessage};
use crate::web::i18n::Lang;

pub const MAX_EMAIL: usize = 254;
pub const MAX_NAME: usize = 100;
pub const MAX_TEAM_DESCRIPTION: usize = 2000;

/// Normalises an e-mail address (trimmed, lower case) or says why it is not one.
pub fn normalize_email(raw: &str) -> Result<String, FieldMessage> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(FieldMessage::new("error-required"));
    }
    if email.chars().count() > MAX_EMAIL {
        return Err(FieldMessage::new("error-too-long").with("max", MAX_EMAIL as i64));
    }
    let invalid = || FieldMessage::new("error-email-invalid");
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err(invalid())
    }
}

/// A required single-line text of at most `max` characters, trimmed.
pub fn required_text(raw: &str, max: usize) -> Result<String, FieldMessage> {
    let text = raw.trim();
    if text.is_empty() {
        Err(FieldMessage::new("error-required"))
    } else if text.chars().count() > max {
        Err(FieldMessage::new("error-too-long").with("max", max as i64))
    } else if text.chars().any(|c| c.is_control()) {
        Err(FieldMessage::new("error-required"))
    } else {
        Ok(text.to_string())
    }
}

pub fn parse_role(raw: &str) -> Result<Role, FieldMessage> {
    if raw.trim().is_empty() {
        return Err(FieldMessage::new("error-required"));
    }
    Role::parse(raw).ok_or_else(|| FieldMessage::new("error-role-invalid"))
}

/// Empty means the default (Japanese).
pub fn parse_locale(raw: &str) -> Result<Lang, FieldMessage> {
    if raw.trim().is_empty() {
        return Ok(Lang::Ja);
    }
    match raw.trim() {
        "ja" => Ok(Lang::Ja),
        "en" => Ok(Lang::En),
        _ => Err(FieldMessage::new("error-locale-invalid")),
    }
}

/// Empty means the default (Asia/Tokyo); otherwise an IANA zone name.
pub fn parse_time_zone(raw: &str) -> Result<String, FieldMessage> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok("Asia/Tokyo".to_string());
    }
    raw.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| FieldMessage::new("error-timezone-invalid"))
}

/// A validated new user.
#[derive(Debug, Clone)]
pub struct ValidUser {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub locale: Lang,
    pub time_zone: String,
    pub password: String,
}

/// Checks every field of a new user and reports all problems at once.
pub fn validate_new_user(
    email: &str,
    display_name: &str,
    role: &str,
    locale: &str,
    time_zone: &str,
    password_text: &str,
) -> Result<ValidUser, FieldErrors> {
    let mut errors = FieldErrors::new();
    let email = normalize_email(email).map_err(|e| errors.add("email", e)).ok();
    let display_name = required_text(display_name, MAX_NAME)
        .map_err(|e| errors.add("display_name", e))
        .ok();
    let role = parse_role(role).map_err(|e| errors.add("role", e)).ok();
    let locale = parse_locale(locale).map_err(|e| errors.add("locale", e)).ok();
    let time_zone = parse_time_zone(time_zone).map_err(|e| errors.add("time_zone", e)).ok();
    let _ = password::check_policy(
        password_text,
        email.as_deref().unwrap_or(""),
        display_name.as_deref().unwrap_or(""),
    )
    .map_err(|e| errors.add("password", e));
    match (email, display_name, role, locale, time_zone) {
        (Some(email), Some(display_name), Some(role), Some(locale), Some(time_zone)) if errors.is_empty() => {
            Ok(ValidUser {
                email,
                display_name,
                role,
                locale,
                time_zone,
                password: password_text.to_string(),
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email("  Tanaka@Example.CO.JP ").unwrap(),
            "tanaka@example.co.jp"
        );
        for bad in [
            "tanaka",
            "tanaka@",
            "@example.jp",
            "tanaka@example",
            "ta naka@example.jp",
            "a@b..jp",
            "a@-b.jp",
            "田中@example.jp",
        ] {
            assert_eq!(normalize_email(bad).unwrap_err().key, "error-email-invalid", "{bad}");
        }
        assert_eq!(normalize_email("").unwrap_err().key, "error-required");
        assert_eq!(
            normalize_email(&format!("{}@example.jp", "a".repeat(300)))
                .unwrap_err()
                .key,
            "error-too-long"
        );
    }

    #[test]
    fn names_roles_locales_zones() {
        assert_eq!(required_text("  山田 太郎 ", MAX_NAME).unwrap(), "山田 太郎");
        assert_eq!(required_text("   ", MAX_NAME).unwrap_err().key, "error-required");
        assert_eq!(
            required_text(&"名".repeat(101), MAX_NAME).unwrap_err().key,
            "error-too-long"
        );
        assert_eq!(parse_role("superuser").unwrap_err().key, "error-role-invalid");
        assert_eq!(parse_role("engineer").unwrap(), Role::Engineer);
        assert_eq!(parse_locale("").unwrap(), Lang::Ja);
        assert_eq!(parse_locale("fr").unwrap_err().key, "error-locale-invalid");
        assert_eq!(parse_time_zone("").unwrap(), "Asia/Tokyo");
        assert_eq!(parse_time_zone("Europe/Berlin").unwrap(), "Europe/Berlin");
        assert_eq!(
            parse_time_zone("Mars/Olympus").unwrap_err().key,
            "error-timezone-invalid"
        );
    }

    #[test]
    fn all_problems_are_reported_together() {
        let errors = validate_new_user("bad", "", "root", "xx", "Nowhere/City", "short").unwrap_err();
        for field in ["email", "display_name", "role", "locale", "time_zone", "password"] {
            assert!(errors.contains(field), "{field}");
        }
        assert!(validate_new_user("a@example.jp", "A", "admin", "en", "UTC", "correct horse battery").is_ok());
    }
}
