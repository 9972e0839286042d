//! The knowledge folder, loaded, validated and indexed: what the bot knows.
//!
//! A [`Knowledge`] is an immutable snapshot. [`LiveKnowledge`] holds the current
//! one behind an atomic pointer so a reload swaps it without disturbing
//! conversations in progress; a folder with problems is never swapped in.

pub mod analyzer;
pub mod calibrate;
pub mod credential;
mod decide;
mod explain;
mod figures;
pub mod handoff;
mod impacts;
pub mod index;
pub mod lexicon;
pub mod loader;
mod parallel;
mod platform;
mod prevention;
pub mod reload;
mod reranking;
pub mod role;
mod senses;
pub mod synthetic;
pub mod verdict;
pub mod vocabulary;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};

pub use analyzer::Mode;
pub use decide::{Decision, Understanding};
pub use index::{Hit, Target};
pub use loader::{Canned, Entry, EntryKind};

use crate::flows::FlowDef;
use crate::problem::{Problem, Problems};
use index::{SearchIndex, TargetText};
pub use secobot_textcat::{classifier, ngram};

use classifier::Classifier;
use ngram::NgramIndex;

/// The escalation flow: `escalate` frames and requests for a person start it.
pub const ESCALATION_FLOW: &str = "crear-caso";

/// Share of the fused confidence that comes from the character n-gram
/// similarity; the rest is the word-level confidence.
const NGRAM_WEIGHT: f32 = 0.1;
/// See [`Fusion::bm25`].
const BM25_DISCOUNT: f32 = 0.7;
/// See [`Fusion::centroid`].
const CENTROID_SHARE: f32 = 1.0;
/// See [`Fusion::model`].
const MODEL_WEIGHT: f32 = 0.5;
/// Above this many targets (entries, flows and out-of-scope phrases) no
/// classifier is trained: its weights are features × targets floats, which
/// for a 10,000-entry folder would be gigabytes, and its training seconds.
/// Such a folder is ranked by the other evidence alone.
pub const MODEL_MAX_TARGETS: usize = 2_000;
/// Lowest classifier probability that makes a target a candidate on its own.
const MODEL_CANDIDATE: f32 = 0.1;
/// Lowest n-gram centroid similarity that makes a target a candidate on its own.
const NGRAM_CANDIDATE: f32 = 0.3;
/// Confidence multiplier of a target the question contradicts (it affirms
/// what the target's phrasings negate; see `SearchIndex::contradicted_term`).
const CONTRADICTED: f32 = 0.5;
/// Confidence multiplier of an entry written for the other side of the
/// procurement than the speaker's, when both sides' entries lead (see
/// [`role`]): as strong as [`CONTRADICTED`], since answering the other
/// side's half of a step is as wrong. Every evaluation set read the same
/// from 0.5 to 0.8 (so none chose it); at 0.8, «la entidad me rechazó la
/// garantía» still answered the Entity's entry.
const OTHER_SIDE: f32 = 0.5;

/// The weights of [`fuse_with`], chosen by `secobot calibrate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fusion {
    /// Share of the character n-gram similarity (0..1); the rest is word-level.
    pub ngram: f32,
    /// How much a weaker BM25 than the best candidate's discounts the
    /// word-level confidence (0 = not at all).
    pub bm25: f32,
    /// Share of the centroid cosine in the n-gram part (the rest: the
    /// nearest phrasing's cosine).
    pub centroid: f32,
    /// Share of the folder's classifier (logistic regression over character
    /// n-grams, trained at load on the same phrasings): the square root of its
    /// probability for the target. It weighs which n-grams tell targets
    /// apart, which the similarities cannot; the root keeps a probability
    /// spread over two close targets from sinking both.
    pub model: f32,
}

/// The calibrated weights (see docs/knowledge.md, "Calibración").
pub const FUSION: Fusion = Fusion {
    ngram: NGRAM_WEIGHT,
    bm25: BM25_DISCOUNT,
    centroid: CENTROID_SHARE,
    model: MODEL_WEIGHT,
};

