//! The search index: entries, flows and out-of-scope phrases, ranked with a
//! confidence that means the same for every query.
//!
//! tantivy indexes the targets and scores them (BM25 over title, questions and
//! body, with boosts); the scores are read out once per build as impacts (see
//! [`super::impacts`]), and a query's candidates are the targets with the
//! highest sum of its terms' impacts.
//! Each candidate then gets a *confidence* in 0..1: the IDF-weighted overlap
//! (Ochiai coefficient) between the query's terms and the candidate's best
//! phrasing (its title, one of its `questions` or a flow trigger), blended with
//! how much of the query the whole candidate covers. Generic words (secop,
//! plataforma…) weigh little, and words the folder has never seen weigh on the
//! query side only, so a question about something else scores low.
//!
//! A query is the analyzer's own terms: user text never reaches tantivy's
//! query parser.

use std::collections::HashSet;

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{doc, Index, IndexReader, ReloadPolicy};

use super::analyzer::{Analyzer, WordCache, NEGATED};
use super::impacts::{Impacts, ScoredField};
use super::vocabulary::Vocabulary;

/// The tokenizer of the indexed fields: text arrives already analysed.
const PRE_ANALYZED: &str = "pre_analyzed";
/// Candidates tantivy hands to the confidence stage.
const CANDIDATES: usize = 24;
const TITLE_BOOST: f32 = 3.0;
const QUESTIONS_BOOST: f32 = 2.0;
const BODY_BOOST: f32 = 1.0;
/// Share of a target's phrasings that must negate a term for the target to
/// be about it not happening (see [`SearchIndex::contradicted_term`]).
pub(super) const DENIED_SHARE: f32 = 0.4;
/// Fewer phrasings than this say too little about what a target negates.
const DENIED_MIN_PHRASINGS: usize = 5;
/// Weight multiplier of generic words.
const GENERIC_WEIGHT: f32 = 0.2;
/// Confidence multiplier when the query has only generic or unknown words:
/// enough to offer choices, never to answer.
const GENERIC_ONLY: f32 = 0.6;
/// Weight of a word the folder never uses, relative to the rarest known word.
const UNKNOWN_WEIGHT: f32 = 0.5;

/// What a document in the index stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Entry(usize),
    Flow(usize),
    OutOfScope(usize),
}

/// The text of one target, as the index sees it.
pub struct TargetText<'a> {
    pub target: Target,
    pub title: &'a str,
    pub phrasings: Vec<&'a str>,
    pub body: &'a str,
}

/// A ranked candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub target: Target,
    /// 0..1, comparable across queries: the fused figure decisions use.
    pub confidence: f32,
    /// The word-level confidence alone (IDF-weighted overlap), 0..1.
    pub lexical: f32,
    /// The character n-gram cosine with the nearest phrasing, 0..1.
    pub ngram: f32,
    /// The character n-gram cosine with the centroid of all phrasings, 0..1.
    pub centroid: f32,
    /// The folder's classifier's probability for this target, 0..1 (`None`
    /// when the snapshot has no classifier).
    pub model: Option<f32>,
    /// tantivy's BM25 score, for diagnostics.
    pub bm25: f32,
    /// Share of the query's term weight that occurs anywhere in the target
    /// (0..1; 0 for a target found only by its characters): a question
    /// whose words the target mostly lacks is seldom about it.
    pub coverage: f32,
}

/// One query term as the ranking sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TermReport {
    pub term: String,
    /// Its weight in the confidence (IDF over targets, lowered for generic words).
    pub weight: f32,
    /// Whether the folder uses it at all.
    pub known: bool,
    pub generic: bool,
}

/// Terms of one target, kept to compute confidences.
/// A term's position in the index's term table; scoring compares these, not strings.
pub(super) type TermId = u32;

/// The analysed text of one target, before it is interned.
struct Analyzed {
    title: Vec<String>,
    questions: Vec<Vec<String>>,
    body: Vec<String>,
}

