//! Support tickets: identity, lifecycle and deadline. No storage, no sockets.
//!
//! A ticket is opened by the `crear-caso` flow, picked up by an agent and resolved.
//! Its deadline is three business days after it opens, skipping weekends and
//! Colombian public holidays (see [`holidays`]).

pub mod holidays;
pub mod hours;
pub mod privacy;
pub mod rating;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// A human-readable ticket id such as `SB-000123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(String);

impl TicketId {
    pub fn from_number(n: u64) -> Self {
        TicketId(format!("SB-{n:06}"))
    }

    /// Parses `SB-` followed by digits.
    ///
    /// # Errors
    /// When the text is not a ticket id.
    pub fn parse(text: &str) -> Result<Self, TicketError> {
        let text = text.trim().to_uppercase();
        match text.strip_prefix("SB-") {
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(TicketId(text))
            }
            _ => Err(TicketError::BadId(text)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TicketError {
    #[error("not a ticket id: {0}")]
    BadId(String),
    #[error("El caso {id} no puede pasar de «{}» a «{}».", .from.title(), .to.title())]
    BadTransition {
        id: TicketId,
        from: Status,
        to: Status,
    },
}

/// Lifecycle: `abierto` → `en_atencion` → `esperando_usuario` → `resuelto`.
/// An agent answering a case whose user is not chatting live moves it to
/// `esperando_usuario`: the ball is in the user's court and the deadline does
/// not run. When the user writes again the case goes back to `abierto` with a
/// fresh deadline. Handing a live chat back to the bot returns it to `abierto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    #[serde(rename = "abierto")]
    Open,
    #[serde(rename = "en_atencion")]
    InProgress,
    #[serde(rename = "esperando_usuario")]
    WaitingUser,
    #[serde(rename = "resuelto")]
    Resolved,
}

impl Status {
    /// The wire string (Spanish).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "abierto",
            Status::InProgress => "en_atencion",
            Status::WaitingUser => "esperando_usuario",
            Status::Resolved => "resuelto",
        }
    }

    /// How the user reads it, after "Su caso … está".
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "abierto, en espera de un asesor",
            Status::InProgress => "en atención",
            Status::WaitingUser => "en espera de su respuesta",
            Status::Resolved => "resuelto",
        }
    }

    /// How agents read it, as a column value.
    pub fn title(self) -> &'static str {
        match self {
            Status::Open => "Abierto",
            Status::InProgress => "En atención",
            Status::WaitingUser => "Esperando usuario",
            Status::Resolved => "Resuelto",
        }
    }

    /// Parses the wire string.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Status::Open,
            Status::InProgress,
            Status::WaitingUser,
            Status::Resolved,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ordered: `Alta` > `Normal`, so `max` keeps the more urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Normal,
    Alta,
}

impl Priority {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "normal" => Some(Priority::Normal),
            "alta" => Some(Priority::Alta),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Alta => "alta",
        }
    }
}

/// Case fields that identify a person: anonymised some time after the case is
/// resolved (`--anonymize-after-days`).
pub const PERSONAL_FIELDS: &[&str] = &["nombre", "numero_documento", "correo", "telefono"];

/// What an anonymised value reads as.
pub const ANONYMIZED: &str = "[dato eliminado]";

/// A support case.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ticket {
    pub id: TicketId,
    /// The conversation (session token) whose transcript belongs to this ticket.
    pub session: String,
    pub status: Status,
    pub priority: Priority,
    /// The case fields collected by `crear-caso` (nombre, correo, …).
    pub fields: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub due: NaiveDate,
    /// The flow the user was in when they asked for help, if any.
    pub origin: Option<String>,
    pub handled_by: Option<String>,
    pub resolution: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The user's satisfaction rating, once the case is resolved (see `rating`).
    #[serde(default)]
    pub rating: Option<rating::Rating>,
    /// Internal notes between agents: never shown to the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// When the user accepted the privacy notice, and its policy (none on
    /// cases opened before the notice existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<privacy::PrivacyConsent>,
}

