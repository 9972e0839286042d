//! From ranked hits to what the bot does: answer, offer choices or fall back;
//! and, for a message that asks several things, which one to answer first.
//!
//! A long message is read twice: whole, and clause by clause (split at
//! question marks, sentence ends and "además"/"también"; not where a comma
//! joins context to its question: "me adjudicaron…, ¿cómo lo firmo?"). The whole message
//! decides unless the clauses ask different clear questions, or several
//! questions are written and one is clear; then the first clear one is
//! answered and the others are offered ("También preguntó: …"), so neither
//! the later nor the louder clause wins. When some clauses are written as
//! questions ("¿…?"), even one too short to rank alone ("¿Qué hago?"), the
//! sentences around them are context; a last one that opens as a question
//! after a written one ("¿…? y la tienda q tiene q ver") is a question too.
//! A message that is not clear whole and opens with a self-introduction
//! ("Soy rector de…, ¿…?") is read again without it.

use super::index::{Hit, Target};
use super::verdict::AnswerRule;
use super::{analyzer, Knowledge, Ranking, Signals, Thresholds, Topic};
/// Questions remembered per snapshot; the cache is emptied when full.
const DECISION_CACHE: usize = 4096;
/// Most other questions offered from one message.
const MAX_ALSO: usize = 2;
/// A clause needs this many words to be a question of its own.
const MIN_CLAUSE_WORDS: usize = 3;

/// What the bot should do with a question.
#[derive(Debug, Clone)]
pub enum Decision<'a> {
    Answer {
        topic: Topic<'a>,
        confidence: f32,
    },
    Suggest(Vec<Topic<'a>>),
    /// No answer; `out_of_scope` is the `fuera-de-alcance.txt` phrase the
    /// question matched, if any (its advice: [`Knowledge::out_of_scope_advice`]).
    Fallback {
        out_of_scope: Option<usize>,
    },
}

/// A message understood: what to do first, and the other clear questions it
/// asked, to offer as buttons.
#[derive(Debug, Clone)]
pub struct Understanding<'a> {
    pub decision: Decision<'a>,
    pub also: Vec<Topic<'a>>,
    /// For a refusal that matched no out-of-scope phrase: the one candidate
    /// that came near (confidence at least the suggest threshold, alone
    /// there), offered as «el tema más parecido» rather than answered.
    pub nearest: Option<Topic<'a>>,
}

/// An understanding without borrowed topics, so it can be cached.
#[derive(Debug, Clone)]
pub(super) struct Cached {
    decision: CachedDecision,
    also: Vec<Target>,
    nearest: Option<Target>,
}

#[derive(Debug, Clone)]
enum CachedDecision {
    Answer(Target, f32),
    Suggest(Vec<Target>),
    Fallback(Option<usize>),
}

/// A sentence of a message that could be a question of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Lower-cased, trimmed.
    pub text: String,
    /// Written as a question ("¿…?", "…?").
    pub marked: bool,
    /// A sentence around a question written as such, even a short one
    /// ("…Yo estaba dormido. … ¿Qué hago?"): context, never a question of
    /// its own.
    pub context: bool,
    /// Which sentence of the message it is in ("y además" splits one).
    pub sentence: usize,
}

/// Words that join two questions in one sentence («…y además…», «olvidé la
/// clave y otra cosa, ¿se puede cambiar el correo?», «…otra pregunta…»),
/// lowercased, with the spaces around them.
const QUESTION_JOINERS: &[&str] = &[
    " y además ",
    " y ademas ",
    " además ",
    " y también ",
    " y tambien ",
    " y otra cosa",
    " otra cosa,",
    " otra pregunta",
    " otra duda",
    " aparte de eso",
    " por otro lado",
];

/// The question `text` writes as such, when sentences of context surround
/// it (its clauses joined by «. »); `None` when the whole message is the
/// question.
pub fn written_question(text: &str) -> Option<String> {
    let parts = clauses(text);
    let question: Vec<&str> = parts
        .iter()
        .filter(|p| !p.context)
        .map(|p| p.text.as_str())
        .collect();
    (parts.iter().any(|p| p.context) && !question.is_empty()).then(|| question.join(". "))
}

