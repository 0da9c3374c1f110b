//! Business time and SLA clocks, as pure functions: no database, no clock of their own.
//!
//! A [`Calendar`] turns into a stream of working spans in UTC ([`Calendar::spans_from`]); adding
//! business time and measuring it between two instants both walk that stream. Working
//! intervals are wall-clock times in the calendar's zone, so a 09:00–17:00 day stays eight hours
//! on the days daylight saving time changes, and an interval may cross midnight (22:00–06:00
//! belongs to the day it starts on, and that day's holiday status decides whether it is worked).
//!
//! The clocks of a ticket ([`compute`]) are derived from its status history alone, so a change
//! of priority or policy recomputes them from the same facts and keeps every pause.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use crate::tickets::kind::StatusClass;

/// Escalation levels L1–L3 (an escalation rule raises a ticket to one of them).
pub const MIN_LEVEL: i32 = 1;
pub const MAX_LEVEL: i32 = 3;

/// Minutes in a day; an interval's end may go up to twice that (crossing midnight).
pub const DAY_MINUTES: u32 = 24 * 60;
/// How far ahead a calendar is searched for working time before giving up (ten years).
const SEARCH_DAYS: i64 = 3660;

/// A working interval in minutes after local midnight: `start < end`; `end > 1440` crosses
/// into the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Interval {
    pub start: u32,
    pub end: u32,
}

impl Interval {
    /// Parses `"09:30-12:00"`; an end before the start crosses midnight (`"22:00-06:00"`),
    /// `"00:00-24:00"` is the whole day, and an empty interval (`"09:00-09:00"`) is refused.
    pub fn parse(text: &str) -> Option<Interval> {
        let (start, end) = text.trim().split_once('-')?;
        let minutes = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
        };
        let (start, end) = (minutes(start)?, minutes(end)?);
        if start >= DAY_MINUTES {
            return None;
        }
        if end == start {
            return None; // empty: never a working interval
        }
        let end = if end < start { end + DAY_MINUTES } else { end };
        (end - start <= DAY_MINUTES).then_some(Interval { start, end })
    }

    pub fn format(&self) -> String {
        let end = self.end % DAY_MINUTES;
        let end = if self.end == DAY_MINUTES { DAY_MINUTES } else { end };
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            end / 60,
            end % 60
        )
    }
}

/// Why a week of intervals is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeekError {
    /// Two intervals of the same day (or one crossing midnight and the next day's) overlap.
    Overlap { weekday: usize },
    /// No working time in the whole week: business time would never pass.
    Empty,
}

/// Checks a week (Monday first): intervals sorted, not overlapping within a day or across
/// midnight into the next day, and some working time somewhere.
pub fn check_week(week: &[Vec<Interval>; 7]) -> Result<(), WeekError> {
    if week.iter().all(Vec::is_empty) {
        return Err(WeekError::Empty);
    }
    for (weekday, day) in week.iter().enumerate() {
        let mut sorted = day.clone();
        sorted.sort();
        if sorted.windows(2).any(|w| w[1].start < w[0].end) {
            return Err(WeekError::Overlap { weekday });
        }
        let next = &week[(weekday + 1) % 7];
        if let Some(last) = sorted.last() {
            if last.end > DAY_MINUTES && next.iter().any(|i| i.start < last.end - DAY_MINUTES) {
                return Err(WeekError::Overlap { weekday });
            }
        }
    }
    Ok(())
}

/// Where business time is counted.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub time_zone: Tz,
    /// Working intervals per weekday, Monday first.
    pub week: [Vec<Interval>; 7],
    /// Local dates on which nothing is worked (public and company holidays).
    pub closed: BTreeSet<NaiveDate>,
    /// The working spans of a range of days, precomputed ([`Calendar::with_index`]); set only
    /// once the calendar is complete, as it is not rebuilt when the fields above change.
    index: Option<std::sync::Arc<SpanIndex>>,
}

/// A calendar's merged working spans over a range of instants, with running totals, so adding
/// and measuring business time inside the range are binary searches instead of walks over
/// every day (a ticket open for months would otherwise walk hundreds of days per read).
#[derive(Debug)]
struct SpanIndex {
    /// Instants covered: every working span in `[from, to)` is listed.
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// Span bounds in Unix seconds, clipped to `[from, to)`, in order and not touching.
    starts: Vec<i64>,
    ends: Vec<i64>,
    /// `before[i]`: business seconds in the spans before `i`; one more entry than spans.
    before: Vec<i64>,
}

fn unix(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("a span of the calendar's range")
}

impl SpanIndex {
    /// The first span ending after `t`.
    fn first_ending_after(&self, t: DateTime<Utc>) -> usize {
        self.ends.partition_point(|&end| unix(end) <= t)
    }

    fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        let first = self.first_ending_after(from);
        // Spans starting before `to`.
        let until = self.starts.partition_point(|&start| unix(start) < to);
        if first >= until {
            return 0;
        }
        let part = |i: usize| {
            let (start, end) = (unix(self.starts[i]).max(from), unix(self.ends[i]).min(to));
            (end - start).num_seconds().max(0)
        };
        let last = until - 1;
        if first == last {
            return part(first);
        }
        part(first) + (self.before[last] - self.before[first + 1]) + part(last)
    }

    /// `None` when the answer lies past the range.
    fn add(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        let first = self.first_ending_after(from);
        let start = unix(*self.starts.get(first)?).max(from);
        let available = (unix(self.ends[first]) - start).num_seconds();
        if seconds <= available {
            return Some(start + Duration::seconds(seconds));
        }
        // Business seconds still to find after span `first`, counted from the range's start.
        let target = seconds - available + self.before[first + 1];
        // The first later span `k` whose end reaches the target (`before[k + 1] >= target`).
        let k = first + 1 + self.before[first + 2..].partition_point(|&b| b < target);
        (k < self.starts.len()).then(|| unix(self.starts[k]) + Duration::seconds(target - self.before[k]))
    }
}

impl Calendar {
    /// Every minute of every day.
    pub fn always(time_zone: Tz) -> Calendar {
        let whole_day = vec![Interval {
            start: 0,
            end: DAY_MINUTES,
        }];
        Calendar::new(time_zone, std::array::from_fn(|_| whole_day.clone()), BTreeSet::new())
    }

    pub fn new(time_zone: Tz, week: [Vec<Interval>; 7], closed: BTreeSet<NaiveDate>) -> Calendar {
        Calendar {
            time_zone,
            week,
            closed,
            index: None,
        }
    }

    /// The calendar with its working spans between the local dates `first` and `last`
    /// precomputed; answers inside that range are then binary searches, outside it walks.
    pub fn with_index(mut self, first: NaiveDate, last: NaiveDate) -> Calendar {
        self.index = None;
        let from = self.instant(first.and_hms_opt(0, 0, 0).expect("midnight"));
        let to = self.instant(last.and_hms_opt(0, 0, 0).expect("midnight"));
        let (mut starts, mut ends, mut before) = (Vec::new(), Vec::new(), vec![0]);
        for (start, end) in self.spans_from(from) {
            if start >= to {
                break;
            }
            let (start, end) = (start.max(from), end.min(to));
            if end > start {
                starts.push(start.timestamp());
                ends.push(end.timestamp());
                before.push(before.last().copied().unwrap_or(0) + (end - start).num_seconds());
            }
        }
        self.index = Some(std::sync::Arc::new(SpanIndex {
            from,
            to,
            starts,
            ends,
            before,
        }));
        self
    }

    /// The instant a local wall-clock time happens. A time skipped by a DST change happens when
    /// the gap ends; a repeated one the first time.
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let mut probe = local;
        for _ in 0..=180 {
            match self.time_zone.from_local_datetime(&probe) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
                LocalResult::None => probe += Duration::minutes(1),
            }
        }
        Utc.from_utc_datetime(&local)
    }

    /// Working spans `[start, end)` in UTC, in order and merged, from the day before `from`'s
    /// local date (so a shift that started yesterday evening is included) for ten years.
    pub fn spans_from(&self, from: DateTime<Utc>) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first_day = from.with_timezone(&self.time_zone).date_naive() - Duration::days(1);
        let mut pending: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        let raw = (0..SEARCH_DAYS).flat_map(move |offset| {
            let day = first_day + Duration::days(offset);
            let intervals: &[Interval] = if self.closed.contains(&day) {
                &[]
            } else {
                &self.week[day.weekday().num_days_from_monday() as usize]
            };
            let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
            intervals.iter().map(move |i| {
                let start = self.instant(midnight + Duration::minutes(i64::from(i.start)));
                let end = self.instant(midnight + Duration::minutes(i64::from(i.end)));
                (start, end)
            })
        });
        // Merge touching spans (00:00-24:00 followed by 00:00-24:00) so callers see one run.
        raw.map(Some)
            .chain(std::iter::once(None))
            .filter_map(move |next| match (pending, next) {
                (None, Some(span)) => {
                    pending = Some(span);
                    None
                }
                (Some(current), Some(span)) if span.0 <= current.1 => {
                    pending = Some((current.0, current.1.max(span.1)));
                    None
                }
                (Some(current), Some(span)) => {
                    pending = Some(span);
                    Some(current)
                }
                (current, None) => {
                    pending = None;
                    current
                }
            })
            .filter(|(start, end)| start < end)
    }

    /// The instant `seconds` of business time after `from`; `None` when the calendar has no
    /// working time in the next ten years.
    pub fn add(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        if seconds <= 0 {
            return Some(from);
        }
        if let Some(index) = self.index.as_ref().filter(|i| from >= i.from && from < i.to) {
            if let Some(found) = index.add(from, seconds) {
                return Some(found);
            }
        }
        self.walk_add(from, seconds)
    }

    fn walk_add(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        let mut remaining = seconds;
        for (start, end) in self.spans_from(from) {
            if end <= from {
                continue;
            }
            let start = start.max(from);
            let available = (end - start).num_seconds();
            if remaining <= available {
                return Some(start + Duration::seconds(remaining));
            }
            remaining -= available;
        }
        None
    }

    /// Business seconds in `[from, to)`; zero when `to <= from`.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        match self.index.as_ref().filter(|i| from >= i.from && to <= i.to) {
            Some(index) => index.between(from, to),
            None => self.walk_between(from, to),
        }
    }

    fn walk_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        let mut total = 0;
        for (start, end) in self.spans_from(from) {
            if start >= to {
                break;
            }
            let (start, end) = (start.max(from), end.min(to));
            if end > start {
                total += (end - start).num_seconds();
            }
        }
        total
    }
}

