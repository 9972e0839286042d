//! Rules applied to a fused ranking before it is decided: a target the
//! question contradicts, a security flow under a question of prevention, a
//! SECOP II entry under a question about SECOP I. Each lowers or drops
//! candidates and ranks again; `ask --explain` names the rule under the
//! candidate it touched.

use super::index::{Hit, Target};
use super::role::{self, Role};
use super::{analyzer, decide, platform, prevention, Knowledge, CONTRADICTED, OTHER_SIDE};

impl Knowledge {
    /// Whether `target` is a security flow (`priority: alta`: an intrusion,
    /// an unrequested e-mail), for an incident that happened.
    pub(super) fn is_incident(&self, target: Target) -> bool {
        match target {
            Target::Flow(i) => self
                .flows
                .get(i)
                .is_some_and(|f| f.priority == crate::tickets::Priority::Alta),
            _ => false,
        }
    }

    /// Under a question of prevention, lowers the security flows
    /// ([`Knowledge::is_incident`]) and ranks again (see [`prevention`]).
    pub(super) fn demote_incidents_when_preventing(&self, text: &str, hits: &mut [Hit]) {
        if !hits.iter().any(|h| self.is_incident(h.target))
            || !prevention::asks_how_to_prevent(text)
        {
            return;
        }
        for hit in hits.iter_mut() {
            if self.is_incident(hit.target) {
                hit.confidence *= CONTRADICTED;
            }
        }
        hits.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    }

    /// When the message says which side of the procurement it is written
    /// from and the leading candidates hold entries of both sides (the two
    /// halves of one step), lowers the other side's entries and ranks again
    /// (see [`role`]); gives the speaker's side when it did. An entry for
    /// both sides sits in neither group, and a side's entry with no
    /// counterpart near is left alone.
    pub(super) fn demote_the_other_side(&self, text: &str, hits: &mut [Hit]) -> Option<Role> {
        let speaker = self.side_in_contention(text, hits)?;
        for hit in hits.iter_mut() {
            if self.for_the_other_side(speaker, hit.target) {
                hit.confidence *= OTHER_SIDE;
            }
        }
        hits.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        Some(speaker)
    }

    /// The speaker's side of `text` (see [`role::speaker`]), when the first
    /// [`decide::LEADING`] of `hits` hold an entry of each side. Cheap
    /// first: the text is read only when both sides lead.
    fn side_in_contention(&self, text: &str, hits: &[Hit]) -> Option<Role> {
        let leading = &hits[..hits.len().min(decide::LEADING)];
        let leads = |side: Role| leading.iter().any(|h| self.side_of(h.target) == Some(side));
        if !(leads(Role::Entity) && leads(Role::Supplier)) {
            return None;
        }
        role::speaker(text)
    }

    /// Whether `target` is an entry written for the side other than `speaker`'s.
    pub(super) fn for_the_other_side(&self, speaker: Role, target: Target) -> bool {
        self.side_of(target) == Some(speaker.other())
    }

    /// The side an entry is written for, from its `faq/` group (see
    /// [`Role::of_group`]); `None` for other groups, flows and phrases.
    fn side_of(&self, target: Target) -> Option<Role> {
        match target {
            Target::Entry(i) => self
                .entries
                .get(i)?
                .group
                .as_deref()
                .and_then(Role::of_group),
            _ => None,
        }
    }

    /// Under a question that names SECOP I alone, drops the entries and
    /// flows whose text never speaks of SECOP I: their steps are SECOP II's,
    /// and answering them would be confidently wrong (see [`platform`]). The
    /// best of them stays second, as a rival that can only be offered. Only
    /// the written question counts when context surrounds it: «En SECOP I
    /// buscábamos por constancia. ¿Cómo encuentro un proceso?» asks about
    /// SECOP II.
    pub(super) fn drop_secop_two_when_secop_one(&self, text: &str, hits: &mut Vec<Hit>) {
        if !asks_about_secop_one_only(text) {
            return;
        }
        let (kept, dropped): (Vec<Hit>, Vec<Hit>) = std::mem::take(hits)
            .into_iter()
            .partition(|hit| !self.is_secop_two_only(hit.target));
        *hits = kept;
        // The best SECOP II match stays as the leader's rival, never above
        // it: without it, dropping the close candidates would make a weak
        // SECOP I leader look far ahead of the rest.
        let Some(top) = hits.first().map(|h| h.confidence) else {
            return;
        };
        if let Some(mut rival) = dropped
            .into_iter()
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
        {
            rival.confidence = rival.confidence.min(top);
            let at = hits
                .iter()
                .skip(1)
                .position(|h| h.confidence < rival.confidence)
                .map_or(hits.len(), |p| p + 1);
            hits.insert(at, rival);
        }
    }

