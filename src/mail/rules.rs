//! Pure rules of outgoing mail: the SMTP URL, the outbox states, the retry schedule, which
//! notification kinds are mail events and which events a user gets by default.

use chrono::{Duration, NaiveDateTime};

/// How long a sender holds a claimed mail before another may take it over (a crashed sender).
pub const LEASE_SECONDS: i64 = 300;
/// First retry after this long; each next one waits twice as long ...
pub const FIRST_RETRY_SECONDS: i64 = 60;
/// ... up to this.
pub const MAX_RETRY_SECONDS: i64 = 6 * 3600;
/// A mail still not delivered this long after it was written is given up (and shown to admins).
pub const GIVE_UP_AFTER_SECONDS: i64 = 3 * 24 * 3600;

/// How a connection to the SMTP relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain SMTP (`smtp://host:25`): for a relay on the same host or network.
    None,
    /// `smtp://host:587?tls=starttls`: STARTTLS required.
    StartTls,
    /// `smtps://host:465`: TLS from the first byte.
    Wrapper,
}

/// `MAMORI_SMTP_URL`, parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpUrl {
    // The password is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

impl SmtpUrl {
    /// `smtp://host[:port][?tls=starttls]` or `smtps://[user:pass@]host[:port]`; the message says
    /// what is wrong, without the password.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e}); use smtp://host:25"))?;
        let mut tls = match url.scheme() {
            "smtp" => Tls::None,
            "smtps" => Tls::Wrapper,
            other => return Err(format!("scheme '{other}' is not smtp:// or smtps://")),
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), tls) {
                ("tls", "starttls", Tls::None) => tls = Tls::StartTls,
                ("tls", "none", Tls::None) => {}
                ("tls", other, _) => return Err(format!("tls={other} is not 'starttls' (on smtp://)")),
                (other, _, _) => return Err(format!("unknown parameter '{other}'")),
            }
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| "no host; use smtp://host:25".to_string())?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port().unwrap_or(match tls {
            Tls::None => 25,
            Tls::StartTls => 587,
            Tls::Wrapper => 465,
        });
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let user = (!url.username().is_empty()).then(|| decode(url.username()));
        let password = url.password().map(decode);
        if password.is_some() && user.is_none() {
            return Err("a password needs a user name".into());
        }
        Ok(Self {
            host,
            port,
            tls,
            user,
            password,
        })
    }
}

/// Where a mail is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Queued,
    Sending,
    Sent,
    /// The last attempt failed; another follows at `next_attempt_at`.
    Failed,
    /// Not delivered within [`GIVE_UP_AFTER_SECONDS`]; only an admin's resend tries again.
    GivenUp,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Queued,
        State::Sending,
        State::Sent,
        State::Failed,
        State::GivenUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sending => "sending",
            State::Sent => "sent",
            State::Failed => "failed",
            State::GivenUp => "given_up",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// Waiting to be delivered (counted by the outbox depth gauge).
    pub fn pending(self) -> bool {
        matches!(self, State::Queued | State::Sending | State::Failed)
    }
}

/// The wait after the `attempts`-th failed attempt: 1 minute, doubling, at most 6 hours.
pub fn retry_delay(attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let seconds = FIRST_RETRY_SECONDS.saturating_mul(1i64 << doublings);
    Duration::seconds(seconds.min(MAX_RETRY_SECONDS))
}

/// After a failed attempt (the `attempts`-th) at `now` of a mail written at `created_at`: its
/// next state and, when it is tried again, when.
pub fn after_failure(created_at: NaiveDateTime, attempts: i32, now: NaiveDateTime) -> (State, NaiveDateTime) {
    let next = now + retry_delay(attempts);
    if next - created_at > Duration::seconds(GIVE_UP_AFTER_SECONDS) {
        (State::GivenUp, now)
    } else {
        (State::Failed, next)
    }
}

/// The mail events a user can choose, in the order the profile page lists them.
pub const EVENTS: &[&str] = &[
    "assigned",
    "escalated",
    "sla_warning",
    "sla_breach",
    "commented",
    "mentioned",
    "watcher_update",
    "status_update",
    "action_item_due",
    "approval_requested",
    "maintenance_notice",
];

