//! Pure rules of incoming mail: which messages are noise, the ticket tokens in a subject, the
//! title a new ticket gets, and the quoted text trimmed from a reply.

/// What the headers say about a message, read by `parse`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// `Auto-Submitted`, lower-cased.
    pub auto_submitted: String,
    /// `Precedence`, lower-cased.
    pub precedence: String,
    /// `Return-Path: <>` (a bounce or another automatic message).
    pub empty_return_path: bool,
    /// `X-Autoreply` / `X-Autorespond` (mailers that do not set `Auto-Submitted`).
    pub autoreply_header: bool,
    /// Our own loop-guard header `X-Mamori-Loop`.
    pub own_loop: bool,
    /// `multipart/report` (a delivery status notification).
    pub report: bool,
    pub from_address: String,
}

/// Why a message becomes neither a ticket nor a comment (`None`: it may). The reason is
/// stored and shown to admins (`mail-in-reason-{reason}`).
pub fn noise_reason(s: &Signals) -> Option<&'static str> {
    let local = s.from_address.split('@').next().unwrap_or("").to_ascii_lowercase();
    if s.own_loop {
        Some("own_mail")
    } else if s.report {
        Some("bounce")
    } else if local == "mailer-daemon" || local == "postmaster" {
        Some("mailer_daemon")
    } else if s.empty_return_path {
        Some("empty_return_path")
    } else if (!s.auto_submitted.is_empty() && s.auto_submitted != "no") || s.autoreply_header {
        Some("auto_submitted")
    } else if matches!(s.precedence.as_str(), "bulk" | "junk" | "list") {
        Some("precedence")
    } else {
        None
    }
}

/// Ticket references in a subject, as our mail writes them: `[INC-000123]` (any kind's
/// prefix: two to five capital letters, a hyphen, digits).
pub fn subject_references(subject: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (start, _) in subject.match_indices('[') {
        let rest = &subject[start + 1..];
        let Some(end) = rest.find(']') else { continue };
        let inner = &rest[..end];
        let Some((prefix, digits)) = inner.split_once('-') else {
            continue;
        };
        if (2..=5).contains(&prefix.len())
            && prefix.bytes().all(|b| b.is_ascii_uppercase())
            && (1..=12).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            found.push(inner.to_string());
        }
    }
    found
}

const REPLY_PREFIXES: [&str; 10] = [
    "re:",
    "fw:",
    "fwd:",
    "aw:",
    "wg:",
    "返信:",
    "転送:",
    "re：",
    "fw：",
    "返信：",
];

/// A new ticket's title from a subject: reply prefixes and ticket tokens dropped (a new ticket
/// never carries another ticket's number), `fallback` when nothing is left.
pub fn title_of(subject: &str, fallback: &str) -> String {
    let mut text = subject.to_string();
    for token in subject_references(subject) {
        text = text.replace(&format!("[{token}]"), "");
    }
    let mut text = text.trim();
    loop {
        let lower = text.to_lowercase();
        match REPLY_PREFIXES.iter().find(|p| lower.starts_with(*p)) {
            Some(p) => text = text[p.len()..].trim_start(),
            None => break,
        }
    }
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    let text = text.trim();
    if text.is_empty() {
        fallback.to_string()
    } else {
        text.chars().take(200).collect()
    }
}

