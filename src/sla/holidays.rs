//! Japanese national holidays (国民の祝日) by the rules of the Act on National Holidays as
//! amended for 2020 onwards: fixed days, Happy Monday days, the equinoxes, substitute holidays
//! (振替休日) and the citizens' holiday between two holidays (国民の休日).
//!
//! Computed rather than copied from a table so that years ahead are always there; a test checks
//! the result against the Cabinet Office's published list (内閣府「国民の祝日について」).
//! The equinox days use the standard approximation, which matches the official almanac
//! (暦要項) for 1980–2099; the government fixes each year's equinox in February of the year
//! before, so a change would show up in that test first.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// The first year these rules describe (2020 and 2021 moved days for the Olympics).
pub const FIRST_YEAR: i32 = 2022;
/// The last year the equinox formula is valid for.
pub const LAST_YEAR: i32 = 2099;

/// The national holidays of `year` with their Japanese names, in date order.
/// Empty outside [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn japanese_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Vec::new();
    }
    let day = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d).expect("valid date");
    let monday = |m: u32, n: u8| NaiveDate::from_weekday_of_month_opt(year, m, Weekday::Mon, n).expect("valid Monday");
    let offset = f64::from(year - 1980);
    let leap_days = ((year - 1980) / 4) as f64;
    let spring = (20.8431 + 0.242194 * offset - leap_days).floor() as u32;
    let autumn = (23.2488 + 0.242194 * offset - leap_days).floor() as u32;

    let mut days = vec![
        (day(1, 1), "元日"),
        (monday(1, 2), "成人の日"),
        (day(2, 11), "建国記念の日"),
        (day(2, 23), "天皇誕生日"),
        (day(3, spring), "春分の日"),
        (day(4, 29), "昭和の日"),
        (day(5, 3), "憲法記念日"),
        (day(5, 4), "みどりの日"),
        (day(5, 5), "こどもの日"),
        (monday(7, 3), "海の日"),
        (day(8, 11), "山の日"),
        (monday(9, 3), "敬老の日"),
        (day(9, autumn), "秋分の日"),
        (monday(10, 2), "スポーツの日"),
        (day(11, 3), "文化の日"),
        (day(11, 23), "勤労感謝の日"),
    ];
    days.sort();
    let is_named = |d: NaiveDate, days: &[(NaiveDate, &str)]| days.iter().any(|(h, _)| *h == d);

    // 国民の休日: a day that is not a holiday itself, between two national holidays.
    let mut extra = Vec::new();
    for pair in days.windows(2) {
        let between = pair[0].0 + Duration::days(1);
        if pair[1].0 == between + Duration::days(1) && !is_named(between, &days) {
            extra.push((between, "休日"));
        }
    }
    // 振替休日: a holiday on a Sunday moves to the next day that is not a holiday.
    for (date, _) in days.iter().filter(|(d, _)| d.weekday() == Weekday::Sun) {
        let mut next = *date + Duration::days(1);
        while is_named(next, &days) || extra.iter().any(|(d, _)| *d == next) {
            next += Duration::days(1);
        }
        extra.push((next, "休日"));
    }
    days.extend(extra);
    days.sort();
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Cabinet Office's list (syukujitsu.csv) for 2025–2027.
    const OFFICIAL: &str = "
        2025-01-01 元日, 2025-01-13 成人の日, 2025-02-11 建国記念の日, 2025-02-23 天皇誕生日,
        2025-02-24 休日, 2025-03-20 春分の日, 2025-04-29 昭和の日, 2025-05-03 憲法記念日,
        2025-05-04 みどりの日, 2025-05-05 こどもの日, 2025-05-06 休日, 2025-07-21 海の日,
        2025-08-11 山の日, 2025-09-15 敬老の日, 2025-09-23 秋分の日, 2025-10-13 スポーツの日,
        2025-11-03 文化の日, 2025-11-23 勤労感謝の日, 2025-11-24 休日,
        2026-01-01 元日, 2026-01-12 成人の日, 2026-02-11 建国記念の日, 2026-02-23 天皇誕生日,
        2026-03-20 春分の日, 2026-04-29 昭和の日, 2026-05-03 憲法記念日, 2026-05-04 みどりの日,
        2026-05-05 こどもの日, 2026-05-06 休日, 2026-07-20 海の日, 2026-08-11 山の日,
        2026-09-21 敬老の日, 2026-09-22 休日, 2026-09-23 秋分の日, 2026-10-12 スポーツの日,
        2026-11-03 文化の日, 2026-11-23 勤労感謝の日,
        2027-01-01 元日, 2027-01-11 成人の日, 2027-02-11 建国記念の日, 2027-02-23 天皇誕生日,
        2027-03-21 春分の日, 2027-03-22 休日, 2027-04-29 昭和の日, 2027-05-03 憲法記念日,
        2027-05-04 みどりの日, 2027-05-05 こどもの日, 2027-07-19 海の日, 2027-08-11 山の日,
        2027-09-20 敬老の日, 2027-09-23 秋分の日, 2027-10-11 スポーツの日, 2027-11-03 文化の日,
        2027-11-23 勤労感謝の日";

    #[test]
    fn matches_the_official_list() {
        let official: Vec<(NaiveDate, &str)> = OFFICIAL
            .split(',')
            .map(|entry| {
                let (date, name) = entry.trim().split_once(' ').unwrap();
                (NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(), name)
            })
            .collect();
        let computed: Vec<(NaiveDate, &str)> = (2025..=2027).flat_map(japanese_holidays).collect();
        assert_eq!(computed, official);
    }

    #[test]
    fn every_supported_year_has_its_holidays_and_no_duplicates() {
        for year in FIRST_YEAR..=LAST_YEAR {
            let days = japanese_holidays(year);
            assert!((16..=22).contains(&days.len()), "{year}: {}", days.len());
            assert!(days.windows(2).all(|w| w[0].0 < w[1].0), "{year} not strictly ordered");
            // A substitute holiday never lands on a Sunday.
            assert!(days
                .iter()
                .all(|(d, name)| *name != "休日" || d.weekday() != Weekday::Sun));
        }
        assert!(japanese_holidays(2019).is_empty() && japanese_holidays(2100).is_empty());
    }

    #[test]
    fn golden_week_2029_fills_the_gap() {
        // 2029-04-29 and 05-03..05 with 04-30 as the substitute for the Sunday 04-29.
        let days: Vec<NaiveDate> = japanese_holidays(2029).into_iter().map(|(d, _)| d).collect();
        assert!(days.contains(&NaiveDate::from_ymd_opt(2029, 4, 30).unwrap()));
    }
}