/// The confidence decisions use: word-level evidence (synonyms, negation,
/// generic words) blended with spelling-level evidence (typos, inflections).
/// Both are 0..1; so is the result.
///
/// `bm25_share` is the candidate's BM25 score over the best candidate's: the
/// word-level confidence compares the query with one phrasing at a time, so a
/// short question matches the shortest phrasing that contains its words;
/// BM25 counts every phrasing and the body, and tells the entry *about* the
/// words from the one that merely mentions them.
pub fn fuse_with(hit: &Hit, bm25_share: f32, w: Fusion) -> f32 {
    let lexical = hit.lexical * (1.0 - w.bm25 + w.bm25 * bm25_share.clamp(0.0, 1.0));
    let ngram = (1.0 - w.centroid) * hit.ngram + w.centroid * hit.centroid;
    let similarity = ((1.0 - w.ngram) * lexical + w.ngram * ngram).clamp(0.0, 1.0);
    match hit.model {
        Some(p) => ((1.0 - w.model) * similarity + w.model * p.max(0.0).sqrt()).clamp(0.0, 1.0),
        None => similarity,
    }
}

/// Sets every hit's fused confidence with weights `w` and sorts them, best first.
///
/// A flow has no body for BM25 to count (only its title and triggers), so
/// its BM25 is no measure of how much it is about the words: flows are not
/// discounted.
pub fn fuse_and_rank(hits: &mut [Hit], w: Fusion) {
    let best_bm25 = hits.iter().map(|h| h.bm25).fold(0.0f32, f32::max);
    for hit in hits.iter_mut() {
        let share = if best_bm25 > 0.0 && !matches!(hit.target, Target::Flow(_)) {
            hit.bm25 / best_bm25
        } else {
            1.0
        };
        hit.confidence = fuse_with(hit, share, w);
    }
    hits.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(b.bm25.total_cmp(&a.bm25))
    });
}

/// A question ranked: its hits, best first, and what the folder's classifier
/// says of the question as a whole.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    pub hits: Vec<Hit>,
    pub signals: Signals,
}

/// What is known of a question as a whole, beside its hits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signals {
    /// The classifier's probability that the question is out of scope (its
    /// one class for all of `fuera-de-alcance.txt`); `None` where the
    /// classifier stays out (generic or negated queries, baseline mode).
    pub out_of_scope: Option<f32>,
    /// Whether some query word is known to the folder and not generic: a
    /// question of generic words alone ("no me deja") is never answered.
    pub specific: bool,
    /// The speaker's side when the ranking chose between the two sides'
    /// entries of one step and lowered the other's (see [`role`]).
    pub side: Option<role::Role>,
}

/// How sure the bot must be to answer, or to offer choices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// At or above: answer (or start the flow).
    pub answer: f32,
    /// At or above (and below `answer`, or too close to the runner-up): suggest.
    pub suggest: f32,
    /// Top two closer than this are "close": offer both.
    pub margin: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            answer: 0.45,
            suggest: 0.30,
            margin: 0.06,
        }
    }
}

/// Something the user can be sent to: an entry or a flow.
#[derive(Debug, Clone, Copy)]
pub enum Topic<'a> {
    Entry(&'a Entry),
    Flow(&'a FlowDef),
}

impl Topic<'_> {
    pub fn id(&self) -> &str {
        match self {
            Topic::Entry(e) => &e.id,
            Topic::Flow(f) => &f.id,
        }
    }

    pub fn title(&self) -> &str {
        match self {
            Topic::Entry(e) => &e.title,
            Topic::Flow(f) => &f.title,
        }
    }
}

/// One loaded, indexed version of the folder.
pub struct Knowledge {
    pub entries: Vec<Entry>,
    pub flows: Vec<FlowDef>,
    /// Canned responses for agents (not searched by the bot).
    pub canned: Vec<Canned>,
    pub loaded_at: DateTime<Utc>,
    pub dir: PathBuf,
    /// Warnings of the load (missing sources, unreadable review dates).
    pub warnings: Vec<Problem>,
    /// Files skipped as not content (editor backups, swap files, dotfiles).
    pub ignored: Vec<PathBuf>,
    out_of_scope: Vec<String>,
    out_of_scope_advice: Vec<Option<String>>,
    by_id: HashMap<String, Target>,
    index: SearchIndex,
    /// Character n-gram nearest phrasings, by the same target ordinals as `index`.
    ngram: NgramIndex,
    /// Logistic regression over the same targets (by ordinal), trained on the
    /// folder's titles and phrasings; `None` in baseline mode and above
    /// [`MODEL_MAX_TARGETS`].
    model: Option<Classifier>,
    thresholds: Thresholds,
    /// By ordinal, whether an entry's or flow's own text names SECOP I (see
    /// [`platform`]); read on the first question that names SECOP I alone,
    /// not at every reload (see [`Knowledge::names_secop_one`]).
    names_secop_one: std::sync::OnceLock<Vec<bool>>,
    /// Whether the leader of a ranking is sure enough to answer (see [`verdict`]).
    answer_rule: verdict::AnswerRule,
    /// Decisions for questions already seen by this snapshot: during an outage
    /// thousands ask the same few things. A reload brings a fresh, empty cache.
    decisions: Mutex<HashMap<String, decide::Cached>>,
}