/// Events mailed to a user who has not chosen otherwise.
pub fn default_on(event: &str) -> bool {
    matches!(event, "assigned" | "escalated" | "sla_breach")
}

/// The mail event of a notification kind (`sla_resolution_breach` → `sla_breach`,
/// `escalation_no_response` → `escalated`); `None`: never mailed.
pub fn event_of(kind: &str) -> Option<&'static str> {
    if kind.starts_with("escalation_") {
        return Some("escalated");
    }
    if kind.starts_with("sla_") && kind.ends_with("_warning") {
        return Some("sla_warning");
    }
    if kind.starts_with("sla_") && kind.ends_with("_breach") {
        return Some("sla_breach");
    }
    EVENTS.iter().copied().find(|event| *event == kind)
}

/// `MAMORI_MAIL_FROM`'s default: `mamori@<host of the base URL>`.
pub fn default_from(base_url: &url::Url) -> String {
    format!("mamori@{}", base_url.host_str().unwrap_or("localhost"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn retries_double_from_a_minute_up_to_six_hours() {
        let minutes: Vec<i64> = (1..=12).map(|n| retry_delay(n).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360]);
        assert_eq!(retry_delay(0).num_minutes(), 1);
        assert_eq!(retry_delay(i32::MAX).num_hours(), 6);
    }

    #[test]
    fn a_mail_is_given_up_after_three_days() {
        let created = at("2026-12-01 09:00");
        let (state, next) = after_failure(created, 1, at("2026-12-01 09:00"));
        assert_eq!((state, next), (State::Failed, at("2026-12-01 09:01")));
        // The retry would fall after three days: given up now.
        let (state, _) = after_failure(created, 20, at("2026-12-04 06:00"));
        assert_eq!(state, State::GivenUp);
        let (state, next) = after_failure(created, 20, at("2026-12-03 18:00"));
        assert_eq!((state, next), (State::Failed, at("2026-12-04 00:00")));
    }

    #[test]
    fn the_whole_schedule_gives_up_within_three_days_and_a_few_hours() {
        let created = at("2026-12-01 00:00");
        let mut now = created;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match after_failure(created, attempts, now) {
                (State::Failed, next) => now = next,
                (State::GivenUp, _) => break,
                other => panic!("{other:?}"),
            }
        }
        assert!(now - created <= Duration::days(3));
        assert!(now - created > Duration::days(3) - Duration::hours(6));
        assert_eq!(attempts, 20);
    }

    #[test]
    fn smtp_urls() {
        let plain = SmtpUrl::parse("smtp://mail.example.jp:25").unwrap();
        assert_eq!(
            (plain.host.as_str(), plain.port, plain.tls),
            ("mail.example.jp", 25, Tls::None)
        );
        let starttls = SmtpUrl::parse("smtp://relay:587?tls=starttls").unwrap();
        assert_eq!((starttls.port, starttls.tls), (587, Tls::StartTls));
        let smtps = SmtpUrl::parse("smtps://user%40x:p%40ss@relay:465").unwrap();
        assert_eq!(smtps.tls, Tls::Wrapper);
        assert_eq!(smtps.user.as_deref(), Some("user@x"));
        assert_eq!(smtps.password.as_deref(), Some("p@ss"));
        assert!(!format!("{smtps:?}").contains("p@ss"));
        assert_eq!(SmtpUrl::parse("smtps://relay").unwrap().port, 465);
        for bad in [
            "http://relay",
            "relay:25",
            "smtp://",
            "smtps://relay?tls=starttls",
            "smtp://r?x=1",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn notification_kinds_map_to_mail_events() {
        assert_eq!(event_of("sla_resolution_breach"), Some("sla_breach"));
        assert_eq!(event_of("sla_response_warning"), Some("sla_warning"));
        assert_eq!(event_of("escalation_no_response"), Some("escalated"));
        assert_eq!(event_of("assigned"), Some("assigned"));
        assert_eq!(event_of("something_else"), None);
        assert!(EVENTS.iter().filter(|e| default_on(e)).count() == 3);
    }
}