fn analyze_one(analyzer: &Analyzer, t: &TargetText<'_>, cache: &mut WordCache) -> Analyzed {
    Analyzed {
        title: analyzer.analyze_cached(t.title, cache),
        questions: t
            .phrasings
            .iter()
            .map(|p| analyzer.analyze_cached(p, cache))
            .collect(),
        body: analyzer.analyze_cached(t.body, cache),
    }
}

struct TargetTerms {
    target: Target,
    /// Sorted term ids of each phrasing.
    phrasings: Vec<Vec<TermId>>,
    /// Sum of the term weights of each phrasing (fixed once the index is built).
    phrasing_weights: Vec<f32>,
    /// Sorted term ids of the whole target.
    all: Vec<TermId>,
    /// By position in `all`: the phrasings (indexes into `phrasings`) holding
    /// that term, so a query's matches are summed per phrasing in one pass
    /// over the query instead of one search per phrasing and query term.
    occurs: Vec<Vec<u32>>,
    /// Terms that many of the target's phrasings negate ("no_solicit" in
    /// "un correo que no solicité"): the affirmed term's id, then the negated one's.
    denied: Vec<(TermId, TermId)>,
    /// Terms that many of the target's phrasings affirm and none negates,
    /// whose negation another target is about ("me llegan correos" against
    /// "no me llega el correo"): the target is about them happening.
    asserted: Vec<TermId>,
}

#[derive(Clone, Copy)]
struct Fields {
    target: Field,
    title: Field,
    questions: Field,
    body: Field,
}

