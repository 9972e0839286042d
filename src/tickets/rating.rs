//! The user's satisfaction rating of a resolved case: a score from 1 to 5 and
//! an optional comment, given once, only after an agent resolved the case.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Status, Ticket};

/// Longest comment kept with a rating, in characters.
pub const MAX_COMMENT: usize = 1000;

/// How the user rated the attention on a case.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rating {
    /// 1 (bad) to 5 (excellent).
    pub score: u8,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// Why a rating was refused.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum RatingRefused {
    #[error("the score must be a whole number from 1 to 5")]
    BadScore,
    #[error("the comment is longer than {MAX_COMMENT} characters")]
    CommentTooLong,
    #[error("the conversation has no resolved case to rate")]
    NotResolved,
    #[error("the case was already rated")]
    AlreadyRated,
}

impl Rating {
    /// A checked rating; a blank comment counts as none.
    ///
    /// # Errors
    /// A score outside 1–5 or a comment past [`MAX_COMMENT`].
    pub fn new(
        score: i64,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, RatingRefused> {
        let score = u8::try_from(score)
            .ok()
            .filter(|s| (1..=5).contains(s))
            .ok_or(RatingRefused::BadScore)?;
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT) {
            return Err(RatingRefused::CommentTooLong);
        }
        Ok(Rating {
            score,
            comment: comment.map(str::to_owned),
            at: now,
        })
    }
}

impl Ticket {
    /// Whether the user may rate this case now: resolved and not rated yet.
    pub fn rating_due(&self) -> bool {
        self.status == Status::Resolved && self.rating.is_none()
    }

    /// Records the user's rating.
    ///
    /// # Errors
    /// When the case is not resolved, or was already rated.
    pub fn rate(&mut self, rating: Rating) -> Result<(), RatingRefused> {
        if self.status != Status::Resolved {
            return Err(RatingRefused::NotResolved);
        }
        if self.rating.is_some() {
            return Err(RatingRefused::AlreadyRated);
        }
        self.rating = Some(rating);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::{Priority, TicketId};

    fn ticket() -> Ticket {
        Ticket::open(
            TicketId::from_number(7),
            "s".into(),
            Default::default(),
            Priority::Normal,
            None,
            Utc::now(),
        )
    }

    #[test]
    fn scores_outside_one_to_five_and_long_comments_are_refused() {
        let now = Utc::now();
        for bad in [0, 6, -1, 300] {
            assert_eq!(Rating::new(bad, None, now), Err(RatingRefused::BadScore));
        }
        let long = "a".repeat(MAX_COMMENT + 1);
        assert_eq!(
            Rating::new(3, Some(&long), now),
            Err(RatingRefused::CommentTooLong)
        );
        let r = Rating::new(5, Some("  "), now).unwrap();
        assert_eq!((r.score, r.comment), (5, None));
    }

    #[test]
    fn only_a_resolved_case_is_rated_and_only_once() {
        let now = Utc::now();
        let mut t = ticket();
        let r = Rating::new(4, Some("Muy amable"), now).unwrap();
        assert_eq!(t.rate(r.clone()), Err(RatingRefused::NotResolved));
        t.resolve("ana", "listo", now).unwrap();
        assert!(t.rating_due());
        t.rate(r.clone()).unwrap();
        assert!(!t.rating_due());
        assert_eq!(t.rate(r), Err(RatingRefused::AlreadyRated));
        assert_eq!(t.rating.as_ref().map(|r| r.score), Some(4));
    }
}
