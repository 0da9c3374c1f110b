//! Mail wording and the finished RFC 5322 message.
//!
//! Per event and language: the subject (`mail-subject-{event}`) and the opening sentence
//! (`mail-intro-{event}`) are Fluent messages; the plain-text and HTML bodies are the Tera
//! templates `mail/message.txt` and `mail/message.html` (HTML auto-escaped), filled in the
//! recipient's language and time zone.
//!
//! MIME for Japanese clients: UTF-8 throughout; non-ASCII subjects and names as RFC 2047
//! encoded words; `multipart/alternative` with text then HTML, each part quoted-printable or
//! base64 as lettre chooses (never raw 8-bit, which some relays mangle). Every ticket mail
//! carries the threading headers of [`super::threading`], `Auto-Submitted: auto-generated`
//! and our loop-guard header [`LOOP_HEADER`].

use chrono::NaiveDateTime;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use serde::Serialize;

use super::outbox::Mail;
use crate::web::i18n::{translate_text, Lang};

/// Our own header on every mail we send; incoming mail carrying it is ours (loop guard).
pub const LOOP_HEADER: &str = "X-Mamori-Loop";

/// What a finished message needs from the configuration.
pub struct Site<'a> {
    pub key: &'a [u8],
    pub base_url: &'a url::Url,
    pub from: &'a str,
}

impl Site<'_> {
    pub fn host(&self) -> &str {
        self.base_url.host_str().unwrap_or("localhost")
    }
}

/// The subject of a mail about `event`, in `lang`: `[INC-000123] …` for a ticket.
pub fn subject(lang: Lang, event: &str, reference: Option<&str>, title: &str) -> String {
    let text = translate_text(lang, &format!("mail-subject-{event}"), &[("title", title)]);
    match reference {
        Some(reference) => format!("[{reference}] {text}"),
        None => text,
    }
}

#[derive(Serialize)]
struct Body<'a> {
    lang: &'a str,
    intro: String,
    reference: Option<&'a str>,
    subject: &'a str,
    body: &'a str,
    link: Option<String>,
    at: String,
    link_label: String,
    preferences_label: String,
    preferences_link: String,
    footer: String,
}

/// A mail rendered for sending: its Message-ID and the whole message.
pub struct Rendered {
    pub message_id: String,
    pub bytes: Vec<u8>,
}

/// Renders `mail` (whose ticket page is `ticket_path`, when about a ticket) into the message
/// sent to its recipient.
pub fn render(tera: &tera::Tera, site: &Site, mail: &Mail, ticket_path: Option<&str>) -> Result<Rendered, String> {
    let lang = Lang::parse(&mail.content.locale).unwrap_or(Lang::Ja);
    let link = ticket_path
        .map(|path| site.base_url.join(path).map(|u| u.to_string()))
        .transpose()
        .map_err(|e| format!("ticket link: {e}"))?;
    let preferences_link = site
        .base_url
        .join("/profile")
        .map(|u| u.to_string())
        .map_err(|e| format!("profile link: {e}"))?;
    let body = Body {
        lang: lang.code(),
        intro: translate_text(
            lang,
            &format!("mail-intro-{}", mail.row.event),
            &[("name", &mail.content.recipient_name)],
        ),
        reference: mail.row.ticket_reference.as_deref(),
        subject: &mail.row.subject,
        body: &mail.content.body,
        link,
        at: local_time(mail.row.created_at, &mail.content.time_zone),
        link_label: translate_text(lang, "mail-open-ticket", &[]),
        preferences_label: translate_text(lang, "mail-preferences", &[]),
        preferences_link,
        footer: translate_text(lang, "mail-footer", &[]),
    };
    let context = tera::Context::from_serialize(&body).map_err(|e| e.to_string())?;
    let text = tera
        .render("mail/message.txt", &context)
        .map_err(|e| format!("mail/message.txt: {e:?}"))?;
    let html = tera
        .render("mail/message.html", &context)
        .map_err(|e| format!("mail/message.html: {e:?}"))?;
    compose(site, mail, text, html)
}