/// Failure to build the index (tantivy errors; should not happen in RAM).
#[derive(Debug, thiserror::Error)]
#[error("failed to build the search index: {0}")]
pub struct IndexError(#[from] tantivy::TantivyError);

/// The bits of the tantivy fields that hold a term (see [`Impacts::build`]).
const TITLE: u8 = 1;
const QUESTIONS: u8 = 2;
const BODY: u8 = 4;

/// An immutable, searchable snapshot.
pub struct SearchIndex {
    analyzer: Analyzer,
    vocabulary: Vocabulary,
    /// Each term's BM25 in the targets, from tantivy's index of the folder.
    impacts: Impacts,
    targets: Vec<TargetTerms>,
    term_ids: rustc_hash::FxHashMap<String, TermId>,
    /// By term id: IDF over targets, lowered for generic words.
    weights: Vec<f32>,
    /// By term id: used by out-of-scope phrases and by no entry or flow
    /// ("banco", "outlook", "rut"): a sign the question is about something else.
    out_of_scope_only: Vec<bool>,
    max_weight: f32,
}

impl SearchIndex {
    /// Builds the index in RAM.
    ///
    /// # Errors
    /// When tantivy fails (out of memory, in practice).
    pub fn build(
        analyzer: Analyzer,
        texts: &[TargetText<'_>],
        extra_vocabulary: &[String],
    ) -> Result<Self, IndexError> {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(PRE_ANALYZED)
            .set_index_option(IndexRecordOption::WithFreqs);
        let text = TextOptions::default().set_indexing_options(indexing);
        let mut builder = Schema::builder();
        let fields = Fields {
            target: builder.add_u64_field("target", FAST | STORED),
            title: builder.add_text_field("title", text.clone()),
            questions: builder.add_text_field("questions", text.clone()),
            body: builder.add_text_field("body", text),
        };
        let index = Index::create_in_ram(builder.build());
        index.tokenizers().register(
            PRE_ANALYZED,
            TextAnalyzer::builder(WhitespaceTokenizer::default()).build(),
        );

        let mut vocabulary = Vocabulary::default();
        for word in extra_vocabulary {
            vocabulary.add_text(word);
        }
        // Analysis is the costly part of a reload: spread it over the cores.
        let (analyzed, caches) =
            super::parallel::map_in_order(texts, 256, WordCache::default, |cache, t| {
                analyze_one(&analyzer, t, cache)
            });
        for cache in &caches {
            cache.add_to(&mut vocabulary);
        }
        let mut term_ids: rustc_hash::FxHashMap<String, TermId> = Default::default();
        let mut doc_freq: Vec<u32> = Vec::new();
        let mut term_fields: Vec<u8> = Vec::new();
        let mut targets = Vec::with_capacity(texts.len());
        // One thread keeps a single segment and the build deterministic.
        let mut writer = index.writer_with_num_threads(1, 50_000_000)?;
        for (ordinal, (t, a)) in texts.iter().zip(analyzed).enumerate() {
            let mut intern = |terms: &[String], field: u8| -> Vec<TermId> {
                let mut ids: Vec<TermId> = terms
                    .iter()
                    .map(|term| {
                        let id = match term_ids.get(term.as_str()) {
                            Some(id) => *id,
                            None => {
                                let next = term_ids.len() as TermId;
                                term_ids.insert(term.clone(), next);
                                term_fields.push(0);
                                next
                            }
                        };
                        term_fields[id as usize] |= field;
                        id
                    })
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            };
            let mut phrasings = vec![intern(&a.title, TITLE)];
            for q in &a.questions {
                phrasings.push(intern(q, QUESTIONS));
            }
            let body = intern(&a.body, BODY);
            let mut all: Vec<TermId> = phrasings.iter().flatten().copied().chain(body).collect();
            all.sort_unstable();
            all.dedup();
            doc_freq.resize(term_ids.len(), 0);
            for id in &all {
                doc_freq[*id as usize] += 1;
            }
            phrasings.retain(|p| !p.is_empty());
            let questions: Vec<&str> = a.questions.iter().flatten().map(String::as_str).collect();
            writer.add_document(doc!(
                fields.target => ordinal as u64,
                fields.title => a.title.join(" "),
                fields.questions => questions.join(" "),
                fields.body => a.body.join(" "),
            ))?;
            let mut occurs = vec![Vec::new(); all.len()];
            for (i, phrasing) in phrasings.iter().enumerate() {
                for id in phrasing {
                    if let Ok(k) = all.binary_search(id) {
                        occurs[k].push(i as u32);
                    }
                }
            }
            targets.push(TargetTerms {
                target: t.target,
                phrasings,
                phrasing_weights: Vec::new(),
                all,
                occurs,
                denied: Vec::new(),
                asserted: Vec::new(),
            });
        }
        writer.commit()?;
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searcher = reader.searcher();
        let columns = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.fast_fields().u64("target"))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let mut term_texts = vec![""; term_ids.len()];
        for (term, id) in &term_ids {
            term_texts[*id as usize] = term.as_str();
        }
        let impacts = Impacts::build(
            &searcher,
            &columns,
            &[
                ScoredField {
                    field: fields.title,
                    boost: TITLE_BOOST,
                    bit: TITLE,
                },
                ScoredField {
                    field: fields.questions,
                    boost: QUESTIONS_BOOST,
                    bit: QUESTIONS,
                },
                ScoredField {
                    field: fields.body,
                    boost: BODY_BOOST,
                    bit: BODY,
                },
            ],
            &term_texts,
            &term_fields,
            targets.len(),
        )?;
        let n = targets.len() as f32;
        let max_weight = idf(n, 0.0);
        let mut weights = vec![0.0f32; term_ids.len()];
        for (term, id) in &term_ids {
            let w = idf(n, doc_freq[*id as usize] as f32);
            weights[*id as usize] = if analyzer.is_generic(term) {
                w * GENERIC_WEIGHT
            } else {
                w
            };
        }
        let mut in_scope = vec![false; term_ids.len()];
        let mut out_of_scope_only = vec![false; term_ids.len()];
        for target in &targets {
            let flags = if matches!(target.target, Target::OutOfScope(_)) {
                &mut out_of_scope_only
            } else {
                &mut in_scope
            };
            for id in &target.all {
                flags[*id as usize] = true;
            }
        }
        for (term, id) in &term_ids {
            let id = *id as usize;
            out_of_scope_only[id] &= !in_scope[id] && !analyzer.is_generic(term);
        }
        for target in &mut targets {
            target.denied = denied_terms(&target.phrasings, &term_texts, &term_ids);
        }
        // What some target is about NOT happening ("no me llega"), others
        // may be about happening ("me llegan correos").
        let mut denied_anywhere: Vec<(TermId, TermId)> = targets
            .iter()
            .flat_map(|t| t.denied.iter().copied())
            .collect();
        denied_anywhere.sort_unstable();
        denied_anywhere.dedup();
        for target in &mut targets {
            target.asserted = asserted_terms(target, &denied_anywhere);
            target.phrasing_weights = target
                .phrasings
                .iter()
                .map(|p| p.iter().map(|id| weights[*id as usize]).sum())
                .collect();
        }
        Ok(SearchIndex {
            analyzer,
            vocabulary,
            impacts,
            targets,
            term_ids,
            weights,
            out_of_scope_only,
            max_weight,
        })
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// The term of `affirmed` that the target at `ordinal` is about NOT
    /// happening, when the query's `terms` (from [`SearchIndex::query_terms`])
    /// do not negate it too: "ya pedí tres veces el restablecimiento"
    /// (solicit) against the entry of the reset e-mail "que no solicité"
    /// (no_solicit).
    pub fn contradicted_term<'a>(
        &self,
        ordinal: usize,
        affirmed: &'a [String],
        terms: &[String],
    ) -> Option<&'a str> {
        let target = self.targets.get(ordinal)?;
        if target.denied.is_empty() {
            return None;
        }
        let id = |t: &String| self.term_ids.get(t.as_str()).copied();
        target.denied.iter().find_map(|(yes, no)| {
            let said = affirmed.iter().find(|t| id(t) == Some(*yes))?;
            (!terms.iter().any(|t| id(t) == Some(*no))).then_some(said.as_str())
        })
    }

    /// Query terms after typo correction and analysis, deduplicated, in order.
    pub fn query_terms(&self, text: &str) -> Vec<String> {
        let corrected;
        let text = if self.analyzer.mode() == super::analyzer::Mode::Spanish {
            corrected = self.vocabulary.correct(text);
            corrected.as_str()
        } else {
            text
        };
        let mut seen = HashSet::new();
        let known = |folded: &str| self.vocabulary.contains(folded);
        self.analyzer
            .query_terms(text, &known)
            .into_iter()
            .filter(|t| seen.insert(t.clone()))
            .collect()
    }

    /// Ranks targets for `text`, best first. Never fails: any text gives a
    /// (possibly empty) list.
    pub fn search(&self, text: &str) -> Vec<Hit> {
        self.search_terms(&self.query_terms(text))
    }

    /// [`SearchIndex::search`] for terms already analysed by [`SearchIndex::query_terms`].
    pub fn search_terms(&self, terms: &[String]) -> Vec<Hit> {
        let terms = terms.to_vec();
        if terms.is_empty() {
            return Vec::new();
        }
        let candidates = self.candidates(&terms);
        let weighted: Vec<(Option<TermId>, f32)> = terms.iter().map(|t| self.weight(t)).collect();
        let query_weight: f32 = weighted.iter().map(|(_, w)| w).sum();
        // Generic words (secop, plataforma, usuario…) must not carry a match alone.
        let damping = if self.has_specific_term(&terms) {
            1.0
        } else {
            GENERIC_ONLY
        };
        let mut hits: Vec<Hit> = candidates
            .into_iter()
            .filter_map(|(bm25, ordinal)| {
                let target = self.targets.get(ordinal)?;
                let (confidence, coverage) = self.confidence(target, &weighted, query_weight);
                let confidence = damping * confidence;
                Some(Hit {
                    target: target.target,
                    confidence,
                    lexical: confidence,
                    ngram: 0.0,
                    centroid: 0.0,
                    model: None,
                    bm25,
                    coverage,
                })
            })
            .collect();
        hits.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(b.bm25.total_cmp(&a.bm25))
        });
        hits
    }

    /// Whether the folder's classifier may weigh in on a query of these terms.
    /// It reads characters, not words: it cannot tell a query of generic
    /// words alone ("no me deja", "tengo un problema") from a topic's phrasing
    /// that contains them, nor see a negation's scope ("no pedí recuperar la
    /// contraseña" is about an unrequested e-mail, not a forgotten password).
    /// For those, word-level evidence decides alone.
    ///
    /// A negation counts only in the question itself: in a sentence of
    /// context around a written question ("Nunca he trabajado con el
    /// Estado. … ¿Qué hago para registrarme?") it is not the question's
    /// point, and the classifier still reads the message. `question` gives
    /// the question's own terms, or `None` when the whole message is the
    /// question; it is asked only when `terms` negate a word the folder knows.
    pub fn classifier_applies(
        &self,
        terms: &[String],
        question: impl FnOnce() -> Option<Vec<String>>,
    ) -> bool {
        let negates = |terms: &[String]| {
            terms
                .iter()
                .any(|t| t.starts_with(NEGATED) && self.term_ids.contains_key(t.as_str()))
        };
        if !self.has_specific_term(terms) {
            return false;
        }
        !negates(terms) || question().is_some_and(|q| !negates(&q))
    }

    /// Whether some term is in the index and not generic: a query of generic
    /// words alone carries neither a word-level match nor the classifier.
    pub fn has_specific_term(&self, terms: &[String]) -> bool {
        terms
            .iter()
            .any(|t| self.term_ids.contains_key(t.as_str()) && !self.analyzer.is_generic(t))
    }

    /// The targets with the highest BM25 for `terms` (see [`Impacts`]), best first.
    fn candidates(&self, terms: &[String]) -> Vec<(f32, usize)> {
        let ids = terms
            .iter()
            .filter_map(|t| self.term_ids.get(t.as_str()).copied());
        self.impacts.top(ids, CANDIDATES)
    }

    /// How much a query term counts: its IDF over targets, lowered for generic
    /// words; words the folder does not know count half the rarest word.
    fn weight(&self, term: &str) -> (Option<TermId>, f32) {
        match self.term_ids.get(term) {
            // A negated pair tells close topics apart, but also repeats its word:
            // half weight keeps long stories from being diluted by it.
            Some(id) if term.starts_with(NEGATED) => (Some(*id), 0.5 * self.weights[*id as usize]),
            Some(id) => (Some(*id), self.weights[*id as usize]),
            // A negated pair the folder never uses says nothing the words alone don't.
            None if term.starts_with(NEGATED) => (None, 0.0),
            None if self.analyzer.is_generic(term) => {
                (None, self.max_weight * UNKNOWN_WEIGHT * GENERIC_WEIGHT)
            }
            None => (None, self.max_weight * UNKNOWN_WEIGHT),
        }
    }

    /// The word-level confidence of `target`, and its coverage of the query
    /// (see [`Hit::coverage`]).
    fn confidence(
        &self,
        target: &TargetTerms,
        query: &[(Option<TermId>, f32)],
        query_weight: f32,
    ) -> (f32, f32) {
        if query_weight <= 0.0 {
            return (0.0, 0.0);
        }
        // Each phrasing's matched weight, and the whole target's, summed in
        // the query's order.
        let mut matched = vec![0.0f32; target.phrasings.len()];
        let mut covered = 0.0f32;
        for (id, w) in query {
            let Some(k) = id.and_then(|id| target.all.binary_search(&id).ok()) else {
                continue;
            };
            covered += w;
            for p in &target.occurs[k] {
                matched[*p as usize] += w;
            }
        }
        let mut best_phrasing = 0.0f32;
        for (matched, phrasing_weight) in matched.iter().zip(&target.phrasing_weights) {
            if *matched > 0.0 {
                best_phrasing =
                    best_phrasing.max(matched / (query_weight * phrasing_weight).sqrt());
            }
        }
        let coverage = (covered / query_weight).clamp(0.0, 1.0);
        (
            (0.65 * best_phrasing + 0.35 * coverage).clamp(0.0, 1.0),
            coverage,
        )
    }

    /// The out-of-scope phrases that share with the query a word no entry or
    /// flow uses: "olvidé la clave del banco" is about the bank, whatever
    /// "olvidé la clave" would match.
    pub fn out_of_scope_matches(&self, text: &str) -> Vec<Target> {
        self.out_of_scope_matches_terms(&self.query_terms(text))
    }

    /// [`SearchIndex::out_of_scope_matches`] for analysed terms.
    pub fn out_of_scope_matches_terms(&self, terms: &[String]) -> Vec<Target> {
        let markers: Vec<TermId> = terms
            .iter()
            .filter_map(|t| self.term_ids.get(t).copied())
            .filter(|id| self.out_of_scope_only[*id as usize])
            .collect();
        if markers.is_empty() {
            return Vec::new();
        }
        self.targets
            .iter()
            .filter(|t| matches!(t.target, Target::OutOfScope(_)))
            .filter(|t| markers.iter().any(|m| t.all.binary_search(m).is_ok()))
            .map(|t| t.target)
            .collect()
    }

    /// Each query term with its weight and kind, for `ask --explain`.
    pub fn term_report(&self, text: &str) -> Vec<TermReport> {
        self.query_terms(text)
            .into_iter()
            .map(|term| {
                let (id, weight) = self.weight(&term);
                TermReport {
                    generic: self.analyzer.is_generic(&term),
                    known: id.is_some(),
                    term,
                    weight,
                }
            })
            .collect()
    }

    /// Which of the analysed query `terms` occur anywhere in a target's text,
    /// for `ask --explain`.
    pub fn matched_terms(&self, target: Target, terms: &[String]) -> Vec<String> {
        let Some(t) = self.targets.iter().find(|t| t.target == target) else {
            return Vec::new();
        };
        terms
            .iter()
            .filter(|term| {
                self.term_ids
                    .get(*term)
                    .is_some_and(|id| t.all.binary_search(id).is_ok())
            })
            .cloned()
            .collect()
    }

    /// Whether `text` asks about the password or account of a system SECOP
    /// II does not run (see [`super::credential`]): an owner the folder
    /// knows, even misspelt, is not another system.
    pub fn names_another_system(&self, text: &str) -> bool {
        // Cheap first: most messages name no owner of a password or account.
        if !super::credential::names_another_system(text, |_| false) {
            return false;
        }
        let corrected = self.vocabulary.correct(text);
        super::credential::names_another_system(&corrected, |folded| {
            self.vocabulary.contains(folded) || super::lexicon::is_word(folded)
        })
    }

    /// The term the query negates that the target at `ordinal` is about
    /// happening (see `TargetTerms::asserted`): "no me llega el correo"
    /// against the flow of reset e-mails that do arrive.
    pub fn negated_assertion<'a>(&self, ordinal: usize, terms: &'a [String]) -> Option<&'a str> {
        let target = self.targets.get(ordinal)?;
        if target.asserted.is_empty() {
            return None;
        }
        terms.iter().find_map(|t| {
            let id = self.term_ids.get(t.strip_prefix(NEGATED)?)?;
            target.asserted.contains(id).then_some(t.as_str())
        })
    }

    /// The typo-corrected text the analyzer sees (Spanish mode).
    pub fn corrected(&self, text: &str) -> String {
        self.vocabulary.correct(text)
    }

    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// The affirmed terms of `denied_anywhere` (affirmed, negated) that at least
