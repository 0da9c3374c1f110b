//! Random secrets and personal API tokens. Tokens are shown once and stored only as a SHA-256
//! hash: they carry 256 bits of randomness, so a fast hash is enough (unlike passwords).

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const TOKEN_PREFIX: &str = "mamori_";

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// `len` hexadecimal characters of OS randomness.
pub fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut text = hex::encode(bytes);
    text.truncate(len);
    text
}

/// A new API token in clear text (shown to the user once).
pub fn new_api_token() -> String {
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    format!("{TOKEN_PREFIX}{secret}")
}

/// What is stored and looked up.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The first characters, stored in clear so a user can tell tokens apart.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(TOKEN_PREFIX.len() + 6).collect()
}

/// A cheap shape check before touching the database.
pub fn looks_like_api_token(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX) && token.len() == TOKEN_PREFIX.len() + 43
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashed() {
        let a = new_api_token();
        let b = new_api_token();
        assert_ne!(a, b);
        assert!(looks_like_api_token(&a), "{a}");
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(display_prefix(&a).starts_with("mamori_"));
        assert_eq!(random_hex(7).len(), 7);
    }
}
