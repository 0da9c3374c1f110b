//! Password hashing (argon2id with OWASP's parameters: 19 MiB, 2 passes, 1 lane — the argon2
//! crate's defaults) and the password policy.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::FieldMessage;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 1024;

/// Passwords that meet the length rule but are still guessed first.
const COMMON: &[&str] = &[
    "password123",
    "password1234",
    "1234567890",
    "12345678910",
    "qwertyuiop",
    "administrator",
    "letmein123",
    "iloveyou123",
    "welcome123",
    "password!!",
    "p@ssw0rd123",
    "changeme123",
    "qwerty12345",
    "abc1234567",
    "0123456789",
    "9876543210",
    "1qaz2wsx3edc",
    "passw0rd123",
];

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

/// The password policy: long enough, not absurdly long, not a well-known one, not the e-mail.
pub fn check_policy(password: &str, email: &str) -> Result<(), FieldMessage> {
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
    let lower = password.to_lowercase();
    let first = lower.chars().next().unwrap_or_default();
    if COMMON.contains(&lower.as_str()) || lower.chars().all(|c| c == first) {
        return Err(FieldMessage::new("error-password-common"));
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.chars().count() >= 4 && lower.contains(&local) {
        return Err(FieldMessage::new("error-password-contains-email"));
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
        assert_eq!(check_policy("", "a@b.jp").unwrap_err().key, "error-required");
        assert_eq!(
            check_policy("short", "a@b.jp").unwrap_err().key,
            "error-password-too-short"
        );
        assert_eq!(
            check_policy("Password123", "a@b.jp").unwrap_err().key,
            "error-password-common"
        );
        assert_eq!(
            check_policy("aaaaaaaaaaaa", "a@b.jp").unwrap_err().key,
            "error-password-common"
        );
        assert_eq!(
            check_policy("tanaka-2026-xyz", "tanaka@example.jp").unwrap_err().key,
            "error-password-contains-email"
        );
        assert!(check_policy(&"x".repeat(2000), "a@b.jp").is_err());
        assert!(check_policy("障害対応は落ち着いて", "a@b.jp").is_ok());
        assert!(check_policy("correct horse battery", "tanaka@example.jp").is_ok());
    }
}