impl Knowledge {
    /// Loads and indexes the folder.
    ///
    /// # Errors
    /// Every problem in the folder; nothing is indexed then.
    pub fn load(dir: &Path, mode: Mode, thresholds: Thresholds) -> Result<Self, Problems> {
        let loaded = loader::load(dir);
        for path in &loaded.ignored {
            tracing::info!(path = %path.display(), "ignored: not a knowledge file (backup, swap or hidden file)");
        }
        if !loaded.problems.is_empty() {
            return Err(Problems(loaded.problems));
        }
        Self::from_loaded(dir, loaded, mode, thresholds)
    }

    pub(crate) fn from_loaded(
        dir: &Path,
        loaded: loader::Loaded,
        mode: Mode,
        thresholds: Thresholds,
    ) -> Result<Self, Problems> {
        let analyzer = analyzer::Analyzer::new(mode, &loaded.synonyms);
        let mut texts = Vec::new();
        for (i, e) in loaded.entries.iter().enumerate() {
            texts.push(TargetText {
                target: Target::Entry(i),
                title: &e.title,
                phrasings: e.questions.iter().map(String::as_str).collect(),
                body: &e.body,
            });
        }
        for (i, f) in loaded.flows.iter().enumerate() {
            texts.push(TargetText {
                target: Target::Flow(i),
                title: &f.title,
                phrasings: f.triggers.iter().map(String::as_str).collect(),
                body: "",
            });
        }
        for (i, phrase) in loaded.out_of_scope.iter().enumerate() {
            texts.push(TargetText {
                target: Target::OutOfScope(i),
                title: phrase,
                phrasings: Vec::new(),
                body: "",
            });
        }
        let synonym_words: Vec<String> = loaded.synonyms.iter().flatten().cloned().collect();
        // The n-gram index and the classifier read phrasings as questions
        // are read (see `rank_with`): figures blanked, senses told apart.
        let read: Vec<Vec<std::borrow::Cow<'_, str>>> = texts
            .iter()
            .map(|t| {
                std::iter::once(t.title)
                    .chain(t.phrasings.iter().copied())
                    .map(|p| analyzer.read(p))
                    .collect()
            })
            .collect();
        let phrasings: Vec<Vec<&str>> = read
            .iter()
            .map(|ps| ps.iter().map(AsRef::as_ref).collect())
            .collect();
        // The two indexes are independent: build them side by side.
        // Every out-of-scope phrase trains the one out-of-scope class (see
        // [`Knowledge::class_of`]).
        let topics = loaded.entries.len() + loaded.flows.len();
        let classes = topics + usize::from(!loaded.out_of_scope.is_empty());
        let examples: Vec<(&str, usize)> = phrasings
            .iter()
            .enumerate()
            .flat_map(|(o, ps)| ps.iter().map(move |p| (*p, o.min(topics))))
            .collect();
        let (index, ngram, model) = std::thread::scope(|scope| {
            let ngram = scope.spawn(|| NgramIndex::build(&phrasings, analyzer::is_stop_word));
            let model = scope.spawn(|| {
                (mode == Mode::Spanish && phrasings.len() <= MODEL_MAX_TARGETS)
                    .then(|| Classifier::fit_only(&examples, classes))
            });
            let index = SearchIndex::build(analyzer, &texts, &synonym_words);
            (index, ngram.join(), model.join())
        });
        let model = match model {
            Ok(m) => m,
            Err(p) => std::panic::resume_unwind(p),
        };
        let index = index.map_err(|e| Problems(vec![Problem::new(dir, 0, e.to_string())]))?;
        let ngram = match ngram {
            Ok(n) => n,
            Err(p) => std::panic::resume_unwind(p),
        };
        let mut by_id = HashMap::new();
        for (i, e) in loaded.entries.iter().enumerate() {
            by_id.insert(e.id.clone(), Target::Entry(i));
        }
        for (i, f) in loaded.flows.iter().enumerate() {
            by_id.insert(f.id.clone(), Target::Flow(i));
        }
        Ok(Knowledge {
            names_secop_one: std::sync::OnceLock::new(),
            entries: loaded.entries,
            flows: loaded.flows,
            canned: loaded.canned,
            loaded_at: Utc::now(),
            dir: dir.to_path_buf(),
            warnings: loaded.warnings,
            ignored: loaded.ignored,
            out_of_scope: loaded.out_of_scope,
            out_of_scope_advice: loaded.out_of_scope_advice,
            by_id,
            index,
            ngram,
            model,
            // The baseline is a yardstick: it keeps the rule and thresholds
            // it was built with.
            thresholds: match mode {
                Mode::Spanish => thresholds,
                Mode::Baseline => verdict::BASELINE_THRESHOLDS,
            },
            answer_rule: match mode {
                Mode::Spanish => verdict::AnswerRule::Model(verdict::ANSWER_MODEL),
                Mode::Baseline => verdict::AnswerRule::Confidence,
            },
            decisions: Mutex::new(HashMap::new()),
        })
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        match self.by_id.get(id) {
            Some(Target::Entry(i)) => self.entries.get(*i),
            _ => None,
        }
    }