/// One change of a ticket's status, from its timeline, as the clocks see it: the class its kind
/// declares for the status reached (`tickets::kind::KindSpec::class_of`), never its name, so
/// the clocks serve every kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub at: DateTime<Utc>,
    pub to: StatusClass,
}

/// What the clocks are computed from: the ticket's own facts.
#[derive(Debug, Clone)]
pub struct ClockInput {
    /// When the clocks start: the reported time (a call logged late counts from the call).
    pub started_at: DateTime<Utc>,
    /// The first response (acknowledgement or stakeholder status update), if any.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Status changes in order.
    pub changes: Vec<StatusChange>,
}

/// The targets of the policy that applies.
#[derive(Debug, Clone, Copy)]
pub struct Targets {
    pub response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
    /// Whether reaching `mitigated` (暫定対応) stops the resolution clock.
    pub mitigation_stops_resolution: bool,
    /// The share of a target after which a running clock warns (e.g. 75).
    pub warn_percent: i64,
}

/// A stretch of a clock's life, for the "SLA explain" panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Stretch {
    #[serde(with = "utc_seconds")]
    pub from: DateTime<Utc>,
    #[serde(with = "utc_seconds_option")]
    pub to: Option<DateTime<Utc>>,
    /// `running`, `paused` (on hold) or `stopped` (met, until a reopen).
    pub state: &'static str,
    pub business_minutes: i64,
}

/// One clock (response or resolution) at a given moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClockState {
    pub target_minutes: i64,
    /// When the target is (or was) reached if the clock keeps running; `None` while paused
    /// (the remaining time is known, the instant is not) or when the calendar never works.
    #[serde(with = "utc_seconds_option")]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(with = "utc_seconds_option")]
    pub met_at: Option<DateTime<Utc>>,
    /// When a running clock crosses the warning threshold (in the past once it has).
    #[serde(with = "utc_seconds_option")]
    pub warn_at: Option<DateTime<Utc>>,
    pub breached: bool,
    pub paused: bool,
    pub elapsed_minutes: i64,
    pub remaining_minutes: i64,
    pub stretches: Vec<Stretch>,
}

/// Both clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clocks {
    pub response: Option<ClockState>,
    pub resolution: Option<ClockState>,
}

fn is_paused(class: StatusClass) -> bool {
    class == StatusClass::Paused
}

/// Resolving without a response still answers the requester: it stops the response clock.
fn stops_response(class: StatusClass) -> bool {
    class == StatusClass::Resolved
}

fn stops_resolution(class: StatusClass, mitigation_stops_resolution: bool) -> bool {
    class == StatusClass::Resolved || (mitigation_stops_resolution && class == StatusClass::Mitigated)
}

