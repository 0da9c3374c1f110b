//! The application's clock. Production reads the system time; tests move it forward
//! (session idle timeout, throttling windows and later SLA timers) instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{Duration, NaiveDateTime, Utc};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// Now in UTC, truncated to microseconds like everything stored.
    pub fn now(&self) -> NaiveDateTime {
        let offset = Duration::microseconds(self.offset_micros.load(Ordering::Relaxed));
        crate::db::truncate(Utc::now().naive_utc() + offset)
    }

    /// Puts this clock (and every clone of it) at `at`, from where it runs on; for tests that
    /// need a particular weekday or hour (SLA calendars).
    pub fn set(&self, at: NaiveDateTime) {
        let offset = at - Utc::now().naive_utc();
        let micros = offset.num_microseconds().expect("duration in range");
        self.offset_micros.store(micros, Ordering::Relaxed);
    }

    /// Moves this clock (and every clone of it) forward; for tests.
    pub fn advance(&self, by: Duration) {
        let micros = by.num_microseconds().expect("duration in range");
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = other.now();
        clock.advance(Duration::hours(3));
        assert!(other.now() - before >= Duration::hours(3));
    }
}