/// The clauses of a message that could be questions of their own, in order.
pub fn clauses(text: &str) -> Vec<Clause> {
    // Each sentence, and whether it is marked as a question.
    let mut parts: Vec<(String, bool)> = Vec::new();
    let mut current = String::new();
    let mut opened = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        // "Me adjudicaron el contrato, ¿cómo lo firmo?": what comes before a
        // comma and the opening mark is the question's context, one sentence.
        let context = matches!(c, '¿' | '¡') && current.trim_end().ends_with([',', ':']);
        // A stop inside a token ends no sentence: a process number
        // ("CO1.REQ.123456"), an address, an amount ("1.500.000").
        let inside_a_token = c == '.'
            && current.chars().last().is_some_and(char::is_alphanumeric)
            && chars.peek().is_some_and(|n| n.is_alphanumeric());
        if inside_a_token {
            current.push(c);
        } else if context {
            current.push(' ');
            opened |= c == '¿';
        } else if matches!(c, '?' | '¿' | '.' | '!' | '¡' | ';' | '\n') {
            parts.push((std::mem::take(&mut current), opened || c == '?'));
            opened = c == '¿';
        } else {
            current.push(c);
        }
    }
    parts.push((current, opened));
    let mut out = Vec::new();
    for (sentence, (part, marked)) in parts.into_iter().enumerate() {
        // "…y además…", "…y también…", "…y otra cosa, …" join two
        // questions in one sentence.
        let lower = part.to_lowercase();
        let mut rest = lower.as_str();
        loop {
            let cut = QUESTION_JOINERS
                .iter()
                .filter_map(|sep| rest.find(sep).map(|i| (i, sep.len())))
                .min();
            let (clause, next) = match cut {
                Some((i, len)) => (&rest[..i], Some(&rest[i + len..])),
                None => (rest, None),
            };
            out.push(Clause {
                text: clause.trim_matches([' ', ',', ':']).to_owned(),
                marked,
                context: false,
                sentence,
            });
            match next {
                Some(next) => rest = next,
                None => break,
            }
        }
    }
    // A follow-up after a written question often loses its closing mark
    // ("¿…entre secop 1 y secop 2? y la tienda q tiene q ver"): a last
    // sentence that opens as a question asks one; it is not context.
    let any_marked = out.iter().any(|c| c.marked && !c.text.is_empty());
    if let Some(last) = out.last_mut().filter(|_| any_marked) {
        last.marked |= opens_as_a_question(&last.text);
    }
    // Decided before short clauses go: a story that ends in "¿Qué hago?"
    // still asks in writing, so its sentences are context.
    for c in &mut out {
        c.context = any_marked && !c.marked;
    }
    out.retain(|c| analyzer::words(&c.text).count() >= MIN_CLAUSE_WORDS);
    out
}

/// Folded words of a greeting or a preamble before a self-introduction
/// («buenas tardes, le escribo…», «mi nombre es…»).
const PREAMBLE: &[&str] = &[
    "hola", "buenas", "buenos", "buen", "dias", "dia", "tardes", "noches", "saludos", "cordial",
    "saludo", "senores", "senor", "senora", "ome", "oiga", "le", "les", "te", "me", "mi",
];

/// Folded words that open a self-introduction («soy…», «somos…», «le
/// escribo de…», «trabajo en…», «me comunico de…», «mi nombre es…»).
const INTRODUCTION_OPENERS: &[&str] = &[
    "soy",
    "somos",
    "escribo",
    "trabajo",
    "trabajamos",
    "hablo",
    "comunico",
    "nombre",
];

/// Folded words that start the request after an introduction typed without
/// a stop («soy contratista de la gobernación necesito saber dónde…»).
const ASKING_STARTS: &[&str] = &[
    "como",
    "donde",
    "cual",
    "necesito",
    "necesitamos",
    "quiero",
    "queremos",
    "quisiera",
    "quisieramos",
    "requiero",
    "requerimos",
    "deseo",
    "deseamos",
];

/// How many of the whole message's leading candidates a part of it read
/// alone (the question after an introduction, or buried in a story) must
/// answer one of.
pub(super) const LEADING: usize = 3;

/// How far behind the whole message's leader a part's topic may be and still
/// be answered (see [`Knowledge::leads`]).
pub(super) const LEAD_GAP: f32 = 0.15;

/// Words read before giving up on finding where an introduction ends.
const MAX_INTRODUCTION_WORDS: usize = 30;