/// An internal note on a case, written by an agent for the other agents and
/// supervisors (the user never sees it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Note {
    pub text: String,
    /// The agent's display name.
    pub agent: String,
    pub ts: DateTime<Utc>,
}

impl Ticket {
    /// Replaces the personal fields with [`ANONYMIZED`]; returns the values
    /// removed, so the transcript can be scrubbed of them too.
    pub fn anonymize(&mut self) -> Vec<String> {
        let mut removed = Vec::new();
        for name in PERSONAL_FIELDS {
            if let Some(value) = self.fields.get_mut(*name) {
                if value != ANONYMIZED {
                    removed.push(std::mem::replace(value, ANONYMIZED.to_owned()));
                }
            }
        }
        removed
    }

    /// A new open ticket, due three business days after `now` (Colombian calendar).
    pub fn open(
        id: TicketId,
        session: String,
        fields: BTreeMap<String, String>,
        priority: Priority,
        origin: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        let local_day = holidays::bogota_date(now);
        Ticket {
            id,
            session,
            status: Status::Open,
            priority,
            fields,
            created_at: now,
            updated_at: now,
            due: add_business_days(local_day, DUE_BUSINESS_DAYS),
            origin,
            handled_by: None,
            resolution: None,
            resolved_at: None,
            notes: Vec::new(),
            rating: None,
            privacy: None,
        }
    }

    /// An agent takes the case.
    ///
    /// # Errors
    /// When the ticket is already resolved.
    pub fn claim(&mut self, agent: &str, now: DateTime<Utc>) -> Result<(), TicketError> {
        self.transition(Status::InProgress, now)?;
        self.handled_by = Some(agent.to_owned());
        Ok(())
    }

    /// The agent hands the conversation back to the bot; the case stays open.
    ///
    /// # Errors
    /// When the ticket is already resolved.
    pub fn release(&mut self, now: DateTime<Utc>) -> Result<(), TicketError> {
        self.transition(Status::Open, now)
    }

    /// The case is closed with a note.
    ///
    /// # Errors
    /// When the ticket is already resolved.
    pub fn resolve(
        &mut self,
        agent: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TicketError> {
        self.transition(Status::Resolved, now)?;
        self.handled_by = Some(agent.to_owned());
        self.resolution = Some(note.to_owned());
        self.resolved_at = Some(now);
        Ok(())
    }

    /// An agent answers the case. Chatting `live` with the user it stays (or
    /// becomes) `en_atencion`; otherwise the case waits for the user's reply.
    ///
    /// # Errors
    /// When the ticket is already resolved.
    pub fn answer(
        &mut self,
        agent: &str,
        live: bool,
        now: DateTime<Utc>,
    ) -> Result<(), TicketError> {
        let to = if live {
            Status::InProgress
        } else {
            Status::WaitingUser
        };
        self.transition(to, now)?;
        self.handled_by = Some(agent.to_owned());
        Ok(())
    }

    /// The user wrote again on a case that waited for them: back to `abierto`,
    /// due [`DUE_BUSINESS_DAYS`] business days from today. Returns whether the
    /// case changed (only a waiting case does).
    pub fn user_replied(&mut self, now: DateTime<Utc>) -> bool {
        if self.status != Status::WaitingUser {
            return false;
        }
        self.status = Status::Open;
        self.updated_at = now;
        self.due = add_business_days(holidays::bogota_date(now), DUE_BUSINESS_DAYS);
        true
    }

    fn transition(&mut self, to: Status, now: DateTime<Utc>) -> Result<(), TicketError> {
        if self.status == Status::Resolved {
            return Err(TicketError::BadTransition {
                id: self.id.clone(),
                from: self.status,
                to,
            });
        }
        self.status = to;
        self.updated_at = now;
        Ok(())
    }

    /// Past its due date (in Bogotá's calendar) while support owes an answer:
    /// not when resolved, nor while the case waits for the user.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        !matches!(self.status, Status::Resolved | Status::WaitingUser)
            && holidays::bogota_date(now) > self.due
    }
}