    /// Whether `target` is an entry or flow whose text never names SECOP I.
    pub(super) fn is_secop_two_only(&self, target: Target) -> bool {
        !matches!(target, Target::OutOfScope(_))
            && !self
                .names_secop_one()
                .get(self.ordinal(target))
                .copied()
                .unwrap_or(false)
    }

    /// By ordinal (entries, then flows), whether the target's own text (title,
    /// phrasings, answer) names SECOP I; read once per snapshot.
    fn names_secop_one(&self) -> &[bool] {
        self.names_secop_one.get_or_init(|| {
            let entries = self.entries.iter().map(|e| {
                std::iter::once(&e.title)
                    .chain(&e.questions)
                    .chain(std::iter::once(&e.body))
                    .any(|t| platform::named(t).one)
            });
            let flows = self.flows.iter().map(|f| {
                std::iter::once(&f.title)
                    .chain(&f.triggers)
                    .any(|t| platform::named(t).one)
            });
            entries.chain(flows).collect()
        })
    }

    /// Lowers the targets the question contradicts and ranks again: one that
    /// says the user did what a target's phrasings say they did not ("ya
    /// pedí tres veces el restablecimiento" against "un correo que no
    /// solicité") is not about that target, however many words they share.
    /// Only the user's own acts count: first-person verbs ("pedí",
    /// "solicité", "pedimos"), not "alguien solicitó" or "un mensaje
    /// pidiendo…". The mirror counts too: a question that says something
    /// does not happen ("no me llega el correo") is not about a target whose
    /// phrasings say it does ("me llegan correos que no pedí"), when another
    /// target is about it not happening (see `SearchIndex::negated_assertion`).
    pub(super) fn demote_contradicted(&self, text: &str, terms: &[String], hits: &mut [Hit]) {
        // Cheap first: does the query hold, un-negated, a term some hit denies?
        let negates = |h: &Hit| {
            self.index
                .negated_assertion(self.ordinal(h.target), terms)
                .is_some()
        };
        if !hits.iter().any(|h| {
            negates(h)
                || self
                    .index
                    .contradicted_term(self.ordinal(h.target), terms, terms)
                    .is_some()
        }) {
            return;
        }
        let affirmed = self.affirmed_terms(text);
        let mut demoted = false;
        for hit in hits.iter_mut() {
            let ordinal = self.ordinal(hit.target);
            if negates(hit)
                || self
                    .index
                    .contradicted_term(ordinal, &affirmed, terms)
                    .is_some()
            {
                hit.confidence *= CONTRADICTED;
                demoted = true;
            }
        }
        if demoted {
            hits.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        }
    }

    /// The terms of the speaker's own acts in `text` ("pedí" → solicit), see
    /// [`analyzer::first_person_verbs`].
    pub(super) fn affirmed_terms(&self, text: &str) -> Vec<String> {
        analyzer::first_person_verbs(text)
            .flat_map(|w| self.index.query_terms(&w))
            .collect()
    }
}

/// Whether the question of `text` names SECOP I and not SECOP II: the
/// written question when context surrounds it, else the whole message.
pub(super) fn asks_about_secop_one_only(text: &str) -> bool {
    // Cheap first: the written question is part of the text, so a text that
    // never names SECOP I needs no reading by clauses.
    if !platform::named(text).one {
        return false;
    }
    match decide::written_question(text) {
        Some(question) => platform::named(&question).only_one(),
        None => platform::named(text).only_one(),
    }
}