/// Runs one clock over the status history: `stop_at` says when (and whether) a status stops
/// it; on-hold pauses it; leaving a stopping status (reopen) starts it again.
fn run_clock(
    calendar: &Calendar,
    input: &ClockInput,
    target_minutes: i64,
    warn_percent: i64,
    now: DateTime<Utc>,
    stops: impl Fn(StatusClass) -> bool,
    stopped_at_once: Option<DateTime<Utc>>,
) -> ClockState {
    let target = target_minutes * 60;
    let mut stretches: Vec<Stretch> = Vec::new();
    let mut state: &'static str = "running";
    let mut since = input.started_at;
    let mut elapsed = 0i64;
    let mut met_at = None;
    let mut events: Vec<(DateTime<Utc>, &'static str)> = input
        .changes
        .iter()
        .filter(|c| c.at <= now)
        .map(|c| {
            let next = if stops(c.to) {
                "stopped"
            } else if is_paused(c.to) {
                "paused"
            } else {
                "running"
            };
            (c.at.max(input.started_at), next)
        })
        .collect();
    if let Some(at) = stopped_at_once.filter(|at| *at <= now) {
        // The response clock stops for good at the first response.
        events.retain(|(t, _)| *t < at);
        events.push((at.max(input.started_at), "final"));
    }
    for (at, next) in events {
        let minutes_here = if state == "running" {
            calendar.between(since, at)
        } else {
            0
        };
        if next == state || (next == "final" && state == "stopped") {
            continue;
        }
        if at > since || state == "running" {
            stretches.push(Stretch {
                from: since,
                to: Some(at),
                state,
                business_minutes: minutes_here / 60,
            });
        }
        elapsed += minutes_here;
        if state == "running" && (next == "stopped" || next == "final") {
            met_at = Some(at);
        } else if next == "running" {
            met_at = None;
        }
        state = if next == "final" { "stopped" } else { next };
        since = at;
        if next == "final" {
            break;
        }
    }
    let open_minutes = if state == "running" {
        calendar.between(since, now)
    } else {
        0
    };
    stretches.push(Stretch {
        from: since,
        to: None,
        state,
        business_minutes: open_minutes / 60,
    });
    let elapsed_total = elapsed + open_minutes;
    let due_at = match state {
        "running" => calendar.add(since, target - elapsed),
        // Met: the due time was where the running time would have reached the target.
        "stopped" => due_from_stretches(calendar, &stretches, target),
        _ => None,
    };
    let warn_at = match state {
        "running" => calendar.add(since, (target * warn_percent / 100 - elapsed).max(0)),
        _ => None,
    };
    let breached = match (met_at, due_at) {
        (Some(met), Some(due)) => met > due,
        _ => elapsed_total > target,
    };
    ClockState {
        target_minutes,
        due_at,
        met_at: if state == "stopped" { met_at } else { None },
        warn_at,
        breached,
        paused: state == "paused",
        elapsed_minutes: elapsed_total / 60,
        remaining_minutes: (target - elapsed_total) / 60,
        stretches,
    }
}

/// Where the running stretches reached the target (for a stopped clock); past the last
/// running stretch when it was never reached.
fn due_from_stretches(calendar: &Calendar, stretches: &[Stretch], target: i64) -> Option<DateTime<Utc>> {
    let mut left = target;
    let mut last_running_end = None;
    for s in stretches.iter().filter(|s| s.state == "running") {
        let end = s.to?;
        let here = calendar.between(s.from, end);
        if here >= left {
            return calendar.add(s.from, left);
        }
        left -= here;
        last_running_end = Some(end);
    }
    last_running_end.and_then(|end| calendar.add(end, left))
}

/// Both clocks of a ticket at `now`.
pub fn compute(calendar: &Calendar, input: &ClockInput, targets: &Targets, now: DateTime<Utc>) -> Clocks {
    let response = targets.response_minutes.map(|minutes| {
        run_clock(
            calendar,
            input,
            minutes,
            targets.warn_percent,
            now,
            stops_response,
            input.first_response_at,
        )
    });
    let resolution = targets.resolution_minutes.map(|minutes| {
        run_clock(
            calendar,
            input,
            minutes,
            targets.warn_percent,
            now,
            |class| stops_resolution(class, targets.mitigation_stops_resolution),
            None,
        )
    });
    Clocks { response, resolution }
}

/// What a delay level of an escalation policy waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaited {
    /// The first response (acknowledgement or stakeholder status update): `unacknowledged`.
    FirstResponse,
    /// Resolution (or mitigation, when the policy says it stops the resolution clock):
    /// `unresolved`.
    Resolution,
}

impl Awaited {
    /// The trigger name stored on the rule.
    pub fn parse(kind: &str) -> Option<Awaited> {
        match kind {
            "unacknowledged" => Some(Awaited::FirstResponse),
            "unresolved" => Some(Awaited::Resolution),
            _ => None,
        }
    }
}

/// Where a delay level stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayState {
    /// The clock it waits on is running: not paused on hold, not stopped by what it awaits.
    pub running: bool,
    /// When the running clock reaches the delay (in the past once it has); `None` when it is
    /// not running or the calendar never works.
    pub due_at: Option<DateTime<Utc>>,
}

impl DelayState {
    /// Due now: still waiting, and the delay has run out.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.running && self.due_at.is_some_and(|at| at <= now)
    }
}

/// A delay level's clock. It runs exactly like the SLA clock of what it awaits (business time
/// on the calendar from the report, paused on hold, stopped by the first response or by
/// resolution), with the delay as its target; so "not acknowledged 15 minutes after the
/// report" means 15 business minutes of the response clock.
pub fn delay_state(
    calendar: &Calendar,
    input: &ClockInput,
    mitigation_stops_resolution: bool,
    awaited: Awaited,
    delay_minutes: i64,
    now: DateTime<Utc>,
) -> DelayState {
    let clock = match awaited {
        Awaited::FirstResponse => run_clock(
            calendar,
            input,
            delay_minutes,
            100,
            now,
            stops_response,
            input.first_response_at,
        ),
        Awaited::Resolution => run_clock(
            calendar,
            input,
            delay_minutes,
            100,
            now,
            |class| stops_resolution(class, mitigation_stops_resolution),
            None,
        ),
    };
    // The last stretch is the clock's state now (a clock stopped from on-hold has no met time).
    let running = clock.stretches.last().is_some_and(|s| s.state == "running");
    DelayState {
        running,
        due_at: if running { clock.due_at } else { None },
    }
}

