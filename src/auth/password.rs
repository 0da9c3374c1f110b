//! Password hashing (argon2id with OWASP's parameters: 19 MiB, 2 passes, 1 lane — the argon2
//! crate's defaults) and the password policy.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::FieldMessage;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 1024;

/// Common and breached passwords: the 49,233 of zxcvbn's password list, lower-cased, sorted,
/// one a line, gzip-compressed (142 KB). Source: the npm package `@zxcvbn-ts/language-common`
/// 4.1.3, `src/passwords.json`, MIT licence (see `common-passwords.LICENSE.txt` beside it).
const COMMON_GZ: &[u8] = include_bytes!("common-passwords.txt.gz");

/// The list, unpacked once on first use into one string and a sorted index into it (about
/// 1 MB), searched by binary search.
fn common_passwords() -> &'static [&'static str] {
    use std::io::Read;
    use std::sync::OnceLock;
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut text = String::new();
        flate2::read::GzDecoder::new(COMMON_GZ)
            .read_to_string(&mut text)
            .expect("the embedded password list unpacks");
        let text: &'static str = Box::leak(text.into_boxed_str());
        let mut list: Vec<&'static str> = text.lines().filter(|l| !l.is_empty()).collect();
        list.sort_unstable();
        list
    })
}

fn is_common(candidate: &str) -> bool {
    !candidate.is_empty() && common_passwords().binary_search(&candidate).is_ok()
}

/// Undoes the usual character swaps (`p@ssw0rd` → `password`).
fn unleet(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '@' | '4' => 'a',
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '$' | '5' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// Whether a password is a well-known one, also with digits and symbols added around it
/// (`Password1!` → `password`) or with the usual swaps (`P@ssw0rd2026`).
pub fn is_well_known(password: &str) -> bool {
    let lower = password.to_lowercase();
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    let first = lower.chars().next().unwrap_or_default();
    is_common(&lower)
        || is_common(core)
        || is_common(unleet(&lower).trim_matches(|c: char| !c.is_alphabetic()))
        || is_common(&unleet(core))
        || lower.chars().all(|c| c == first)
        || lower.contains("mamori")
}

/// Words of a person's name worth refusing in their password: long enough to be more than
/// a chance match (four letters, or two characters of a script such as kanji).
fn name_words(display_name: &str) -> Vec<String> {
    let lower = display_name.to_lowercase();
    let mut words: Vec<String> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4 || (w.chars().count() >= 2 && !w.is_ascii()))
        .map(str::to_string)
        .collect();
    let joined: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    if joined.chars().count() >= 4 && !words.contains(&joined) {
        words.push(joined);
    }
    words
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

pub fn verify(password: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Burns the same time as a real verification, so an unknown e-mail cannot be told apart
/// from a wrong password by timing.
pub fn verify_dummy(password: &str) {
    use std::sync::OnceLock;
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("dummy password for timing").expect("hashing works"));
    let _ = verify(password, dummy);
}

/// The password policy (NIST SP 800-63B): long enough, not absurdly long, not a common or
/// breached password (also with digits and symbols around it), not the user's e-mail or name.
/// No composition rules.
pub fn check_policy(password: &str, email: &str, display_name: &str) -> Result<(), FieldMessage> {
    if password.is_empty() {
        return Err(FieldMessage::new("error-required"));
    }
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(FieldMessage::new("error-password-too-short").with("min", MIN_LENGTH as i64));
    }
    if length > MAX_LENGTH {
        return Err(FieldMessage::new("error-too-long").with("max", MAX_LENGTH as i64));
    }
    if is_well_known(password) {
        return Err(FieldMessage::new("error-password-common"));
    }
    let lower = password.to_lowercase();
    let squeezed: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    let email = email.to_lowercase();
    let local = email.split('@').next().unwrap_or("");
    if local.chars().count() >= 4 && (lower.contains(local) || squeezed.contains(local)) {
        return Err(FieldMessage::new("error-password-contains-email"));
    }
    if name_words(display_name)
        .iter()
        .any(|w| lower.contains(w.as_str()) || squeezed.contains(w.as_str()))
    {
        return Err(FieldMessage::new("error-password-contains-name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hashed = hash("correct horse battery").unwrap();
        assert!(hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hashed}");
        assert!(verify("correct horse battery", &hashed));
        assert!(!verify("wrong horse battery", &hashed));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn policy_rejects_weak_passwords() {
        assert_eq!(check_policy("", "a@b.jp", "").unwrap_err().key, "error-required");
        assert_eq!(
            check_policy("short", "a@b.jp", "").unwrap_err().key,
            "error-password-too-short"
        );
        assert_eq!(
            check_policy("Password123", "a@b.jp", "").unwrap_err().key,
            "error-password-common"
        );
        assert_eq!(
            check_policy("aaaaaaaaaaaa", "a@b.jp", "").unwrap_err().key,
            "error-password-common"
        );
        assert_eq!(
            check_policy("tanaka-2026-xyz", "tanaka@example.jp", "")
                .unwrap_err()
                .key,
            "error-password-contains-email"
        );
        assert!(check_policy(&"x".repeat(2000), "a@b.jp", "").is_err());
        assert!(check_policy("障害対応は落ち着いて", "a@b.jp", "山田 太郎").is_ok());
        assert!(check_policy("correct horse battery", "tanaka@example.jp", "Tanaka Ichiro").is_ok());
    }

    #[test]
    fn policy_checks_the_list_and_the_person() {
        let common = |p: &str| check_policy(p, "a@b.jp", "").map_err(|e| e.key);
        // From the list, with digits and symbols around and the usual swaps.
        for weak in [
            "Password1!",
            "password2026!!",
            "P@ssw0rd2026",
            "!!Dragon12345",
            "sunshine2024",
            "iloveyou1234",
            "1234567890",
            "qwertyuiop",
            "Mamori-2026!",
        ] {
            assert_eq!(common(weak), Err("error-password-common"), "{weak}");
        }
        assert_eq!(
            check_policy("Ichiro-Suzuki-99", "i.s@example.jp", "Ichiro Suzuki")
                .unwrap_err()
                .key,
            "error-password-contains-name"
        );
        assert_eq!(
            check_policy("鈴木のパスワードです", "i.s@example.jp", "鈴木 一郎")
                .unwrap_err()
                .key,
            "error-password-contains-name"
        );
        assert_eq!(
            check_policy("x-tanaka@example.jp-x", "tanaka@example.jp", "")
                .unwrap_err()
                .key,
            "error-password-contains-email"
        );
        assert!(check_policy("blue kettle on a red train", "a@b.jp", "Ann Lee").is_ok());
        assert!(common_passwords().len() > 45_000);
    }
}
