//! Reading a raw RFC 822 message with mail-parser (`full_encoding`: ISO-2022-JP including its
//! CP932 extensions such as ①, Shift_JIS/CP932, EUC-JP, half-width katakana) into what the
//! gateway needs. HTML-only messages are converted to text.

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

use super::rules::{self, Signals};

/// One attached file.
#[derive(Debug, Clone)]
pub struct MailAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A parsed message.
#[derive(Debug, Clone)]
pub struct ParsedMail {
    /// Lower-cased.
    pub from_address: String,
    pub from_name: String,
    pub subject: String,
    /// With angle brackets, as it appears in headers; empty when absent.
    pub message_id: String,
    /// `In-Reply-To` first, then `References` (newest last, as written).
    pub refers_to: Vec<String>,
    /// The body as text (converted from HTML when there is no text part), cleaned.
    pub text: String,
    pub attachments: Vec<MailAttachment>,
    pub signals: Signals,
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![format!("<{t}>")],
        HeaderValue::TextList(list) => list.iter().map(|t| format!("<{t}>")).collect(),
        _ => Vec::new(),
    }
}

fn raw_header(message: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    message
        .headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

/// Parses `raw`; `Err` says in words why it is not a mail we can read.
pub fn parse(raw: &[u8]) -> Result<ParsedMail, String> {
    if raw.is_empty() {
        return Err("the message is empty".into());
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| "the message has no headers".to_string())?;
    let from = message.from().and_then(|a| a.first());
    let from_address = from
        .and_then(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .unwrap_or_default();
    if !from_address.contains('@') || from_address.chars().any(char::is_control) {
        return Err("the message has no sender address (From)".into());
    }
    let from_name = rules::clean_text(from.and_then(|a| a.name()).unwrap_or(""));
    let subject = rules::clean_text(message.subject().unwrap_or(""));
    let message_id = message.message_id().map(|id| format!("<{id}>")).unwrap_or_default();
    let mut refers_to = ids(message.in_reply_to());
    refers_to.extend(ids(message.references()));

    let text = rules::clean_text(&message.body_text(0).unwrap_or_default());
    let attachments = message
        .attachments()
        .filter(|part| !part.is_message())
        .map(|part| {
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub).to_lowercase(),
                    None => ct.ctype().to_lowercase(),
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            MailAttachment {
                filename: part.attachment_name().unwrap_or("attachment").to_string(),
                content_type,
                bytes: part.contents().to_vec(),
            }
        })
        .collect();

    let report = message.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    let lower = |name: &str| raw_header(&message, name).unwrap_or_default().to_ascii_lowercase();
    let return_path = raw_header(&message, "Return-Path");
    let signals = Signals {
        auto_submitted: lower("Auto-Submitted")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
        precedence: lower("Precedence"),
        empty_return_path: return_path.is_some_and(|p| p.replace(' ', "") == "<>"),
        autoreply_header: raw_header(&message, "X-Autoreply").is_some()
            || raw_header(&message, "X-Autorespond").is_some(),
        own_loop: raw_header(&message, "X-Mamori-Loop").is_some(),
        report,
        from_address: from_address.clone(),
    };
    Ok(ParsedMail {
        from_address,
        from_name,
        subject,
        message_id,
        refers_to,
        text,
        attachments,
        signals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/mail/{name}", env!("CARGO_MANIFEST_DIR"))).expect(name)
    }

    const SUBJECT: &str = "【障害】①サーバ停止 ｻｰﾊﾞ室";
    const BODY: &str = "お世話になっております。\n①ファイルサーバに接続できません。\nｶﾞｲﾄﾞ確認済みです。";

    #[test]
    fn japanese_encodings_come_out_right() {
        for name in ["iso2022jp_7bit.eml", "iso2022jp_qp.eml", "shift_jis.eml", "euc_jp.eml"] {
            let mail = parse(&fixture(name)).unwrap();
            assert_eq!(mail.from_name, "佐藤 花子", "{name}");
            assert_eq!(mail.from_address, "sato@example.jp", "{name}");
            assert_eq!(mail.subject, SUBJECT, "{name}");
            assert_eq!(mail.text, BODY, "{name}");
            assert_eq!(rules::noise_reason(&mail.signals), None, "{name}");
        }
    }

    #[test]
    fn alternative_html_and_attachments() {
        let alt = parse(&fixture("alternative.eml")).unwrap();
        assert_eq!(alt.subject, "VPNに接続できません");
        assert_eq!(alt.text, "本社からVPNに接続できません。\nエラー番号は 809 です。");
        assert!(alt.attachments.is_empty());
        assert_eq!(alt.message_id, "<alt.20261203101500@mail.example.jp>");

        let html = parse(&fixture("html_only.eml")).unwrap();
        assert!(html.text.contains("3階のプリンタが印刷しません。"), "{}", html.text);
        assert!(html.text.contains("LP-S180&D"), "{}", html.text);
        assert!(!html.text.contains('<'), "{}", html.text);

        let att = parse(&fixture("attachments.eml")).unwrap();
        assert_eq!(att.text, "画面の写真と手順書を添付します。");
        let names: Vec<&str> = att.attachments.iter().map(|a| a.filename.as_str()).collect();
        assert_eq!(names, ["screen.png", "手順書.pdf"]);
        assert_eq!(att.attachments[0].content_type, "image/png");
        assert!(att.attachments[0].bytes.starts_with(b"\x89PNG"));
        assert!(att.attachments[1].bytes.starts_with(b"%PDF-1.4"));
    }

    #[test]
    fn noise_is_recognised() {
        let dsn = parse(&fixture("dsn.eml")).unwrap();
        assert_eq!(rules::noise_reason(&dsn.signals), Some("bounce"));
        assert!(dsn.signals.empty_return_path);
        let oof = parse(&fixture("outlook_autoreply.eml")).unwrap();
        assert_eq!(rules::noise_reason(&oof.signals), Some("auto_submitted"));
        assert_eq!(oof.subject, "自動応答: 【障害】メールが届かない");
        let own = parse(&fixture("own_loop.eml")).unwrap();
        assert_eq!(rules::noise_reason(&own.signals), Some("own_mail"));
    }

    #[test]
    fn garbage_is_refused_in_words() {
        assert!(parse(&fixture("unparseable.eml")).is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"Subject: no sender\r\n\r\nbody").is_err());
    }

    #[test]
    fn reply_ids_are_read() {
        let raw =
            b"From: a@example.jp\r\nSubject: Re: x\r\nIn-Reply-To: <one@h>\r\nReferences: <root@h> <one@h>\r\n\r\nok";
        let mail = parse(raw).unwrap();
        assert_eq!(mail.refers_to, ["<one@h>", "<root@h>", "<one@h>"]);
    }
}