/// Serialises instants as RFC 3339 in UTC with a `Z`, whole seconds.
mod utc_seconds {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

mod utc_seconds_option {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::utc_seconds::serialize(t, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{Asia::Tokyo, Europe::London};
    use proptest::prelude::*;

    fn at(tz: Tz, text: &str) -> DateTime<Utc> {
        let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&local).earliest().unwrap().with_timezone(&Utc)
    }

    fn interval(text: &str) -> Interval {
        Interval::parse(text).unwrap()
    }

    /// Mon–Fri 09:30–12:00 and 13:00–17:30 in Tokyo, with Japanese holidays.
    fn office() -> Calendar {
        let day = vec![interval("09:30-12:00"), interval("13:00-17:30")];
        let mut week: [Vec<Interval>; 7] = Default::default();
        for d in week.iter_mut().take(5) {
            *d = day.clone();
        }
        let closed = (2025..=2028)
            .flat_map(super::super::holidays::japanese_holidays)
            .map(|(d, _)| d)
            .collect();
        Calendar::new(Tokyo, week, closed)
    }

    fn night_shift() -> Calendar {
        let mut week: [Vec<Interval>; 7] = Default::default();
        for d in week.iter_mut() {
            *d = vec![interval("22:00-06:00")];
        }
        Calendar::new(London, week, BTreeSet::new())
    }

