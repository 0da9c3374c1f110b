//! The Message-IDs Mamori sets on its mail, and the one parser of them. A reply carries our id
//! in `In-Reply-To`/`References`; the id names the ticket and a MAC over it, so a sender cannot
//! forge a reply into a ticket they never received mail about.
//!
//! - a ticket's thread root: `<mamori.{ticket_id}.thread.{mac("{ticket_id}.thread")}@{host}>`;
//! - one ticket mail: `<mamori.{ticket_id}.{token}.{mac("{ticket_id}.{token}")}@{host}>`;
//! - a mail about no ticket: `<mamori.0.{token}.{mac("0.{token}")}@{host}>`.
//!
//! `mac(x)` is the first 8 bytes of HMAC-SHA256(secret key, x) as 16 lower-case hex digits.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

fn mac(key: &[u8], text: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    m.update(text.as_bytes());
    hex::encode(&m.finalize().into_bytes()[..8])
}

/// The Message-ID every mail about `ticket_id` refers to (`In-Reply-To`, `References`).
pub fn thread_root(key: &[u8], host: &str, ticket_id: i64) -> String {
    let signed = format!("{ticket_id}.thread");
    format!("<mamori.{signed}.{}@{host}>", mac(key, &signed))
}

/// The Message-ID of one mail: about a ticket, or (`None`) about none. `token` is 16 random
/// lower-case hex digits kept with the mail, so a retry sends the same id.
pub fn message_id(key: &[u8], host: &str, ticket_id: Option<i64>, token: &str) -> String {
    let signed = format!("{}.{token}", ticket_id.unwrap_or(0));
    format!("<mamori.{signed}.{}@{host}>", mac(key, &signed))
}

/// The ticket a Message-ID of ours names, when its MAC is right (compared in constant time).
/// Any host is accepted: the MAC, not the host, proves the id is ours.
pub fn ticket_of(key: &[u8], message_id: &str) -> Option<i64> {
    let id = message_id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, _host) = id.rsplit_once('@')?;
    let rest = local.strip_prefix("mamori.")?;
    let (signed, given) = rest.rsplit_once('.')?;
    let (ticket, token) = signed.split_once('.')?;
    let valid_token = token == "thread"
        || (token.len() == 16 && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if !valid_token || given.len() != 16 || ticket.is_empty() || !ticket.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ticket_id: i64 = ticket.parse().ok()?;
    if ticket_id <= 0 || ticket.starts_with('0') {
        return None;
    }
    let expected = mac(key, signed);
    if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        Some(ticket_id)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn the_formats_are_fixed() {
        let root = thread_root(KEY, "mamori.example.jp", 123);
        assert_eq!(
            root,
            format!("<mamori.123.thread.{}@mamori.example.jp>", mac(KEY, "123.thread"))
        );
        let one = message_id(KEY, "mamori.example.jp", Some(123), "0123456789abcdef");
        assert_eq!(
            one,
            format!(
                "<mamori.123.0123456789abcdef.{}@mamori.example.jp>",
                mac(KEY, "123.0123456789abcdef")
            )
        );
        let none = message_id(KEY, "h", None, "0123456789abcdef");
        assert!(none.starts_with("<mamori.0.0123456789abcdef."));
        assert_eq!(mac(KEY, "x").len(), 16);
        assert!(mac(KEY, "x")
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // HMAC-SHA256 (RFC 4231 test case 2), first 8 bytes.
        assert_eq!(mac(b"Jefe", "what do ya want for nothing?"), "5bdcc146bf60754e");
    }

    #[test]
    fn our_ids_name_their_ticket() {
        assert_eq!(ticket_of(KEY, &thread_root(KEY, "h.example", 42)), Some(42));
        assert_eq!(
            ticket_of(KEY, &message_id(KEY, "h.example", Some(7), "00112233445566ff")),
            Some(7)
        );
        // Without the angle brackets, as some clients quote it.
        let bare = thread_root(KEY, "h", 9);
        assert_eq!(ticket_of(KEY, bare.trim_matches(|c| c == '<' || c == '>')), Some(9));
    }

    #[test]
    fn forged_or_foreign_ids_name_nothing() {
        // A mail about no ticket.
        assert_eq!(ticket_of(KEY, &message_id(KEY, "h", None, "00112233445566ff")), None);
        // Another key.
        assert_eq!(
            ticket_of(b"another key another key another k", &thread_root(KEY, "h", 42)),
            None
        );
        // The ticket changed under the same MAC.
        let root = thread_root(KEY, "h", 42);
        assert_eq!(ticket_of(KEY, &root.replace("mamori.42.", "mamori.43.")), None);
        for junk in [
            "",
            "<>",
            "<CAF=abc@mail.gmail.com>",
            "<mamori.42.thread@h>",
            "<mamori.042.thread.0000000000000000@h>",
            "<mamori.-1.thread.0000000000000000@h>",
            "<mamori.42.THREAD.0000000000000000@h>",
            "<mamori.42.0011.0000000000000000@h>",
        ] {
            assert_eq!(ticket_of(KEY, junk), None, "{junk}");
        }
    }
}