/// Text fit for the timeline: LF line ends, no control characters but tab and LF, no trailing
/// blank lines.
pub fn clean_text(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = unified
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect();
    kept.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

fn starts_quote_header(line: &str) -> bool {
    let t = line.trim();
    let lower = t.to_lowercase();
    // "On Thu, 3 Dec 2026 at 10:15, Sato <sato@example.jp> wrote:"
    (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || lower.ends_with(" wrote:")
        // 「佐藤 花子 さんは書きました:」 and Thunderbird's 「… wrote:」 in Japanese
        || t.ends_with("書きました:")
        || t.ends_with("書きました：")
        // Gmail in Japanese: 「2026年12月3日(木) 10:15 佐藤 花子 <sato@example.jp>:」
        || (t.contains('年') && t.contains('日') && (t.ends_with(">:") || t.ends_with(">：")))
        || lower.contains("-----original message-----")
        || lower.contains("----- original message -----")
        || t.contains("-----元のメッセージ-----")
        || t.contains("----- 元のメッセージ -----")
        || t.contains("-----Original Message-----")
        // Outlook's separator line above its header block.
        || (t.len() >= 20 && t.chars().all(|c| c == '_'))
}

fn is_header_block(lines: &[&str], at: usize) -> bool {
    let first = lines[at].trim_start();
    let from = ["From:", "差出人:", "差出人：", "送信者:", "送信者："];
    if !from.iter().any(|p| first.starts_with(p)) {
        return false;
    }
    let dated = [
        "Sent:",
        "Date:",
        "送信日時:",
        "送信日時：",
        "日時:",
        "日付:",
        "To:",
        "宛先:",
        "宛先：",
    ];
    lines[at + 1..]
        .iter()
        .take(4)
        .any(|l| dated.iter().any(|p| l.trim_start().starts_with(p)))
}

/// The new part of a reply: cut at the first quote header ("On … wrote:", 「…書きました:」,
/// `-----Original Message-----`, Outlook's `From:`/「差出人:」 block) and without `>` lines.
/// The whole message stays downloadable; when nothing new is left the text is kept whole.
pub fn trim_quoted(text: &str) -> String {
    let text = clean_text(text);
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| starts_quote_header(lines[i]) || is_header_block(&lines, i))
        .unwrap_or(lines.len());
    let kept: Vec<&str> = lines[..end]
        .iter()
        .copied()
        .filter(|l| !l.trim_start().starts_with('>'))
        .collect();
    let trimmed = kept.join("\n").trim().to_string();
    if trimmed.is_empty() {
        text
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(f: impl FnOnce(&mut Signals)) -> Signals {
        let mut s = Signals {
            from_address: "sato@example.jp".into(),
            ..Default::default()
        };
        f(&mut s);
        s
    }

    #[test]
    fn noise_is_named() {
        assert_eq!(noise_reason(&signals(|_| {})), None);
        assert_eq!(noise_reason(&signals(|s| s.auto_submitted = "no".into())), None);
        assert_eq!(
            noise_reason(&signals(|s| s.auto_submitted = "auto-replied".into())),
            Some("auto_submitted")
        );
        assert_eq!(
            noise_reason(&signals(|s| s.autoreply_header = true)),
            Some("auto_submitted")
        );
        for p in ["bulk", "junk", "list"] {
            assert_eq!(noise_reason(&signals(|s| s.precedence = p.into())), Some("precedence"));
        }
        assert_eq!(noise_reason(&signals(|s| s.precedence = "first-class".into())), None);
        assert_eq!(
            noise_reason(&signals(|s| s.empty_return_path = true)),
            Some("empty_return_path")
        );
        assert_eq!(
            noise_reason(&signals(|s| s.from_address = "MAILER-DAEMON@mx.example.jp".into())),
            Some("mailer_daemon")
        );
        assert_eq!(
            noise_reason(&signals(|s| s.from_address = "postmaster@example.jp".into())),
            Some("mailer_daemon")
        );
        assert_eq!(noise_reason(&signals(|s| s.report = true)), Some("bounce"));
        assert_eq!(noise_reason(&signals(|s| s.own_loop = true)), Some("own_mail"));
    }

    #[test]
    fn subject_tokens_are_found() {
        assert_eq!(subject_references("Re: [INC-000123] VPN"), vec!["INC-000123"]);
        assert_eq!(
            subject_references("【障害】[PRB-000004][INC-7] 続報"),
            vec!["PRB-000004", "INC-7"]
        );
        assert!(subject_references("[inc-000123] [INC-] [INC-12a] [TOOLONG-1] []").is_empty());
    }

    #[test]
    fn titles_drop_prefixes_and_tokens() {
        assert_eq!(title_of("Re: RE: [INC-000123] VPN 不通", "x"), "VPN 不通");
        assert_eq!(title_of("返信: 転送: プリンタ", "x"), "プリンタ");
        assert_eq!(title_of("  ", "(件名なし)"), "(件名なし)");
        assert_eq!(title_of("[INC-000001]", "(件名なし)"), "(件名なし)");
    }

    #[test]
    fn quotes_are_trimmed() {
        let gmail = "了解しました。\r\n再起動します。\r\n\r\nOn Thu, 3 Dec 2026 at 10:15, Mamori <mamori@example.jp> wrote:\r\n> INC-000001 が割り当てられました。\r\n";
        assert_eq!(trim_quoted(gmail), "了解しました。\n再起動します。");
        let gmail_ja = "対応します。\n\n2026年12月3日(木) 10:15 Mamori <mamori@example.jp>:\n> 割り当て\n";
        assert_eq!(trim_quoted(gmail_ja), "対応します。");
        let thunderbird = "確認しました。\n\n佐藤 花子 さんは書きました:\n> 本文\n";
        assert_eq!(trim_quoted(thunderbird), "確認しました。");
        let outlook =
            "復旧を確認しました。\r\n\r\n-----Original Message-----\r\nFrom: Mamori\r\nSent: Thursday\r\n本文";
        assert_eq!(trim_quoted(outlook), "復旧を確認しました。");
        let outlook_ja = "承知しました。\n\n-----元のメッセージ-----\n差出人: Mamori\n送信日時: 2026年12月3日\n本文";
        assert_eq!(trim_quoted(outlook_ja), "承知しました。");
        let outlook_block = "承知しました。\n\n________________________________\n差出人: Mamori <mamori@example.jp>\n送信日時: 2026年12月3日 10:15\n宛先: 佐藤\n件名: [INC-000001]\n\n本文";
        assert_eq!(trim_quoted(outlook_block), "承知しました。");
        let header_block =
            "Thanks.\n\nFrom: Mamori <mamori@example.jp>\nSent: Thursday, December 3, 2026\nTo: Sato\n\nbody";
        assert_eq!(trim_quoted(header_block), "Thanks.");
        // Inline answers keep their own lines, not the quoted ones.
        assert_eq!(
            trim_quoted("> 再起動しましたか？\nはい。\n> 時刻は？\n10時です。"),
            "はい。\n10時です。"
        );
        // A line that merely mentions From: is not a header block.
        assert_eq!(
            trim_quoted("From: の欄が空でした。\n以上"),
            "From: の欄が空でした。\n以上"
        );
        // Everything quoted: the text is kept whole.
        assert_eq!(trim_quoted("> a\n> b"), "> a\n> b");
    }

    #[test]
    fn text_is_cleaned() {
        assert_eq!(clean_text("a\r\nb\u{0}c\u{7}\t \r\n\r\n"), "a\nbc");
    }
}
