//! The Message-IDs Mamori sets, and the one parser of them (shared by outgoing and incoming
//! mail; the format is the contract between the two, byte for byte):
//!
//! - a ticket's thread root: `<mamori.{ticket_id}.thread.{mac("{ticket_id}.thread")}@{host}>`;
//! - one ticket mail: `<mamori.{ticket_id}.{token}.{mac("{ticket_id}.{token}")}@{host}>`;
//! - a mail not about a ticket: `<mamori.0.{token}.{mac("0.{token}")}@{host}>`;
//!
//! where `mac(x)` is the first 8 bytes of HMAC-SHA256(secret key, x) as 16 lower-case hex digits
//! and `token` 16 random lower-case hex digits kept with the outbox row.

use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(key: &[u8], text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(text.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..8])
}

/// The Message-ID every mail about `ticket_id` refers to (`In-Reply-To`, `References`).
pub fn thread_root(key: &[u8], host: &str, ticket_id: i64) -> String {
    format!(
        "<mamori.{ticket_id}.thread.{}@{host}>",
        mac(key, &format!("{ticket_id}.thread"))
    )
}

/// The Message-ID of one mail (about a ticket, or not: `None`).
pub fn message_id(key: &[u8], host: &str, ticket_id: Option<i64>, token: &str) -> String {
    let ticket = ticket_id.unwrap_or(0);
    format!(
        "<mamori.{ticket}.{token}.{}@{host}>",
        mac(key, &format!("{ticket}.{token}"))
    )
}

/// The ticket a Message-ID of ours names (a thread root or one mail), after checking its mac;
/// `None` for anyone else's id, a forged one, or a mail not about a ticket.
pub fn ticket_of(key: &[u8], message_id: &str) -> Option<i64> {
    let id = message_id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, _host) = id.rsplit_once('@')?;
    let mut parts = local.split('.');
    let (Some("mamori"), Some(ticket), Some(token), Some(given), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if ticket.is_empty() || !ticket.bytes().all(|b| b.is_ascii_digit()) || ticket.starts_with('0') {
        return None;
    }
    let ticket_id: i64 = ticket.parse().ok()?;
    let expected = mac(key, &format!("{ticket}.{token}"));
    let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes()).into();
    same.then_some(ticket_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn ids_have_the_agreed_format() {
        let root = thread_root(KEY, "itsm.example.jp", 123);
        let expected = format!("<mamori.123.thread.{}@itsm.example.jp>", mac(KEY, "123.thread"));
        assert_eq!(root, expected);
        let one = message_id(KEY, "itsm.example.jp", Some(123), "00112233445566ff");
        assert_eq!(
            one,
            format!(
                "<mamori.123.00112233445566ff.{}@itsm.example.jp>",
                mac(KEY, "123.00112233445566ff")
            )
        );
        let other = message_id(KEY, "h", None, "00112233445566ff");
        assert!(other.starts_with("<mamori.0.00112233445566ff."));
        let m = mac(KEY, "x");
        assert_eq!(m.len(), 16);
        assert!(m.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn the_mac_is_hmac_sha256_cut_to_eight_bytes() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        assert_eq!(mac(b"Jefe", "what do ya want for nothing?"), "5bdcc146bf60754e");
    }

    #[test]
    fn ticket_of_reads_our_ids_and_refuses_others() {
        let root = thread_root(KEY, "h", 42);
        assert_eq!(ticket_of(KEY, &root), Some(42));
        let one = message_id(KEY, "h", Some(42), "0011223344556677");
        assert_eq!(ticket_of(KEY, &one), Some(42));
        assert_eq!(ticket_of(KEY, &message_id(KEY, "h", None, "0011223344556677")), None);
        assert_eq!(ticket_of(b"another key of thirty-two bytes!", &one), None);
        let forged = one.replace("mamori.42.", "mamori.43.");
        assert_eq!(ticket_of(KEY, &forged), None);
        assert_eq!(ticket_of(KEY, "<CAF=abc@mail.gmail.com>"), None);
        assert_eq!(ticket_of(KEY, ""), None);
    }
}
