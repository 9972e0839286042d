//! Support hours (`--hours "lun-vie 07:00-19:00"`): when agents attend, in
//! Bogotá time, never on Colombian holidays (see [`super::holidays`]).
//!
//! Outside hours "Hablar con una persona" says when agents are back and opens
//! the case directly; the widget header shows whether agents are available.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::holidays;

/// Bogotá is UTC−5 all year (no daylight saving since 1993).
const BOGOTA_OFFSET_HOURS: i64 = 5;

/// Days of the week in Spanish, Monday first: (abbreviation, name).
const DAYS: [(&str, &str); 7] = [
    ("lun", "lunes"),
    ("mar", "martes"),
    ("mie", "miércoles"),
    ("jue", "jueves"),
    ("vie", "viernes"),
    ("sab", "sábado"),
    ("dom", "domingo"),
];

/// Attention hours: some days of the week, one time range, holidays closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// Index 0 is Monday.
    days: [bool; 7],
    open: NaiveTime,
    close: NaiveTime,
}

/// Why `--hours` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HoursError {
    #[error("horario inválido «{0}»: escriba días y horas, por ejemplo «lun-vie 07:00-19:00» o «lun,mie,vie 08:00-12:00»")]
    Shape(String),
    #[error("día desconocido «{0}»: use lun, mar, mie, jue, vie, sab o dom")]
    Day(String),
    #[error("hora inválida «{0}»: use HH:MM en 24 horas, por ejemplo 07:00 o 19:30")]
    Time(String),
    #[error("la hora de cierre {close} debe ser posterior a la de apertura {open}")]
    Order { open: String, close: String },
}

fn day_index(text: &str) -> Result<usize, HoursError> {
    let folded = text
        .trim()
        .to_lowercase()
        .replace('é', "e")
        .replace('á', "a");
    DAYS.iter()
        .position(|(abbr, name)| {
            folded == *abbr || folded == name.replace('é', "e").replace('á', "a")
        })
        .ok_or_else(|| HoursError::Day(text.trim().to_owned()))
}

fn time(text: &str) -> Result<NaiveTime, HoursError> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| HoursError::Time(text.trim().to_owned()))
}

impl FromStr for BusinessHours {
    type Err = HoursError;

    /// `DAYS HH:MM-HH:MM`, where DAYS is a range (`lun-vie`), a list
    /// (`lun,mie,vie`) or both (`lun-mie,sab`).
    fn from_str(text: &str) -> Result<Self, HoursError> {
        let shape = || HoursError::Shape(text.to_owned());
        let (days_part, times_part) = text
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(shape)?;
        let mut days = [false; 7];
        for item in days_part.split(',') {
            match item.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (day_index(from)?, day_index(to)?);
                    let mut d = from;
                    loop {
                        days[d] = true;
                        if d == to {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days[day_index(item)?] = true,
            }
        }
        let (open, close) = times_part.trim().split_once('-').ok_or_else(shape)?;
        let (open, close) = (time(open)?, time(close)?);
        if close <= open {
            return Err(HoursError::Order {
                open: open.format("%H:%M").to_string(),
                close: close.format("%H:%M").to_string(),
            });
        }
        Ok(BusinessHours { days, open, close })
    }
}

/// Bogotá's wall-clock time at `now`.
pub fn bogota_now(now: DateTime<Utc>) -> NaiveDateTime {
    (now - Duration::hours(BOGOTA_OFFSET_HOURS)).naive_utc()
}

/// `29/11/2026 10:44`: the one date-and-time format people read.
pub fn format_local(t: NaiveDateTime) -> String {
    t.format("%d/%m/%Y %H:%M").to_string()
}

/// `7:00` or `19:30`: an hour as people say it.
fn clock(t: NaiveTime) -> String {
    t.format("%-H:%M").to_string()
}

impl BusinessHours {
    fn open_on(&self, date: NaiveDate) -> bool {
        self.days[date.weekday().num_days_from_monday() as usize] && !holidays::is_holiday(date)
    }

    /// Whether agents attend at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        let local = bogota_now(now);
        self.open_on(local.date()) && local.time() >= self.open && local.time() < self.close
    }

    /// The next opening after `now` (Bogotá wall-clock time), or `None` when
    /// open now. Looks up to a year ahead.
    pub fn next_open(&self, now: DateTime<Utc>) -> Option<NaiveDateTime> {
        if self.is_open(now) {
            return None;
        }
        let local = bogota_now(now);
        let mut date = local.date();
        if local.time() >= self.open {
            date = date.succ_opt()?;
        }
        for _ in 0..370 {
            if self.open_on(date) {
                return Some(date.and_time(self.open));
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// "lunes a viernes de 7:00 a 19:00" (holidays are said by the caller).
    pub fn describe(&self) -> String {
        let on: Vec<usize> = (0..7).filter(|d| self.days[*d]).collect();
        let contiguous = on.windows(2).all(|w| w[1] == w[0] + 1);
        let days = match on.as_slice() {
            [one] => DAYS[*one].1.to_owned(),
            [first, .., last] if contiguous => format!("{} a {}", DAYS[*first].1, DAYS[*last].1),
            _ => {
                let names: Vec<&str> = on.iter().map(|d| DAYS[*d].1).collect();
                match names.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} y {last}", rest.join(", "))
                    }
                    _ => names.join(""),
                }
            }
        };
        format!("{days} de {} a {}", clock(self.open), clock(self.close))
    }

