//! Times as people read them: in Bogotá's time zone, one format everywhere
//! (`29/11/2026 10:44`). Stored times stay UTC; only what is shown changes.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::America::Bogota;

/// `29/11/2026 10:44`, in Bogotá time.
pub fn date_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Bogota)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// `29/11/2026` (a calendar date, already Bogotá's).
pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_bogota_time_in_one_format() {
        let t = DateTime::parse_from_rfc3339("2026-11-29T15:44:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(date_time(t), "29/11/2026 10:44");
        // Past midnight UTC is still the previous day in Bogotá.
        let t = DateTime::parse_from_rfc3339("2026-11-30T03:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(date_time(t), "29/11/2026 22:05");
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()),
            "02/12/2026"
        );
    }
}