/// [`DENIED_SHARE`] of the target's phrasings hold while none of its texts
/// holds the negation.
fn asserted_terms(target: &TargetTerms, denied_anywhere: &[(TermId, TermId)]) -> Vec<TermId> {
    let phrasings = target.phrasings.len();
    if phrasings < DENIED_MIN_PHRASINGS {
        return Vec::new();
    }
    denied_anywhere
        .iter()
        .filter(|(_, no)| target.all.binary_search(no).is_err())
        .map(|(yes, _)| *yes)
        .filter(|yes| {
            let holding = target
                .phrasings
                .iter()
                .filter(|p| p.binary_search(yes).is_ok())
                .count();
            many_of(holding, phrasings)
        })
        .collect()
}

/// Whether `holding` of a target's `phrasings` are many enough for the
/// target to be about a term happening or not ([`DENIED_SHARE`]): the one
/// rule [`denied_terms`] and [`asserted_terms`] share.
fn many_of(holding: usize, phrasings: usize) -> bool {
    holding as f32 >= DENIED_SHARE * phrasings as f32
}

/// The (affirmed, negated) term ids of the negations ("no_…") that at least
/// [`DENIED_SHARE`] of `phrasings` hold, when there are
/// [`DENIED_MIN_PHRASINGS`] of them or more.
fn denied_terms(
    phrasings: &[Vec<TermId>],
    term_texts: &[&str],
    term_ids: &rustc_hash::FxHashMap<String, TermId>,
) -> Vec<(TermId, TermId)> {
    if phrasings.len() < DENIED_MIN_PHRASINGS {
        return Vec::new();
    }
    let mut counts: rustc_hash::FxHashMap<TermId, usize> = Default::default();
    for phrasing in phrasings {
        for id in phrasing {
            if term_texts[*id as usize].starts_with(NEGATED) {
                *counts.entry(*id).or_default() += 1;
            }
        }
    }
    let mut denied: Vec<(TermId, TermId)> = counts
        .into_iter()
        .filter(|(_, n)| many_of(*n, phrasings.len()))
        .filter_map(|(negated, _)| {
            let affirmed = term_texts[negated as usize].strip_prefix(NEGATED)?;
            Some((*term_ids.get(affirmed)?, negated))
        })
        .collect();
    denied.sort_unstable();
    denied
}

