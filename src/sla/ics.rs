//! Company holidays from an iCalendar (.ics) file: each VEVENT's date range, parsed with the
//! `ical` crate. Timed events count for the local date they start and end on.

use chrono::{Duration, NaiveDate};

/// Why a file was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum IcsError {
    Unparsable,
    NoEvents,
    /// A control character other than tab, CR and LF (`web::text`): a NUL in a SUMMARY would
    /// reach the database.
    ControlCharacter,
}

fn date_of(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value.get(..8)?, "%Y%m%d").ok()
}

/// `(first day, last day, summary)` of every event; a date-only DTEND is exclusive (RFC 5545).
pub fn all_day_events(text: &str) -> Result<Vec<(NaiveDate, NaiveDate, String)>, IcsError> {
    if crate::web::text::has_refused(text) {
        return Err(IcsError::ControlCharacter);
    }
    let mut found = Vec::new();
    let mut calendars = 0;
    for calendar in ical::IcalParser::new(text.as_bytes()) {
        let calendar = calendar.map_err(|_| IcsError::Unparsable)?;
        calendars += 1;
        for event in calendar.events {
            let property = |name: &str| {
                event
                    .properties
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(name))
                    .and_then(|p| p.value.clone())
            };
            let start = property("DTSTART")
                .as_deref()
                .and_then(date_of)
                .ok_or(IcsError::Unparsable)?;
            let end = match property("DTEND") {
                Some(value) if value.len() == 8 => date_of(&value).ok_or(IcsError::Unparsable)? - Duration::days(1),
                Some(value) => date_of(&value).ok_or(IcsError::Unparsable)?,
                None => start,
            };
            let summary = property("SUMMARY").unwrap_or_default();
            found.push((start, end.max(start), summary.replace("\\,", ",")));
        }
    }
    if calendars == 0 {
        return Err(IcsError::Unparsable);
    }
    if found.is_empty() {
        return Err(IcsError::NoEvents);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_all_day_and_multi_day_events() {
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
            BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20261229\r\nDTEND;VALUE=DATE:20270104\r\nSUMMARY:年末年始休業\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:2\r\nDTSTART;VALUE=DATE:20260814\r\nSUMMARY:創立記念日\r\nEND:VEVENT\r\n\
            END:VCALENDAR\r\n";
        let events = all_day_events(ics).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            events,
            vec![
                (d("2026-12-29"), d("2027-01-03"), "年末年始休業".to_string()),
                (d("2026-08-14"), d("2026-08-14"), "創立記念日".to_string()),
            ]
        );
    }

    #[test]
    fn refuses_what_is_not_a_calendar() {
        assert_eq!(all_day_events("hello"), Err(IcsError::Unparsable));
        assert_eq!(
            all_day_events("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261229\r\nSUMMARY:a\0b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
            Err(IcsError::ControlCharacter)
        );
        assert!(
            all_day_events("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").is_err()
        );
        assert_eq!(
            all_day_events("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"),
            Err(IcsError::NoEvents)
        );
    }
}