/// What a message says after its opening self-introduction, which ends at
/// the first comma, colon, semicolon, stop or question mark ("Le escribo de
/// una personería municipal: ¿cómo…?" → "¿cómo…?"), or before a word of
/// [`ASKING_STARTS`] ("soy rector de un colegio como hacemos…" → "como
/// hacemos…"); `None` when the message
/// does not open with one (after greetings) or nothing of
/// [`MIN_CLAUSE_WORDS`] words follows it.
pub fn after_introduction(text: &str) -> Option<&str> {
    let mut words = 0;
    // How many words came before the introduction's opener, once seen.
    let mut opener_at: Option<usize> = None;
    let mut word_start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(start) = word_start.take() {
            let word = analyzer::fold(&text[start..i]);
            match opener_at {
                None if INTRODUCTION_OPENERS.contains(&word.as_str()) => opener_at = Some(words),
                None if !PREAMBLE.contains(&word.as_str()) => return None,
                Some(at) if words - at >= 2 && ASKING_STARTS.contains(&word.as_str()) => {
                    let rest = &text[start..];
                    return (analyzer::words(rest).count() >= MIN_CLAUSE_WORDS).then_some(rest);
                }
                _ => {}
            }
            words += 1;
        }
        if opener_at.is_some() && matches!(c, ',' | ':' | ';' | '.' | '¿' | '?') {
            let rest = text[i..].trim_start_matches([',', ':', ';', '.', ' ']);
            return (analyzer::words(rest).count() >= MIN_CLAUSE_WORDS).then_some(rest);
        }
        if words > MAX_INTRODUCTION_WORDS {
            return None;
        }
    }
    None
}

/// Words a question opens with, folded ("q" is how chats write "qué").
const QUESTION_OPENERS: &[&str] = &[
    "que", "q", "como", "cual", "cuales", "donde", "cuando", "quien", "quienes", "cuanto",
    "cuanta", "cuantos", "cuantas", "porque",
];

/// Whether `clause`, following a written question, opens as another one:
/// with a question word or "por qué" ("cómo la envío"), or joined by "y"/"e"
/// ("y la tienda q tiene q ver"); not a remark ("no me deja entrar").
fn opens_as_a_question(clause: &str) -> bool {
    let words: Vec<String> = analyzer::words(clause)
        .map(|w| analyzer::fold(&w))
        .collect();
    match words.as_slice() {
        [first, ..] if first == "y" || first == "e" => true,
        [first, second, ..] if first == "por" => matches!(second.as_str(), "que" | "q"),
        [first, ..] => QUESTION_OPENERS.contains(&first.as_str()),
        [] => false,
    }
}