fn idf(n: f32, df: f32) -> f32 {
    (1.0 + (n + 1.0) / (df + 0.5)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::analyzer::Mode;

    fn index() -> SearchIndex {
        let texts = [
            TargetText {
                target: Target::Entry(0),
                title: "¿Qué hago si olvidé mi contraseña?",
                phrasings: vec!["no recuerdo mi clave", "recuperar contraseña"],
                body: "Use la opción de recuperación en la página de ingreso.",
            },
            TargetText {
                target: Target::Entry(1),
                title: "Canales de soporte",
                phrasings: vec!["teléfono de soporte", "chat en línea"],
                body: "Línea nacional y formulario.",
            },
        ];
        let analyzer = Analyzer::new(Mode::Spanish, &[vec!["clave".into(), "contraseña".into()]]);
        SearchIndex::build(analyzer, &texts, &[]).unwrap()
    }

    #[test]
    fn ranks_and_scores() {
        let idx = index();
        let hits = idx.search("olvide mi contrasena");
        assert_eq!(hits[0].target, Target::Entry(0));
        assert!(hits[0].confidence > 0.5, "{hits:?}");
        let hits = idx.search("numero de telefono del soporte");
        assert_eq!(hits[0].target, Target::Entry(1));
    }

    #[test]
    fn tolerates_typos_and_hostile_text() {
        let idx = index();
        assert_eq!(
            idx.search("olvide mi contrasñea")[0].target,
            Target::Entry(0)
        );
        for text in [
            "a:(^",
            "",
            "   ",
            "\"\"\"",
            "*:*",
            "title:x OR 1=1",
            "🙂🙂",
            &"x".repeat(5000),
        ] {
            let _ = idx.search(text);
        }
        assert!(idx.search("a:(^").iter().all(|h| h.confidence < 0.3));
    }
}