    pub fn flow(&self, id: &str) -> Option<&FlowDef> {
        match self.by_id.get(id) {
            Some(Target::Flow(i)) => self.flows.get(*i),
            _ => None,
        }
    }

    /// An entry or a flow by id.
    pub fn topic(&self, id: &str) -> Option<Topic<'_>> {
        match self.by_id.get(id)? {
            Target::Entry(i) => self.entries.get(*i).map(Topic::Entry),
            Target::Flow(i) => self.flows.get(*i).map(Topic::Flow),
            Target::OutOfScope(_) => None,
        }
    }

    /// The id of what a hit stands for (`None` for an out-of-scope phrase).
    pub fn target_id(&self, target: Target) -> Option<String> {
        self.target_topic(target).map(|t| t.id().to_owned())
    }

    fn target_topic(&self, target: Target) -> Option<Topic<'_>> {
        match target {
            Target::Entry(i) => self.entries.get(i).map(Topic::Entry),
            Target::Flow(i) => self.flows.get(i).map(Topic::Flow),
            Target::OutOfScope(_) => None,
        }
    }

    /// The position of a target in the indexes: entries, then flows, then
    /// out-of-scope phrases.
    fn ordinal(&self, target: Target) -> usize {
        match target {
            Target::Entry(i) => i,
            Target::Flow(i) => self.entries.len() + i,
            Target::OutOfScope(i) => self.entries.len() + self.flows.len() + i,
        }
    }

    fn target_at(&self, ordinal: usize) -> Target {
        let (e, f) = (self.entries.len(), self.flows.len());
        if ordinal < e {
            Target::Entry(ordinal)
        } else if ordinal < e + f {
            Target::Flow(ordinal - e)
        } else {
            Target::OutOfScope(ordinal - e - f)
        }
    }

    /// Ranked hits, best first: the word-level candidates and confidences of
    /// the tantivy index fused with the character n-gram similarity of every
    /// target (see [`fuse_with`]).
    pub fn search(&self, text: &str) -> Vec<Hit> {
        self.rank(text).hits
    }

    /// [`Knowledge::search`], with what the classifier says of the question
    /// as a whole: what the answer-or-refuse decision reads.
    pub fn rank(&self, text: &str) -> Ranking {
        self.rank_with(text, FUSION.centroid < 1.0)
    }

    /// The classifier's class of the target at `ordinal`: one per entry and
    /// flow, and one for all the out-of-scope phrases together. A phrase is
    /// one example; as classes of their own, a hundred one-example classes
    /// each got a sliver of probability and none said "out of scope"; as one
    /// class, the phrases together teach what other topics look like.
    fn class_of(&self, ordinal: usize) -> usize {
        ordinal.min(self.entries.len() + self.flows.len())
    }

    /// The terms of the question `text` writes as such, when sentences of
    /// context surround it; `None` when the whole message is the question,
    /// or its written question is too short to say anything («¿Qué hago?»
    /// leaves the story as its substance).
    fn question_terms(&self, text: &str) -> Option<Vec<String>> {
        decide::written_question(text).map(|q| self.index.query_terms(&q))
    }

    /// [`Knowledge::rank`]; with `nearest`, each hit's cosine with the
    /// target's nearest phrasing is measured too. The calibrated fusion gives
    /// it no weight, and measuring it was a fifth of a question's time, so
    /// only calibration and explanations ask for it.
    pub(crate) fn rank_with(&self, text: &str, nearest: bool) -> Ranking {
        // Every judge reads the question the same way, figures blanked and
        // senses told apart (the word-level analysis does it again: it also
        // serves the folder's texts).
        let text = &*self.index.analyzer().read(text);
        let terms = self.index.query_terms(text);
        let mut hits = self.index.search_terms(&terms);
        if self.index.analyzer().mode() == Mode::Baseline {
            return Ranking {
                hits,
                signals: Signals {
                    out_of_scope: None,
                    specific: self.index.has_specific_term(&terms),
                    side: None,
                },
            };
        }
        let similarities = self.ngram.similarities(text, nearest);
        let probabilities = self
            .model
            .as_ref()
            .filter(|_| {
                self.index
                    .classifier_applies(&terms, || self.question_terms(text))
            })
            .map(|m| m.probabilities_of(text));
        let probability = |o: usize| {
            probabilities
                .as_ref()
                .map(|p| p.get(self.class_of(o)).copied().unwrap_or(0.0))
        };
        let topics = self.entries.len() + self.flows.len();
        let out_of_scope = self
            .has_out_of_scope_class()
            .then(|| probability(topics))
            .flatten();
        // The out-of-scope class shares its probability among all phrases:
        // only the phrase most like the question becomes a candidate by it.
        let likeliest_phrase = (topics..similarities.len()).max_by(|a, b| {
            similarities[*a]
                .centroid
                .total_cmp(&similarities[*b].centroid)
        });
        let mut seen = vec![false; similarities.len()];
        for hit in &mut hits {
            let o = self.ordinal(hit.target);
            seen[o] = true;
            let similarity = similarities.get(o).copied().unwrap_or_default();
            hit.ngram = similarity.nearest;
            hit.centroid = similarity.centroid;
            hit.model = probability(o);
        }
        for (o, similarity) in similarities.iter().enumerate() {
            let likely = (o < topics || Some(o) == likeliest_phrase)
                && probability(o).is_some_and(|p| p >= MODEL_CANDIDATE);
            if !seen[o] && (similarity.centroid >= NGRAM_CANDIDATE || likely) {
                hits.push(Hit {
                    target: self.target_at(o),
                    confidence: 0.0,
                    lexical: 0.0,
                    ngram: similarity.nearest,
                    centroid: similarity.centroid,
                    model: probability(o),
                    bm25: 0.0,
                    coverage: 0.0,
                });
            }
        }
        fuse_and_rank(&mut hits, FUSION);
        self.demote_contradicted(text, &terms, &mut hits);
        self.demote_incidents_when_preventing(text, &mut hits);
        let side = self.demote_the_other_side(text, &mut hits);
        self.drop_secop_two_when_secop_one(text, &mut hits);
        out_of_scope_first(&mut hits, &self.index.out_of_scope_matches_terms(&terms));
        Ranking {
            hits,
            signals: Signals {
                out_of_scope,
                specific: self.index.has_specific_term(&terms),
                side,
            },
        }
    }

    /// Whether the classifier has an out-of-scope class (the folder has
    /// out-of-scope phrases).
    fn has_out_of_scope_class(&self) -> bool {
        !self.out_of_scope.is_empty()
    }

    /// Whether this snapshot ranks with a classifier (see [`MODEL_MAX_TARGETS`]).
    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// The classifier's weights kept after pruning, and the size of the dense
    /// model (`None` without a classifier).
    pub fn model_weights(&self) -> Option<(usize, usize)> {
        self.model.as_ref().map(Classifier::weights_kept)
    }

    /// See [`index::SearchIndex::out_of_scope_matches`].
    pub(crate) fn out_of_scope_matches(&self, text: &str) -> Vec<Target> {
        self.index.out_of_scope_matches(text)
    }
}

