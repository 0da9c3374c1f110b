//! What retention prunes and when: pure.

use chrono::{Duration, NaiveDateTime};

/// How a kind of record is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Rows older than the period, oldest first, in batches.
    Rows,
    /// The audit log: from its oldest end, leaving a prune anchor (see `audit::service::prune_batch`).
    AuditChain,
}

/// A kind of record retention prunes.
#[derive(Debug, Clone, Copy)]
pub struct Prunable {
    /// The table, and the name of its period in `retention_periods`.
    pub table: &'static str,
    /// The time a row's age is counted from.
    pub time_column: &'static str,
    /// Days kept when no administrator set a period; 0: for ever.
    pub default_days: i32,
    pub how: How,
}

/// Every table retention prunes. To prune another (the mail outbox: `mail_outbox` by its
/// creation time), add a line here, the table to `backup::rules::TABLES` if it is new, and its
/// name in both locales (`retention-name-<table>`);
/// the settings form, API, job and run record follow from this list.
pub const PRUNABLE: &[Prunable] = &[
    Prunable {
        table: "audit_log",
        time_column: "at",
        default_days: 0,
        how: How::AuditChain,
    },
    Prunable {
        table: "login_attempts",
        time_column: "attempted_at",
        default_days: 90,
        how: How::Rows,
    },
    Prunable {
        table: "notifications",
        time_column: "created_at",
        default_days: 365,
        how: How::Rows,
    },
    Prunable {
        table: "idempotency_keys",
        time_column: "created_at",
        default_days: 7,
        how: How::Rows,
    },
    Prunable {
        table: "sessions",
        time_column: "last_seen_at",
        default_days: 30,
        how: How::Rows,
    },
];

/// Rows removed per batch (one short transaction each).
pub const BATCH: i64 = 500;

/// The longest period that can be set (100 years).
pub const MAX_DAYS: i32 = 36_500;

/// The period, in months, after which closed tickets are archived (kept, but out of lists and
/// search unless asked): its name in `retention_periods` and in `Periods::days`.
pub const TICKET_ARCHIVE: &str = "ticket_archive_months";
/// Closed tickets are archived after 24 months unless an administrator set otherwise; 0: never.
pub const TICKET_ARCHIVE_DEFAULT_MONTHS: i32 = 24;
/// The longest archiving period that can be set (100 years).
pub const MAX_MONTHS: i32 = 1_200;

/// Closed tickets closed before this are archived; `None` when the period is 0 (never).
pub fn archive_cutoff(now: NaiveDateTime, months: i32) -> Option<NaiveDateTime> {
    let months = u32::try_from(months).ok().filter(|m| *m > 0)?;
    now.checked_sub_months(chrono::Months::new(months))
}

pub fn find(table: &str) -> Option<&'static Prunable> {
    PRUNABLE.iter().find(|p| p.table == table)
}

/// Rows older than this are pruned; `None` when the period is 0 (kept for ever).
pub fn cutoff(now: NaiveDateTime, days: i32) -> Option<NaiveDateTime> {
    (days > 0).then(|| now - Duration::days(i64::from(days)))
}

/// The daily run is due when there has been none in the last 24 hours.
pub fn run_due(last_started: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    last_started.is_none_or(|at| now - at >= Duration::hours(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn periods_give_cutoffs_and_zero_keeps_for_ever() {
        assert_eq!(cutoff(t("2026-12-03 00:00"), 7), Some(t("2026-11-26 00:00")));
        assert_eq!(cutoff(t("2026-12-03 00:00"), 0), None);
        assert!(run_due(None, t("2026-12-03 00:00")));
        assert!(!run_due(Some(t("2026-12-02 01:00")), t("2026-12-03 00:00")));
        assert!(run_due(Some(t("2026-12-02 00:00")), t("2026-12-03 00:00")));
    }

    #[test]
    fn archiving_counts_calendar_months_and_zero_never_archives() {
        assert_eq!(archive_cutoff(t("2026-12-03 10:00"), 24), Some(t("2024-12-03 10:00")));
        assert_eq!(archive_cutoff(t("2026-03-31 00:00"), 1), Some(t("2026-02-28 00:00")));
        assert_eq!(archive_cutoff(t("2026-12-03 00:00"), 0), None);
        assert!(find(TICKET_ARCHIVE).is_none());
    }

    #[test]
    fn every_prunable_table_is_listed_once_and_is_backed_up() {
        let mut seen = std::collections::HashSet::new();
        for p in PRUNABLE {
            assert!(seen.insert(p.table), "{}", p.table);
            assert!(crate::backup::rules::TABLES.contains(&p.table), "{}", p.table);
            assert!((0..=MAX_DAYS).contains(&p.default_days));
        }
        assert_eq!(PRUNABLE.iter().filter(|p| p.how == How::AuditChain).count(), 1);
    }
}