impl Knowledge {
    /// Decides how to respond to a question.
    pub fn decide(&self, text: &str) -> Decision<'_> {
        self.understand(text).decision
    }

    /// Decides how to respond to a message, and which other clear questions it
    /// asked (see the module docs). Cached per snapshot.
    pub fn understand(&self, text: &str) -> Understanding<'_> {
        let parts = clauses(text);
        let key: String = parts
            .iter()
            .map(|c| {
                let words = analyzer::words(&c.text).collect::<Vec<_>>().join(" ");
                if c.marked {
                    words + "?"
                } else {
                    words
                }
            })
            .collect::<Vec<_>>()
            .join(" | ");
        let key = if key.is_empty() {
            analyzer::words(text).collect::<Vec<_>>().join(" ")
        } else {
            key
        };
        let cached = self
            .decisions
            .lock()
            .ok()
            .and_then(|c| c.get(&key).cloned());
        if let Some(understanding) = cached.and_then(|c| self.expand(c)) {
            return understanding;
        }
        let understanding = self.understand_parts(text, &parts);
        if let Ok(mut cache) = self.decisions.lock() {
            if cache.len() >= DECISION_CACHE {
                cache.clear();
            }
            cache.insert(key, self.compact(&understanding));
        }
        understanding
    }

    /// [`Knowledge::understand`] without the cache: what a question never
    /// asked before costs (benchmarks, diagnostics).
    pub fn understand_uncached(&self, text: &str) -> Understanding<'_> {
        self.understand_parts(text, &clauses(text))
    }

    /// The message `text`, already split into its [`clauses`].
    fn understand_parts(&self, text: &str, parts: &[Clause]) -> Understanding<'_> {
        if let Some(topic) = self.handoff(text) {
            // «¿…? Si no se puede por aquí, que me llame un asesor»: a clear
            // question is answered, and the person it was conditioned on offered.
            if let Some((mut understanding, _)) = self.conditioned_handoff(text) {
                understanding.also.insert(0, topic);
                understanding.also.truncate(MAX_ALSO);
                return understanding;
            }
            return Understanding {
                decision: Decision::Answer {
                    topic,
                    confidence: 1.0,
                },
                also: Vec::new(),
                nearest: None,
            };
        }
        let ranking = self.rank(text);
        // The password of another system is refused whatever its words share
        // with SECOP II's password entries (see [`super::credential`]), with
        // the advice of the nearest out-of-scope phrase; its clear clauses
        // are still offered.
        let other_system = self.index.names_another_system(text);
        let whole = if other_system {
            let out_of_scope = ranking.hits.iter().find_map(|h| match h.target {
                Target::OutOfScope(i) => Some(i),
                _ => None,
            });
            Decision::Fallback { out_of_scope }
        } else {
            self.decide_from(&ranking)
        };
        if !other_system {
            if let Some((understanding, _)) = self.introduced_question(text, &ranking) {
                return understanding;
            }
        }
        if parts.len() < 2 {
            let nearest = self.nearest(&ranking, &whole, other_system);
            return Understanding {
                decision: whole,
                also: Vec::new(),
                nearest,
            };
        }
        // The clear questions, in the order they were asked, each topic once.
        // When some are written as questions ("¿…?"), only those count: the
        // sentences around them are their context ("Un proveedor se hace
        // pasar por nuestra empresa. ¿Podemos pedir que le cancelen el
        // usuario?").
        let mut clear: Vec<(Topic<'_>, f32)> = Vec::new();
        for part in parts.iter().filter(|p| !p.context) {
            if let Decision::Answer { topic, confidence } = self.decide_from(&self.rank(&part.text))
            {
                if !clear.iter().any(|(t, _)| t.id() == topic.id()) {
                    clear.push((topic, confidence));
                }
            }
        }
        // Sentences written as questions.
        let mut written: Vec<usize> = parts
            .iter()
            .filter(|p| p.marked && !p.context)
            .map(|p| p.sentence)
            .collect();
        written.dedup();
        let mut offer_whole = None;
        let decision = match (&whole, clear.first()) {
            _ if other_system => whole,
            // Several different clear questions: the first one asked goes first.
            (_, Some((first, confidence))) if clear.len() >= 2 => Decision::Answer {
                topic: *first,
                confidence: *confidence,
            },
            // Several written questions, one of them clear: read whole, the
            // message mixes them, and the louder one wins ("¿Cómo subo la
            // póliza? y cuánto se demora la entidad en aprobarla" is about
            // the approval). The clear one goes first; the whole's answer is
            // offered.
            (Decision::Answer { topic, .. }, Some((first, confidence))) if written.len() >= 2 => {
                offer_whole = Some(*topic);
                Decision::Answer {
                    topic: *first,
                    confidence: *confidence,
                }
            }
            // The whole message is clear: it has the context a clause lacks
            // ("me llegó un correo de recuperación… yo no lo pedí").
            (Decision::Answer { .. }, _) => whole,
            // The whole message is about another service, which a later
            // clause may be what says ("¿cómo cambio la clave del correo
            // institucional? Es de Google Workspace"): the one clear clause is
            // only offered.
            (
                Decision::Fallback {
                    out_of_scope: Some(_),
                },
                _,
            ) => whole,
            // A long story whose one clear question is buried in it, when
            // the whole message leans that way too: a clause read alone
            // loses what its pronouns point to («Ya entré con mi usuario,
            // ¿qué pasos sigo para aprobarlo?» is about the contract of the
            // sentence before, not about someone entering an account).
            (_, Some((first, confidence))) if self.leads(&ranking, first) => Decision::Answer {
                topic: *first,
                confidence: *confidence,
            },
            (_, _) => whole,
        };
        let answered = match &decision {
            Decision::Answer { topic, .. } => Some(topic.id().to_owned()),
            _ => None,
        };
        clear.extend(offer_whole.map(|t| (t, 0.0)));
        let also = clear
            .into_iter()
            .map(|(t, _)| t)
            .filter(|t| Some(t.id()) != answered.as_deref())
            .take(MAX_ALSO)
            .collect::<Vec<_>>();
        let nearest = self
            .nearest(&ranking, &decision, other_system)
            .filter(|n| !also.iter().any(|t| t.id() == n.id()));
        Understanding {
            decision,
            also,
            nearest,
        }
    }

    /// The nearest topic of a refusal (see [`Understanding::nearest`]): the
    /// whole message's leader, when the decision refused without an
    /// out-of-scope phrase, the message has a word that is not generic, it
    /// names no other system's credential, and the leader is an entry or a
    /// flow other than the escalation (a person is offered anyway) with
    /// confidence at least the suggest threshold.
    fn nearest(
        &self,
        ranking: &Ranking,
        decision: &Decision<'_>,
        other_system: bool,
    ) -> Option<Topic<'_>> {
        if other_system
            || !ranking.signals.specific
            || !matches!(decision, Decision::Fallback { out_of_scope: None })
        {
            return None;
        }
        let top = ranking
            .hits
            .first()
            .filter(|h| h.confidence >= self.thresholds.suggest)?;
        self.target_topic(top.target)
            .filter(|t| t.id() != super::ESCALATION_FLOW)
    }

    /// Whether `topic` is among the [`LEADING`] candidates of
    /// the whole message's `ranking`.
    pub(super) fn leads(&self, ranking: &Ranking, topic: &Topic<'_>) -> bool {
        let Some(target) = self.by_id.get(topic.id()).copied() else {
            return false;
        };
        let Some(first) = ranking.hits.first().map(|h| h.confidence) else {
            return false;
        };
        ranking
            .hits
            .iter()
            .take(LEADING)
            .any(|h| h.target == target && first - h.confidence <= LEAD_GAP)
    }

    /// What a message asks after its self-introduction, when that is clear
    /// (an answer), with the text it was read from (see
    /// [`after_introduction`]). Who writes («soy rector de una institución
    /// educativa oficial», «le escribo de una personería municipal») is
    /// context: its words, which no entry holds, dilute every candidate of
    /// the whole message, and words some entry does hold («soy contratista
    /// persona natural, …») pull the whole message to that entry. The rest
    /// decides only when it names a leading candidate of the whole message,
    /// so a role that decides the topic («soy proveedor, ¿cómo apruebo el
    /// contrato?») still counts.
    pub(super) fn introduced_question<'t>(
        &self,
        text: &'t str,
        whole: &Ranking,
    ) -> Option<(Understanding<'_>, &'t str)> {
        let rest = after_introduction(text)?;
        let understanding = self.understand_parts(rest, &clauses(rest));
        let Decision::Answer { topic, .. } = &understanding.decision else {
            return None;
        };
        // The introduction dilutes the question, or pulls it to a topic its
        // own words hold; it does not change the question's topic: what the
        // rest answers was a leading candidate of the whole message already.
        self.leads(whole, topic).then_some((understanding, rest))
    }

    /// What a message asks before a request for a person conditioned on the
    /// answer («…, ¿qué hago? Si no tienen solución, que me contacte un
    /// técnico»), when that question is clear, with the text it was read
    /// from (see [`super::handoff::conditional_request`]). The user asked
    /// first; the person is for when the answer does not help.
    pub(super) fn conditioned_handoff<'t>(
        &self,
        text: &'t str,
    ) -> Option<(Understanding<'_>, &'t str)> {
        let question = text[..super::handoff::conditional_request(text)?].trim_end();
        let understanding = self.understand_parts(question, &clauses(question));
        matches!(understanding.decision, Decision::Answer { .. })
            .then_some((understanding, question))
    }

    /// The escalation flow, when `text` asks for a person or a case (see
    /// [`super::handoff`]), also only in a condition's own clause, and the
    /// folder has the flow.
    pub(super) fn handoff(&self, text: &str) -> Option<Topic<'_>> {
        use super::handoff::{asks_for_case, asks_for_case_in_condition, asks_for_person};
        if !asks_for_person(text) && !asks_for_case(text) && !asks_for_case_in_condition(text) {
            return None;
        }
        self.topic(super::ESCALATION_FLOW)
    }

    fn compact(&self, u: &Understanding<'_>) -> Cached {
        let target = |t: &Topic<'_>| self.by_id.get(t.id()).copied();
        let decision = match &u.decision {
            Decision::Answer { topic, confidence } => match target(topic) {
                Some(t) => CachedDecision::Answer(t, *confidence),
                None => CachedDecision::Fallback(None),
            },
            Decision::Suggest(topics) => {
                CachedDecision::Suggest(topics.iter().filter_map(target).collect())
            }
            Decision::Fallback { out_of_scope } => CachedDecision::Fallback(*out_of_scope),
        };
        Cached {
            decision,
            also: u.also.iter().filter_map(target).collect(),
            nearest: u.nearest.as_ref().and_then(target),
        }
    }

    fn expand(&self, cached: Cached) -> Option<Understanding<'_>> {
        let decision = match cached.decision {
            CachedDecision::Answer(t, confidence) => Decision::Answer {
                topic: self.target_topic(t)?,
                confidence,
            },
            CachedDecision::Suggest(ts) => Decision::Suggest(
                ts.into_iter()
                    .filter_map(|t| self.target_topic(t))
                    .collect(),
            ),
            CachedDecision::Fallback(out_of_scope) => Decision::Fallback { out_of_scope },
        };
        Some(Understanding {
            decision,
            also: cached
                .also
                .into_iter()
                .filter_map(|t| self.target_topic(t))
                .collect(),
            nearest: cached.nearest.and_then(|t| self.target_topic(t)),
        })
    }

    /// The decision for one ranking; [`Knowledge::explain`] words the same
    /// reasoning for editors.
    pub(super) fn decide_from(&self, ranking: &Ranking) -> Decision<'_> {
        self.decide_with(
            &ranking.hits,
            ranking.signals,
            self.thresholds,
            &self.answer_rule,
        )
    }

    /// [`Knowledge::decide_from`] with other thresholds and answer rule, for
    /// calibration: `hits` best first, `signals` those of the question.
    ///
    /// An out-of-scope phrase in the lead refuses with its advice. Otherwise
    /// the leader is answered when the answer rule is sure of it to
    /// `t.answer` or more (for secobot: the probability it is right, see
    /// [`super::verdict`]) and no other candidate is within
    /// `t.margin` of it; failing that, close candidates are offered.
    pub(super) fn decide_with(
        &self,
        hits: &[Hit],
        signals: Signals,
        t: Thresholds,
        rule: &AnswerRule,
    ) -> Decision<'_> {
        let Some(top) = hits.first() else {
            return Decision::Fallback { out_of_scope: None };
        };
        if let Target::OutOfScope(i) = top.target {
            if top.confidence >= t.suggest {
                return Decision::Fallback {
                    out_of_scope: Some(i),
                };
            }
        }
        let margin = rule.margin(hits, t);
        let close: Vec<Topic<'_>> = hits
            .iter()
            .filter(|h| h.confidence >= t.suggest && top.confidence - h.confidence < margin)
            .filter_map(|h| self.target_topic(h.target))
            .take(3)
            .collect();
        let Some(best) = self.target_topic(top.target) else {
            return Decision::Fallback { out_of_scope: None };
        };
        if rule.sureness(hits, signals) >= t.answer && close.len() < 2 {
            return Decision::Answer {
                topic: best,
                confidence: top.confidence,
            };
        }
        if top.confidence >= t.suggest {
            let options: Vec<Topic<'_>> = hits
                .iter()
                .filter(|h| h.confidence >= t.suggest)
                .filter_map(|h| self.target_topic(h.target))
                .take(3)
                .collect();
            if options.len() >= 2 {
                return Decision::Suggest(options);
            }
        }
        Decision::Fallback { out_of_scope: None }
    }

    /// How sure the answer rule is of the leader of `ranking` (for secobot:
    /// the probability that it is right).
    pub(super) fn sureness(&self, ranking: &Ranking) -> f32 {
        self.answer_rule.sureness(&ranking.hits, ranking.signals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_questions_in_one_message_split_into_clauses() {
        let c = clauses("¿Cómo cambio mi clave? Y además, ¿dónde cargo la factura?");
        assert_eq!(c.len(), 2, "{c:?}");
        let c = clauses("no puedo entrar a secop y además necesito subir la oferta hoy");
        assert_eq!(c.len(), 2, "{c:?}");
        // Short interjections are not questions of their own.
        assert_eq!(clauses("Hola. ¿Cómo recupero mi contraseña?").len(), 1);
        assert!(clauses("").is_empty());
        // Context joined to its question by a comma is one sentence.
        let c = clauses("Me adjudicaron el contrato y me llegó un correo, ¿cómo lo firmo?");
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].marked);
        let c = clauses("Soy nuevo en esto: ¿dónde veo los procesos abiertos?");
        assert_eq!(c.len(), 1, "{c:?}");
    }

    #[test]
    fn questions_written_as_such_are_marked_and_the_sentences_around_them_are_not() {
        let marks = |text: &str| clauses(text).iter().map(|c| c.marked).collect::<Vec<_>>();
        assert_eq!(
            marks("Me cambiaron de cargo en la alcaldía. ¿Quién queda como administrador de la cuenta?"),
            [false, true]
        );
        assert_eq!(
            marks("La garantía quedó mal cargada. ¿Cómo la vuelvo a enviar? Y además, ¿dónde veo si la aprobaron?"),
            [false, true, true]
        );
        assert_eq!(
            marks("cómo cambio la clave? no me deja entrar desde ayer"),
            [true, false]
        );
        assert_eq!(
            marks("No puedo entrar a secop. Necesito subir la oferta hoy."),
            [false, false]
        );
    }

    /// Kind: a process number, an amount or an address split as sentences.
    #[test]
    fn a_stop_inside_a_token_ends_no_sentence() {
        for text in [
            "tengo el numero del proceso CO1.REQ.123456 como lo encuentro en secop",
            "el contrato quedó por 1.500.000 y la póliza por otro valor",
            "entré a www.colombiacompra.gov.co y no veo el botón de ingreso",
        ] {
            assert_eq!(clauses(text).len(), 1, "{text}");
        }
        // A stop followed by a space, or at the end, still ends one.
        let parts = clauses("El proceso es el CO1.REQ.99. ¿Cómo presento la oferta?");
        assert_eq!(parts.len(), 2);
        assert!(parts[0].text.ends_with("co1.req.99"), "{:?}", parts[0].text);
    }

    /// Kind: a self-introduction, read apart from what it asks.
    #[test]
    fn a_self_introduction_ends_at_its_first_stop() {
        for (text, rest) in [
            (
                "Buenas tardes, le escribo de la alcaldía de Pasto: ¿dónde veo el contrato?",
                Some("¿dónde veo el contrato?"),
            ),
            (
                "soy contratista, como subo la cuenta de cobro",
                Some("como subo la cuenta de cobro"),
            ),
            (
                "Mi nombre es Ana. Trabajo en un hospital. ¿Cómo publico el proceso?",
                Some("Trabajo en un hospital. ¿Cómo publico el proceso?"),
            ),
            // Typed without a stop: it ends where the request starts.
            (
                "soy rector de un colegio oficial como hacemos para contratar",
                Some("como hacemos para contratar"),
            ),
            (
                "somos una fundación de Cartagena y queremos inscribirnos como proveedores",
                Some("queremos inscribirnos como proveedores"),
            ),
            // Not an introduction, nothing after it, or too short to ask.
            ("como subo la cuenta de cobro, soy contratista", None),
            ("soy proveedor y no puedo entrar", None),
            ("soy proveedor, ayuda", None),
        ] {
            assert_eq!(after_introduction(text), rest, "{text:?}");
        }
    }

    /// Kind: the second question of a message, typed without its mark.
    #[test]
    fn a_follow_up_question_without_its_mark_is_a_question() {
        let marks = |text: &str| clauses(text).iter().map(|c| c.marked).collect::<Vec<_>>();
        for text in [
            "¿Cómo subo la póliza? y cuánto se demora la entidad en aprobarla",
            "donde veo mis contratos? como descargo el acta de inicio",
            "¿Quién aprueba las facturas? por qué no me han pagado la del mes pasado",
            "¿Se puede cambiar el administrador? y el correo de la empresa también",
        ] {
            assert_eq!(marks(text), [true, true], "{text:?}");
        }
        // A remark after the question is still its context.
        for text in [
            "¿Cómo cambio la clave? no me deja entrar desde ayer",
            "¿Dónde cargo la factura? Soy contratista de la gobernación",
        ] {
            assert_eq!(marks(text), [true, false], "{text:?}");
        }
        // Without a written question, nothing is marked.
        assert_eq!(
            marks("no puedo entrar. como recupero la clave"),
            [false, false]
        );
    }
}