/// `2026-12-03 18:05 (Asia/Tokyo)`.
fn local_time(utc: NaiveDateTime, time_zone: &str) -> String {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    format!("{} ({tz})", utc.and_utc().with_timezone(&tz).format("%Y-%m-%d %H:%M"))
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

fn compose(site: &Site, mail: &Mail, text: String, html: String) -> Result<Rendered, String> {
    let host = site.host();
    let from: Mailbox = site.from.parse().map_err(|e| format!("MAMORI_MAIL_FROM: {e}"))?;
    let to_address = mail.row.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
    let to = Mailbox::new(
        (!mail.content.recipient_name.is_empty()).then(|| mail.content.recipient_name.clone()),
        to_address,
    );
    let message_id = super::threading::message_id(site.key, host, mail.row.ticket_id, &mail.row.token);
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(&mail.row.subject)
        .date(mail.row.created_at.and_utc().into())
        .message_id(Some(message_id.clone()))
        .raw_header(header("Auto-Submitted", "auto-generated".into()))
        .raw_header(header(LOOP_HEADER, host.to_string()));
    if let Some(ticket_id) = mail.row.ticket_id {
        let root = super::threading::thread_root(site.key, host, ticket_id);
        builder = builder.in_reply_to(root.clone()).references(root);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("building the message: {e}"))?;
    Ok(Rendered {
        message_id,
        bytes: message.formatted(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(locale: &str, event: &str) -> Mail {
        let created_at = chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
            .unwrap()
            .and_hms_opt(9, 5, 0)
            .unwrap();
        let lang = Lang::parse(locale).unwrap();
        Mail {
            row: super::super::outbox::MailRow {
                id: 1,
                recipient: "sato@example.jp".into(),
                ticket_id: Some(123),
                ticket_reference: Some("INC-000123".into()),
                event: event.into(),
                subject: subject(lang, event, Some("INC-000123"), "メールサーバー障害 <b>"),
                message_id: None,
                token: "0011223344556677".into(),
                state: "queued".into(),
                attempts: 0,
                next_attempt_at: created_at,
                lease_holder: None,
                lease_expires_at: None,
                last_error: None,
                created_at,
                sent_at: None,
            },
            content: super::super::outbox::MailContent {
                recipient_name: "佐藤 花子".into(),
                user_id: Some(1),
                locale: locale.into(),
                time_zone: "Asia/Tokyo".into(),
                body: "本文 <script>alert(1)</script>".into(),
                message: None,
            },
        }
    }

    fn site_url() -> url::Url {
        url::Url::parse("https://itsm.example.jp").unwrap()
    }

    #[test]
    fn every_event_renders_in_both_languages() {
        let tera = crate::web::templates::load().unwrap();
        let base = site_url();
        let site = Site {
            key: b"0123456789abcdef0123456789abcdef",
            base_url: &base,
            from: "Mamori <mamori@itsm.example.jp>",
        };
        for event in super::super::rules::EVENTS {
            for locale in ["ja", "en"] {
                let lang = Lang::parse(locale).unwrap();
                for key in [format!("mail-subject-{event}"), format!("mail-intro-{event}")] {
                    let text = translate_text(lang, &key, &[("title", "T"), ("name", "N")]);
                    assert!(
                        !text.contains(&key) && text.contains(['T', 'N']),
                        "{locale} {key}: {text}"
                    );
                }
                let rendered = render(&tera, &site, &mail(locale, event), Some("/incidents/123")).unwrap();
                let text = String::from_utf8(rendered.bytes).unwrap();
                assert!(text.is_ascii(), "every header and part is encoded");
                assert!(
                    text.contains("Subject: [INC-000123] ") && text.contains("=?utf-8?b?"),
                    "{text}"
                );
                assert!(text.contains("multipart/alternative"));
                assert!(text.contains("Auto-Submitted: auto-generated"));
                assert!(text.contains("X-Mamori-Loop: itsm.example.jp"));
                let root = super::super::threading::thread_root(site.key, "itsm.example.jp", 123);
                assert!(text.contains(&format!("In-Reply-To: {root}")), "{text}");
                assert!(text.contains(&format!("References: {root}")));
                assert!(text.contains(&format!("Message-ID: {}", rendered.message_id)));
                assert_eq!(text.matches("Message-ID:").count(), 1, "lettre adds no second id");
            }
        }
    }

    #[test]
    fn html_is_escaped_and_times_are_local() {
        let tera = crate::web::templates::load().unwrap();
        let body = Body {
            lang: "ja",
            intro: "x".into(),
            reference: Some("INC-000123"),
            subject: "<b>件名</b>",
            body: "<script>alert(1)</script>",
            link: Some("https://itsm.example.jp/incidents/123".into()),
            at: local_time(
                chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc(),
                "Asia/Tokyo",
            ),
            link_label: "開く".into(),
            preferences_label: "設定".into(),
            preferences_link: "https://itsm.example.jp/profile".into(),
            footer: "f".into(),
        };
        let context = tera::Context::from_serialize(&body).unwrap();
        let html = tera.render("mail/message.html", &context).unwrap();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("1970-01-01 09:00 (Asia&#x2F;Tokyo)"), "{html}");
        let text = tera.render("mail/message.txt", &context).unwrap();
        assert!(text.contains("<script>alert(1)</script>"), "plain text is not HTML");
    }
}