/// Business days support has to answer a case (the agency's published term
/// for cases of the support form: "un término no superior a tres (3) días
/// hábiles", see `knowledge/faq/soporte/estado-de-caso.md`).
pub const DUE_BUSINESS_DAYS: u32 = 3;

/// `days` business days after `from` (weekends and Colombian holidays skipped).
pub fn add_business_days(from: NaiveDate, days: u32) -> NaiveDate {
    let mut date = from;
    let mut left = days;
    while left > 0 {
        date = date.succ_opt().unwrap_or(date);
        if is_business_day(date) {
            left -= 1;
        }
    }
    date
}

pub fn is_business_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !holidays::is_holiday(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn due_dates_skip_weekends_and_holidays() {
        let cases = [
            // Monday → Thursday.
            (d(2026, 11, 23), d(2026, 11, 26)),
            // Friday → Wednesday.
            (d(2026, 11, 27), d(2026, 12, 2)),
            // Thursday 3 Dec 2026: Tue 8 Dec is Inmaculada Concepción → Wed 9 Dec.
            (d(2026, 12, 3), d(2026, 12, 9)),
            // Holy week 2026: Thu 2 and Fri 3 April are holidays.
            (d(2026, 3, 31), d(2026, 4, 7)),
            // Tue 17 Nov 2026 follows Monday 16 Nov (Independencia de Cartagena, moved).
            (d(2026, 11, 13), d(2026, 11, 19)),
        ];
        for (from, due) in cases {
            assert_eq!(add_business_days(from, 3), due, "from {from}");
        }
    }

    #[test]
    fn waiting_for_the_user_stops_the_clock_and_a_reply_restarts_it() {
        let opened = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap(); // Monday
        let mut t = Ticket::open(
            TicketId::from_number(8),
            "s".into(),
            BTreeMap::new(),
            Priority::Normal,
            None,
            opened,
        );
        assert_eq!(t.due, d(2026, 11, 26));
        let later = Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap(); // Tuesday after
        assert!(t.is_overdue(later));
        t.answer("ana", false, opened).unwrap();
        assert!(!t.is_overdue(later), "waiting for the user is not overdue");
        assert!(!t.user_replied(later) || t.status == Status::Open);
        assert_eq!(t.status, Status::Open);
        // Tuesday 1 Dec + 3 business days; Tue 8 Dec is a holiday but is after.
        assert_eq!(t.due, d(2026, 12, 4));
        assert!(!t.user_replied(later), "only a waiting case changes");
        assert_eq!(
            Status::parse("esperando_usuario"),
            Some(Status::WaitingUser)
        );
        assert_eq!(Status::parse("otro"), None);
    }

    #[test]
    fn lifecycle() {
        let now = Utc::now();
        let mut t = Ticket::open(
            TicketId::from_number(7),
            "s".into(),
            BTreeMap::new(),
            Priority::Normal,
            None,
            now,
        );
        assert_eq!(t.id.as_str(), "SB-000007");
        t.claim("ana", now).unwrap();
        assert_eq!(t.status, Status::InProgress);
        t.release(now).unwrap();
        assert_eq!(t.status, Status::Open);
        t.answer("ana", false, now).unwrap();
        assert_eq!(t.status, Status::WaitingUser);
        t.answer("ana", true, now).unwrap();
        assert_eq!(t.status, Status::InProgress);
        t.resolve("ana", "listo", now).unwrap();
        assert!(t.claim("luis", now).is_err());
        assert!(t.answer("luis", false, now).is_err());
        assert_eq!(TicketId::parse("sb-000007").unwrap(), t.id);
        assert!(TicketId::parse("SB-").is_err());
    }
}