/// A question with a word that only out-of-scope phrases use is out of
/// scope, however well its other words match an entry: the matching
/// out-of-scope phrase goes first, with at least the leader's confidence.
/// Only when that phrase's words cover at least [`MARKER_COVERAGE`] of the
/// question: a word in passing ("lo ignoro", shared with a phrase about
/// ignoring instructions; "el alcalde", shared with one about an official's
/// phone number) does not make a question about SECOP II another topic.
pub(crate) fn out_of_scope_first(hits: &mut Vec<Hit>, matches: &[Target]) {
    {
        let Some(top) = hits.first().map(|h| h.confidence) else {
            return;
        };
        let Some(pos) = hits
            .iter()
            .position(|h| matches.contains(&h.target) && h.coverage >= MARKER_COVERAGE)
        else {
            return;
        };
        let mut hit = hits.remove(pos);
        hit.confidence = hit.confidence.max(top);
        hits.insert(0, hit);
    }
}

impl Knowledge {
    /// Where to go instead for the out-of-scope phrase `i`, if the folder says.
    pub fn out_of_scope_advice(&self, i: usize) -> Option<&str> {
        self.out_of_scope_advice.get(i)?.as_deref()
    }

    /// The out-of-scope phrase a hit stands for.
    pub fn out_of_scope_phrase(&self, i: usize) -> Option<&str> {
        self.out_of_scope.get(i).map(String::as_str)
    }
}