    #[test]
    fn intervals_parse_and_refuse_nonsense() {
        assert_eq!(interval("09:30-12:00"), Interval { start: 570, end: 720 });
        assert_eq!(interval("22:00-06:00"), Interval { start: 1320, end: 1800 });
        assert_eq!(interval("00:00-24:00"), Interval { start: 0, end: 1440 });
        assert_eq!(interval("22:00-06:00").format(), "22:00-06:00");
        assert_eq!(interval("00:00-24:00").format(), "00:00-24:00");
        for bad in [
            "",
            "9-17",
            "25:00-26:00",
            "09:60-10:00",
            "10:00",
            "24:00-01:00",
            "a:b-c:d",
            "09:00-09:00",
        ] {
            assert_eq!(Interval::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn weeks_with_overlaps_or_no_time_are_refused() {
        let mut week: [Vec<Interval>; 7] = Default::default();
        assert_eq!(check_week(&week), Err(WeekError::Empty));
        week[0] = vec![interval("09:00-12:00"), interval("11:00-13:00")];
        assert_eq!(check_week(&week), Err(WeekError::Overlap { weekday: 0 }));
        week[0] = vec![interval("22:00-06:00")];
        week[1] = vec![interval("05:00-09:00")];
        assert_eq!(check_week(&week), Err(WeekError::Overlap { weekday: 0 }));
        week[1] = vec![interval("06:00-09:00")];
        assert_eq!(check_week(&week), Ok(()));
    }

    #[test]
    fn due_times_skip_lunch_weekends_and_holidays() {
        let cal = office();
        // Friday 2026-11-20 17:00 + 60 business minutes: 30 on Friday, then Monday 11-23 is
        // 勤労感謝の日, so the rest lands on Tuesday 09:30 + 30 = 10:00.
        let due = cal.add(at(Tokyo, "2026-11-20 17:00"), 60 * 60).unwrap();
        assert_eq!(due, at(Tokyo, "2026-11-24 10:00"));
        // Lunch: 11:30 + 60 minutes = 13:30.
        assert_eq!(
            cal.add(at(Tokyo, "2026-11-24 11:30"), 3600).unwrap(),
            at(Tokyo, "2026-11-24 13:30")
        );
        // Outside hours, the clock starts at the next opening: Saturday → Monday 09:30 + 15.
        assert_eq!(
            cal.add(at(Tokyo, "2026-11-28 10:00"), 15 * 60).unwrap(),
            at(Tokyo, "2026-11-30 09:45")
        );
        // A full working day is 7 hours.
        assert_eq!(
            cal.between(at(Tokyo, "2026-11-24 00:00"), at(Tokyo, "2026-11-25 00:00")),
            7 * 3600
        );
        // Golden week 2026: 05-04..05-06 are holidays, 05-02/03 a weekend.
        assert_eq!(
            cal.between(at(Tokyo, "2026-05-02 00:00"), at(Tokyo, "2026-05-07 00:00")),
            0
        );
    }

    #[test]
    fn daylight_saving_days_keep_their_wall_clock_hours() {
        // London springs forward on 2026-03-29 and falls back on 2026-10-25 (Sundays).
        let mut week: [Vec<Interval>; 7] = Default::default();
        for d in week.iter_mut() {
            *d = vec![interval("00:30-03:30")];
        }
        let cal = Calendar::new(London, week, BTreeSet::new());
        // 01:00-02:00 does not exist on the spring day: 00:30-03:30 is two real hours.
        assert_eq!(
            cal.between(at(London, "2026-03-29 00:00"), at(London, "2026-03-30 00:00")),
            2 * 3600
        );
        // 01:00-02:00 happens twice on the autumn day: four real hours.
        let autumn_start = at(London, "2026-10-25 00:00");
        assert_eq!(cal.between(autumn_start, autumn_start + Duration::hours(25)), 4 * 3600);
        // 24×7 over the spring day is 23 hours.
        let always = Calendar::always(London);
        assert_eq!(
            always.between(at(London, "2026-03-29 00:00"), at(London, "2026-03-30 00:00")),
            23 * 3600
        );
    }

    #[test]
    fn a_shift_across_midnight_belongs_to_the_day_it_starts() {
        let mut cal = night_shift();
        let monday_night = at(London, "2026-11-23 23:00");
        // Monday 23:00 + 3h = Tuesday 02:00, inside Monday's shift.
        assert_eq!(cal.add(monday_night, 3 * 3600).unwrap(), at(London, "2026-11-24 02:00"));
        // Closing Monday removes the whole Monday-night shift, even its Tuesday morning.
        cal.closed.insert(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        assert_eq!(
            cal.between(at(London, "2026-11-23 12:00"), at(London, "2026-11-24 12:00")),
            0
        );
        assert_eq!(cal.add(monday_night, 60).unwrap(), at(London, "2026-11-24 22:01"));
    }

    /// A change to an incident status, through the classes an incident declares for them.
    fn status(at: DateTime<Utc>, to: &str) -> StatusChange {
        let to = match to {
            "acknowledged" => StatusClass::Responded,
            "on_hold" => StatusClass::Paused,
            "mitigated" => StatusClass::Mitigated,
            "resolved" | "closed" => StatusClass::Resolved,
            _ => StatusClass::Running,
        };
        StatusChange { at, to }
    }

    #[test]
    fn on_hold_pauses_and_reopen_resumes() {
        let cal = Calendar::always(Tokyo);
        let t0 = at(Tokyo, "2026-11-23 09:00");
        let h = |hours: i64| t0 + Duration::hours(hours);
        let targets = Targets {
            response_minutes: Some(30),
            resolution_minutes: Some(8 * 60),
            mitigation_stops_resolution: false,
            warn_percent: 75,
        };
        let input = ClockInput {
            started_at: t0,
            first_response_at: Some(t0 + Duration::minutes(10)),
            changes: vec![
                status(t0 + Duration::minutes(10), "acknowledged"),
                status(h(1), "in_progress"),
                status(h(2), "on_hold"),
                status(h(5), "in_progress"),
                status(h(6), "mitigated"),
                status(h(7), "resolved"),
                status(h(9), "in_progress"), // reopened
            ],
        };
        // While on hold: paused, no due instant, 2h elapsed.
        let held = compute(&cal, &input, &targets, h(3));
        let resolution = held.resolution.unwrap();
        assert!(resolution.paused && resolution.due_at.is_none());
        assert_eq!((resolution.elapsed_minutes, resolution.remaining_minutes), (120, 360));
        let response = held.response.unwrap();
        assert_eq!(response.met_at, Some(t0 + Duration::minutes(10)));
        assert!(!response.breached && response.due_at == Some(t0 + Duration::minutes(30)));

        // Resolved at 7h: 4h of running time (the 3h hold does not count), met, not breached,
        // and the due time shows where 8h would have been reached (3h later than without hold).
        let resolved = compute(&cal, &input, &targets, h(8)).resolution.unwrap();
        assert_eq!(resolved.met_at, Some(h(7)));
        assert_eq!(resolved.elapsed_minutes, 4 * 60);
        assert_eq!(resolved.due_at, Some(h(11)));
        assert!(!resolved.breached);

        // Reopened at 9h: running again from 4h elapsed; due at 9h + 4h.
        let reopened = compute(&cal, &input, &targets, h(10)).resolution.unwrap();
        assert_eq!(reopened.met_at, None);
        assert_eq!(reopened.due_at, Some(h(13)));
        // 75% of 8h is 6h: 4h ran before the reopen, so the warning comes 2h after it.
        assert_eq!(reopened.warn_at, Some(h(11)));
        assert_eq!(resolution.warn_at, None, "a paused clock does not warn");
        assert_eq!(reopened.elapsed_minutes, 5 * 60);
        let states: Vec<&str> = reopened.stretches.iter().map(|s| s.state).collect();
        assert_eq!(states, ["running", "paused", "running", "stopped", "running"]);

        // Mitigation stops the clock when the policy says so.
        let mitigating = Targets {
            mitigation_stops_resolution: true,
            ..targets
        };
        let mitigated = compute(&cal, &input, &mitigating, h(8)).resolution.unwrap();
        assert_eq!((mitigated.met_at, mitigated.elapsed_minutes), (Some(h(6)), 3 * 60));

        // A late response breaches.
        let late = ClockInput {
            first_response_at: Some(t0 + Duration::minutes(45)),
            ..input.clone()
        };
        let response = compute(&cal, &late, &targets, h(1)).response.unwrap();
        assert!(response.breached);
        // No response yet and past due: breached while still running.
        let silent = ClockInput {
            first_response_at: None,
            changes: vec![],
            ..input
        };
        let response = compute(&cal, &silent, &targets, h(1)).response.unwrap();
        assert!(response.breached && response.met_at.is_none() && response.remaining_minutes < 0);
    }

    #[test]
    fn a_priority_change_recomputes_with_the_same_pauses() {
        let cal = office();
        let t0 = at(Tokyo, "2026-11-24 09:30");
        let input = ClockInput {
            started_at: t0,
            first_response_at: None,
            changes: vec![
                status(t0 + Duration::hours(1), "on_hold"),
                status(t0 + Duration::hours(24), "in_progress"),
            ],
        };
        let targets = |minutes| Targets {
            response_minutes: None,
            resolution_minutes: Some(minutes),
            mitigation_stops_resolution: false,
            warn_percent: 75,
        };
        let now = t0 + Duration::hours(25);
        let p3 = compute(&cal, &input, &targets(8 * 60), now).resolution.unwrap();
        let p2 = compute(&cal, &input, &targets(4 * 60), now).resolution.unwrap();
        // Both: 1h before the hold + 1h after it (Wednesday 09:30–10:30).
        assert_eq!((p3.elapsed_minutes, p2.elapsed_minutes), (120, 120));
        // P2 (4h): 2h left from Wednesday 10:30 → 12:00, lunch, 13:30.
        assert_eq!(p2.due_at, Some(at(Tokyo, "2026-11-25 13:30")));
        // P3 (8h): 6h left → the end of Wednesday's working day.
        assert_eq!(p3.due_at, Some(at(Tokyo, "2026-11-25 17:30")));
    }

    #[test]
    fn delay_levels_count_business_time_pause_on_hold_and_stop_when_answered() {
        // Filed Friday 17:20 on the office calendar: 15 business minutes run out on Monday
        // 09:35 (10 on Friday, 5 on Monday from 09:30).
        let cal = office();
        let t0 = at(Tokyo, "2026-11-27 17:20");
        let filed = ClockInput {
            started_at: t0,
            first_response_at: None,
            changes: vec![],
        };
        let state = |input: &ClockInput, awaited, minutes, now| delay_state(&cal, input, false, awaited, minutes, now);
        let friday = state(&filed, Awaited::FirstResponse, 15, at(Tokyo, "2026-11-27 18:00"));
        assert!(friday.running && !friday.is_due(at(Tokyo, "2026-11-27 18:00")));
        assert_eq!(friday.due_at, Some(at(Tokyo, "2026-11-30 09:35")));
        assert!(friday.is_due(at(Tokyo, "2026-11-30 09:35")));

        // On hold: not running, no instant; resumed: the time before the hold still counts.
        let held = ClockInput {
            changes: vec![status(t0 + Duration::minutes(5), "on_hold")],
            ..filed.clone()
        };
        let paused = state(&held, Awaited::FirstResponse, 15, at(Tokyo, "2026-12-01 12:00"));
        assert_eq!(
            paused,
            DelayState {
                running: false,
                due_at: None
            }
        );
        let resumed = ClockInput {
            changes: vec![
                status(t0 + Duration::minutes(5), "on_hold"),
                status(at(Tokyo, "2026-11-30 10:00"), "new"),
            ],
            ..filed.clone()
        };
        let later = state(&resumed, Awaited::FirstResponse, 15, at(Tokyo, "2026-11-30 10:00"));
        assert_eq!(later.due_at, Some(at(Tokyo, "2026-11-30 10:10")));

        // Answered: the unacknowledged clock stops for good, the unresolved one runs on.
        let answered = ClockInput {
            first_response_at: Some(t0 + Duration::minutes(3)),
            changes: vec![status(t0 + Duration::minutes(3), "acknowledged")],
            ..filed.clone()
        };
        let monday = at(Tokyo, "2026-11-30 12:00");
        assert!(!state(&answered, Awaited::FirstResponse, 15, monday).running);
        let unresolved = state(&answered, Awaited::Resolution, 60, monday);
        assert!(unresolved.is_due(monday));
        assert_eq!(unresolved.due_at, Some(at(Tokyo, "2026-11-30 10:20")));

        // Resolved, or mitigated under a policy where that stops the resolution clock: done.
        let mitigated = ClockInput {
            changes: vec![
                status(t0 + Duration::minutes(3), "acknowledged"),
                status(t0 + Duration::minutes(20), "mitigated"),
            ],
            ..answered.clone()
        };
        assert!(state(&mitigated, Awaited::Resolution, 60, monday).running);
        assert!(!delay_state(&cal, &mitigated, true, Awaited::Resolution, 60, monday).running);
        assert_eq!(Awaited::parse("unresolved"), Some(Awaited::Resolution));
        assert_eq!(Awaited::parse("breach"), None);
    }

    fn arb_calendar() -> impl Strategy<Value = Calendar> {
        let zones = prop_oneof![Just(Tokyo), Just(London), Just(chrono_tz::America::New_York)];
        let day = prop::collection::vec((0u32..1440, 30u32..600), 0..3);
        (
            zones,
            prop::array::uniform7(day),
            prop::collection::btree_set(0i64..60, 0..10),
        )
            .prop_map(|(time_zone, days, closed_offsets)| {
                let mut week: [Vec<Interval>; 7] = Default::default();
                for (i, raw) in days.into_iter().enumerate() {
                    // Keep only intervals that fit after the previous one on the same day.
                    let mut starts: Vec<(u32, u32)> = raw;
                    starts.sort();
                    let mut last_end = 0;
                    for (start, len) in starts {
                        if start >= last_end && start + len <= DAY_MINUTES {
                            week[i].push(Interval {
                                start,
                                end: start + len,
                            });
                            last_end = start + len;
                        }
                    }
                }
                if week.iter().all(Vec::is_empty) {
                    week[2] = vec![Interval { start: 540, end: 1020 }];
                }
                let base = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
                let closed = closed_offsets.into_iter().map(|o| base + Duration::days(o)).collect();
                Calendar::new(time_zone, week, closed)
            })
    }

    fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
        // March to May 2026: covers the DST changes of London and New York.
        (0i64..90 * 24 * 60).prop_map(|m| Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::minutes(m))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn adding_is_monotonic_and_additive(cal in arb_calendar(), t in arb_instant(), a in 0i64..3000, b in 0i64..3000) {
            let (a, b) = (a * 60, b * 60);
            let ta = cal.add(t, a).unwrap();
            let tab = cal.add(t, a + b).unwrap();
            prop_assert!(ta <= tab);
            prop_assert_eq!(cal.add(ta, b).unwrap(), tab);
            prop_assert!(ta >= t);
        }

        #[test]
        fn between_measures_what_add_added(cal in arb_calendar(), t in arb_instant(), a in 1i64..3000) {
            let due = cal.add(t, a * 60).unwrap();
            prop_assert_eq!(cal.between(t, due), a * 60);
        }

        #[test]
        fn between_is_additive_and_never_more_than_wall_time(cal in arb_calendar(), t in arb_instant(), x in 0i64..20000, y in 0i64..20000) {
            let u = t + Duration::minutes(x);
            let v = u + Duration::minutes(y);
            prop_assert_eq!(cal.between(t, u) + cal.between(u, v), cal.between(t, v));
            prop_assert!(cal.between(t, v) <= (v - t).num_seconds());
        }

        #[test]
        fn the_index_answers_as_the_walk_does(cal in arb_calendar(), t in arb_instant(), x in 0i64..200_000, secs in 0i64..2_000_000, nanos in 0u32..1_000_000_000) {
            // Indexed over part of the instants' range, so both the inside and the fallback are hit.
            let indexed = cal.clone().with_index(
                NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
                NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            );
            let t = t + Duration::nanoseconds(i64::from(nanos));
            let u = t + Duration::minutes(x) + Duration::seconds(secs % 60);
            prop_assert_eq!(indexed.between(t, u), cal.walk_between(t, u));
            // Adding nothing is the instant itself; past the walk's horizon both answer None
            // (a calendar with 30 minutes a week needs ten years for 941,401 seconds).
            let walked = if secs == 0 { Some(t) } else { cal.walk_add(t, secs) };
            prop_assert_eq!(indexed.add(t, secs), walked);
        }

        #[test]
        fn closed_days_contribute_nothing(cal in arb_calendar(), day in 0i64..60) {
            let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + Duration::days(day);
            let mut closed = cal.clone();
            closed.closed.insert(date);
            // Exactly the day's own working time disappears (these intervals end by midnight).
            let midnight = |d: NaiveDate| date.and_hms_opt(0, 0, 0).unwrap() + Duration::days((d - date).num_days());
            let own: i64 = if cal.closed.contains(&date) {
                0
            } else {
                cal.week[date.weekday().num_days_from_monday() as usize]
                    .iter()
                    .map(|i| {
                        let from = cal.instant(midnight(date) + Duration::minutes(i64::from(i.start)));
                        let to = cal.instant(midnight(date) + Duration::minutes(i64::from(i.end)));
                        (to - from).num_seconds()
                    })
                    .sum()
            };
            let start = cal.instant(midnight(date) - Duration::days(1));
            let end = cal.instant(midnight(date) + Duration::days(2));
            prop_assert_eq!(cal.between(start, end) - closed.between(start, end), own);
            // A holiday never brings a due time earlier.
            prop_assert!(closed.add(start, 600 * 60).unwrap() >= cal.add(start, 600 * 60).unwrap());
        }
    }
}
