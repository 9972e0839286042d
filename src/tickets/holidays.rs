//! Colombian public holidays (Ley 51 de 1983, "Ley Emiliani"), computed for any year.
//!
//! Six fixed dates; seven dates moved to the following Monday; and five dates
//! tied to Easter (two fixed around it, three moved to Monday).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};

/// Today's date in Bogotá.
pub fn bogota_date(now: DateTime<Utc>) -> NaiveDate {
    crate::local_time::wall_clock(now).date()
}

pub fn is_holiday(date: NaiveDate) -> bool {
    holidays(date.year()).contains(&date)
}

/// Every holiday of `year`.
pub fn holidays(year: i32) -> Vec<NaiveDate> {
    let ymd = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d);
    let mut out: Vec<NaiveDate> = [(1, 1), (5, 1), (7, 20), (8, 7), (12, 8), (12, 25)]
        .into_iter()
        .filter_map(|(m, d)| ymd(m, d))
        .collect();
    out.extend(
        [
            (1, 6),
            (3, 19),
            (6, 29),
            (8, 15),
            (10, 12),
            (11, 1),
            (11, 11),
        ]
        .into_iter()
        .filter_map(|(m, d)| ymd(m, d))
        .map(next_monday),
    );
    if let Some(easter) = easter_sunday(year) {
        out.push(easter - Duration::days(3)); // Jueves Santo
        out.push(easter - Duration::days(2)); // Viernes Santo
        out.push(next_monday(easter + Duration::days(39))); // Ascensión
        out.push(next_monday(easter + Duration::days(60))); // Corpus Christi
        out.push(next_monday(easter + Duration::days(68))); // Sagrado Corazón
    }
    out
}

/// The date itself when it is a Monday, otherwise the next Monday.
fn next_monday(date: NaiveDate) -> NaiveDate {
    let ahead = (7 - date.weekday().num_days_from_monday()) % 7;
    let moved = date + Duration::days(i64::from(ahead));
    debug_assert_eq!(moved.weekday(), Weekday::Mon);
    moved
}

/// Gregorian Easter Sunday (anonymous Gregorian algorithm).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_years() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(easter_sunday(2026), Some(d(2026, 4, 5)));
        assert_eq!(easter_sunday(2025), Some(d(2025, 4, 20)));
        // 2025 has 18 holidays; a few from the official calendar:
        let h = holidays(2025);
        assert_eq!(h.len(), 18);
        for day in [
            d(2025, 1, 6),
            d(2025, 3, 24),
            d(2025, 4, 17),
            d(2025, 4, 18),
            d(2025, 6, 2),
            d(2025, 6, 23),
            d(2025, 6, 30),
            d(2025, 11, 17),
        ] {
            assert!(h.contains(&day), "{day}");
        }
    }
}