/// Share of the question's term weight an out-of-scope phrase with a word
/// of its own must cover to go first (see [`out_of_scope_first`]). The
/// questions that phrase rule exists for ("olvidé la clave del banco",
/// "cómo saco el rut en la dian") are covered 0.67–0.73; the SECOP II
/// questions it took with a word in passing, 0.32–0.34.
const MARKER_COVERAGE: f32 = 0.5;

/// The knowledge currently served, swapped atomically on reload.
pub struct LiveKnowledge {
    current: ArcSwap<Knowledge>,
    last_error: Mutex<Option<String>>,
}

impl LiveKnowledge {
    pub fn new(initial: Knowledge) -> Self {
        LiveKnowledge {
            current: ArcSwap::from_pointee(initial),
            last_error: Mutex::new(None),
        }
    }

    /// The current snapshot; hold it for the whole of one turn.
    pub fn get(&self) -> Arc<Knowledge> {
        self.current.load_full()
    }

    /// Swaps in a new snapshot and clears the error.
    pub fn replace(&self, next: Knowledge) {
        self.current.store(Arc::new(next));
        self.set_error(None);
    }

    /// The last reload failure, `path:line: message` lines, until a good reload.
    pub fn error(&self) -> Option<String> {
        self.last_error.lock().map(|e| e.clone()).unwrap_or(None)
    }

    pub fn set_error(&self, error: Option<String>) {
        if let Ok(mut slot) = self.last_error.lock() {
            *slot = error;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_decisions_match_fresh_ones() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        let k = Knowledge::load(&dir, Mode::Spanish, Thresholds::default()).unwrap();
        let describe = |d: &Decision<'_>| match d {
            Decision::Answer { topic, .. } => format!("answer {}", topic.id()),
            Decision::Suggest(ts) => format!(
                "suggest {:?}",
                ts.iter().map(|t| t.id().to_owned()).collect::<Vec<_>>()
            ),
            Decision::Fallback { out_of_scope } => format!("fallback {}", out_of_scope.is_some()),
        };
        for q in [
            "olvidé mi contraseña",
            "¿Olvidé mi CONTRASEÑA?",
            "secop",
            "cuál es el clima",
            "mi usuario está bloqueado",
        ] {
            let first = describe(&k.decide(q));
            let again = describe(&k.decide(q));
            let fresh = describe(&k.decide_from(&k.rank(q)));
            assert_eq!(first, again, "{q}");
            assert_eq!(first, fresh, "{q}");
        }
        assert_eq!(
            describe(&k.decide("olvidé mi contraseña")),
            describe(&k.decide("Olvidé, mi contraseña!"))
        );
    }
}

#[cfg(test)]
mod message_kinds;
#[cfg(test)]
mod ranking_kinds;
