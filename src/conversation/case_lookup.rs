//! Following up a case from any browser: after the `estado-de-caso` entry, a
//! user whose conversation has no case of its own is asked for the case number
//! and then the e-mail the case was opened with; both must match before the
//! status and the agents' replies are shown (`Hub::case_lookup_reply`).
//!
//! Why both: the number alone is short and sequential (`SB-000123`), so anyone
//! could read anyone's case; the e-mail is the second factor the user already
//! has. Failed matches are counted per conversation and bounded.

use serde_json::json;

use super::bot::{is_cancel, Bot, Effects};
use super::reply::{Reply, ReplyKind};
use super::state::{CaseLookup, ConversationState};
use crate::flows::{validate, InputKind};
use crate::tickets::TicketId;

/// Failed follow-ups one conversation may make; then it must ask a person.
pub const MAX_LOOKUP_FAILURES: u8 = 5;

/// The value of the "Responder al caso" button a verified follow-up offers,
/// followed by the case number.
pub const REPLY_PREFIX: &str = "responder-caso:";

impl Bot<'_> {
    /// After the `estado-de-caso` answer: offers to look the case up here.
    pub(super) fn start_lookup(&self, state: &mut ConversationState, out: &mut Vec<Reply>) {
        if state.lookup_failures >= MAX_LOOKUP_FAILURES {
            out.push(Reply::bot(
                ReplyKind::Notice,
                self.render.reply("case_lookup_locked", &json!({})),
            ));
            return;
        }
        state.lookup = Some(CaseLookup::Number);
        out.push(Reply::bot(
            ReplyKind::Notice,
            self.render.reply("case_lookup_number", &json!({})),
        ));
    }

    /// "Responder al caso" under a verified follow-up: the next text goes to
    /// that case. Returns false for any other button.
    pub(super) fn choose_lookup(
        &self,
        state: &mut ConversationState,
        value: &str,
        out: &mut Vec<Reply>,
    ) -> bool {
        let Some(id) = value.strip_prefix(REPLY_PREFIX) else {
            return false;
        };
        state.lookup = Some(CaseLookup::Reply { id: id.to_owned() });
        out.push(Reply::bot(
            ReplyKind::Notice,
            self.render.reply("case_reply_prompt", &json!({ "id": id })),
        ));
        true
    }

    /// A typed answer while a follow-up waits for one. Returns false when the
    /// text is not an answer to it (a new question): the follow-up is dropped
    /// and the text is understood as usual.
    pub(super) fn lookup_text(
        &self,
        state: &mut ConversationState,
        text: &str,
        effects: &mut Effects,
        out: &mut Vec<Reply>,
    ) -> bool {
        let Some(step) = state.lookup.take() else {
            return false;
        };
        if is_cancel(text) {
            out.push(Reply::bot(
                ReplyKind::Notice,
                self.render.reply("case_lookup_cancelled", &json!({})),
            ));
            return true;
        }
        match step {
            CaseLookup::Number => {
                let Some(id) = case_number(text) else {
                    return false;
                };
                state.lookup = Some(CaseLookup::Email { id: id.to_string() });
                out.push(Reply::bot(
                    ReplyKind::Notice,
                    self.render
                        .reply("case_lookup_email", &json!({ "id": id.as_str() })),
                ));
                true
            }
            CaseLookup::Reply { id } => {
                effects.case_reply = Some((id, text.trim().to_owned()));
                true
            }
            CaseLookup::Email { id } => {
                match validate::check(InputKind::Email, text, &state.fields) {
                    Ok(email) => {
                        effects.case_lookup = Some((id, email));
                        true
                    }
                    // A question typed instead of an address: answered as usual.
                    Err(_) if text.split_whitespace().count() >= 3 => false,
                    Err(reason) => {
                        out.push(Reply::bot(ReplyKind::Notice, reason));
                        state.lookup = Some(CaseLookup::Email { id });
                        true
                    }
                }
            }
        }
    }
}

/// A case number in `text`: `SB-000123`, `sb 123`, `#123` or the digits
/// alone; `None` when there is none or more than one.
pub fn case_number(text: &str) -> Option<TicketId> {
    let upper = text.to_uppercase();
    let mut found: Vec<u64> = Vec::new();
    let bytes = upper.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            // Part of a word such as an e-mail or a process number: not a case.
            let before = upper[..start].trim_end_matches([' ', '-', '#', '.', ':']);
            let glued =
                start > 0 && bytes[start - 1].is_ascii_alphanumeric() && !before.ends_with("SB");
            let digits = &upper[start..i];
            if !glued && digits.len() <= 9 {
                if let Ok(n) = digits.parse::<u64>() {
                    found.push(n);
                }
            }
        } else {
            i += 1;
        }
    }
    match found.as_slice() {
        [n] if *n > 0 => Some(TicketId::from_number(*n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_numbers_are_read_however_they_are_typed() {
        for (text, id) in [
            ("SB-000123", "SB-000123"),
            ("sb-123", "SB-000123"),
            ("es el SB 45", "SB-000045"),
            ("#7", "SB-000007"),
            ("mi caso es el 000031.", "SB-000031"),
            ("  12  ", "SB-000012"),
        ] {
            assert_eq!(
                case_number(text).map(|t| t.to_string()),
                Some(id.to_owned()),
                "{text}"
            );
        }
        for text in [
            "no lo tengo",
            "SB-0",
            "el 12 o el 13",
            "abc123",
            "1234567890123",
            "",
        ] {
            assert_eq!(case_number(text), None, "{text}");
        }
    }
}