    /// When the next opening is, as people say it: "el lunes 30/11/2026 a las 7:00".
    pub fn describe_next(&self, now: DateTime<Utc>) -> Option<String> {
        let next = self.next_open(now)?;
        let day = DAYS[next.weekday().num_days_from_monday() as usize].1;
        Some(format!(
            "el {day} {} a las {}",
            next.format("%d/%m/%Y"),
            clock(next.time())
        ))
    }
}

impl fmt::Display for BusinessHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Whether a person can attend now, as the widget and the bot tell the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Availability {
    /// Inside hours (or no hours set) with at least one agent's console open.
    pub available: bool,
    /// Inside hours, or no hours set.
    #[serde(skip)]
    pub in_hours: bool,
    /// "lunes a viernes de 7:00 a 19:00"; `None` without `--hours`.
    pub hours: Option<String>,
    /// "el lunes 30/11/2026 a las 7:00" when outside hours.
    pub next: Option<String>,
}

impl Availability {
    /// Always open, no schedule: where hours do not apply (eval, `ask`).
    pub fn always() -> Self {
        Availability {
            available: true,
            in_hours: true,
            hours: None,
            next: None,
        }
    }

    pub fn at(hours: Option<&BusinessHours>, agents_online: usize, now: DateTime<Utc>) -> Self {
        let in_hours = hours.is_none_or(|h| h.is_open(now));
        Availability {
            available: in_hours && agents_online > 0,
            in_hours,
            hours: hours.map(BusinessHours::describe),
            next: hours.and_then(|h| h.describe_next(now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A UTC instant from Bogotá wall-clock time.
    fn bogota(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap() + Duration::hours(5)
    }

    #[test]
    fn parses_ranges_lists_and_refuses_nonsense() {
        let h: BusinessHours = "lun-vie 07:00-19:00".parse().unwrap();
        assert_eq!(h.describe(), "lunes a viernes de 7:00 a 19:00");
        let h: BusinessHours = "lun,mié,vie 08:00-12:30".parse().unwrap();
        assert_eq!(h.describe(), "lunes, miércoles y viernes de 8:00 a 12:30");
        let h: BusinessHours = "sab 09:00-13:00".parse().unwrap();
        assert_eq!(h.describe(), "sábado de 9:00 a 13:00");
        assert!(matches!(
            "lun-vie".parse::<BusinessHours>(),
            Err(HoursError::Shape(_))
        ));
        assert!(matches!(
            "lux-vie 07:00-19:00".parse::<BusinessHours>(),
            Err(HoursError::Day(_))
        ));
        assert!(matches!(
            "lun-vie 7-19".parse::<BusinessHours>(),
            Err(HoursError::Time(_))
        ));
        assert!(matches!(
            "lun-vie 19:00-07:00".parse::<BusinessHours>(),
            Err(HoursError::Order { .. })
        ));
    }

    #[test]
    fn open_and_next_opening_in_bogota_time_skipping_holidays() {
        let h: BusinessHours = "lun-vie 07:00-19:00".parse().unwrap();
        // Friday 27/11/2026 10:44 in Bogotá is 15:44 UTC: open.
        assert!(h.is_open(bogota(2026, 11, 27, 10, 44)));
        assert_eq!(h.next_open(bogota(2026, 11, 27, 10, 44)), None);
        // Friday 19:00 is closed; next is Monday 30/11 at 7:00.
        let friday_night = bogota(2026, 11, 27, 19, 0);
        assert!(!h.is_open(friday_night));
        assert_eq!(
            h.describe_next(friday_night).as_deref(),
            Some("el lunes 30/11/2026 a las 7:00")
        );
        // Early Monday morning: later the same day.
        assert_eq!(
            h.describe_next(bogota(2026, 11, 30, 6, 15)).as_deref(),
            Some("el lunes 30/11/2026 a las 7:00")
        );
        // Tuesday 8 December 2026 is a holiday (Inmaculada Concepción): closed,
        // next opening Wednesday.
        let holiday = bogota(2026, 12, 8, 10, 0);
        assert!(!h.is_open(holiday));
        assert_eq!(
            h.describe_next(holiday).as_deref(),
            Some("el miércoles 09/12/2026 a las 7:00")
        );
    }

    #[test]
    fn availability_needs_hours_and_an_agent() {
        let h: BusinessHours = "lun-vie 07:00-19:00".parse().unwrap();
        let open = bogota(2026, 11, 27, 10, 0);
        assert!(Availability::at(Some(&h), 1, open).available);
        assert!(!Availability::at(Some(&h), 0, open).available);
        let closed = Availability::at(Some(&h), 3, bogota(2026, 11, 28, 10, 0));
        assert!(!closed.available && !closed.in_hours);
        assert_eq!(
            closed.next.as_deref(),
            Some("el lunes 30/11/2026 a las 7:00")
        );
        assert!(Availability::at(None, 1, open).available);
    }
}
