//! The search index: entries, flows and out-of-scope phrases, ranked with a
//! confidence that means the same for every query.
//!
//! tantivy finds candidates (BM25 over title, questions and body, with boosts).
//! Each candidate then gets a *confidence* in 0..1: the IDF-weighted overlap
//! (Ochiai coefficient) between the query's terms and the candidate's best
//! phrasing (its title, one of its `questions` or a flow trigger), blended with
//! how much of the query the whole candidate covers. Generic words (secop,
//! plataforma…) weigh little, and words the folder has never seen weigh on the
//! query side only, so a question about something else scores low.
//!
//! The query is built from the analyzer's own terms (a boolean of term
//! queries): user text never reaches tantivy's query parser.

use std::collections::{HashMap, HashSet};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{doc, Index, IndexReader, ReloadPolicy, Term};

use super::analyzer::{Analyzer, Vocabulary};

/// The tokenizer of the indexed fields: text arrives already analysed.
const PRE_ANALYZED: &str = "pre_analyzed";
/// Candidates tantivy hands to the confidence stage.
const CANDIDATES: usize = 24;
const TITLE_BOOST: f32 = 3.0;
const QUESTIONS_BOOST: f32 = 2.0;
const BODY_BOOST: f32 = 1.0;
/// Weight multiplier of generic words.
const GENERIC_WEIGHT: f32 = 0.2;
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
    /// 0..1, comparable across queries.
    pub confidence: f32,
    /// tantivy's BM25 score, for diagnostics.
    pub bm25: f32,
}

/// Terms of one target, kept to compute confidences.
struct TargetTerms {
    target: Target,
    phrasings: Vec<HashSet<String>>,
    all: HashSet<String>,
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

/// An immutable, searchable snapshot.
pub struct SearchIndex {
    analyzer: Analyzer,
    vocabulary: Vocabulary,
    reader: IndexReader,
    fields: Fields,
    targets: Vec<TargetTerms>,
    /// Term → number of targets containing it.
    doc_freq: HashMap<String, u32>,
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
        let mut targets = Vec::with_capacity(texts.len());
        let mut doc_freq: HashMap<String, u32> = HashMap::new();
        // One thread keeps a single segment and the build deterministic; the
        // folder is small enough that this is not the bottleneck.
        let mut writer = index.writer_with_num_threads(1, 50_000_000)?;
        for (ordinal, t) in texts.iter().enumerate() {
            vocabulary.add_text(t.title);
            let title_terms = analyzer.terms(t.title);
            let mut phrasings = vec![title_terms.iter().cloned().collect::<HashSet<_>>()];
            let mut question_terms = Vec::new();
            for p in &t.phrasings {
                vocabulary.add_text(p);
                let terms = analyzer.terms(p);
                phrasings.push(terms.iter().cloned().collect());
                question_terms.extend(terms);
            }
            vocabulary.add_text(t.body);
            let body_terms = analyzer.terms(t.body);
            let mut all: HashSet<String> = phrasings.iter().flatten().cloned().collect();
            all.extend(body_terms.iter().cloned());
            for term in &all {
                *doc_freq.entry(term.clone()).or_default() += 1;
            }
            phrasings.retain(|p| !p.is_empty());
            writer.add_document(doc!(
                fields.target => ordinal as u64,
                fields.title => title_terms.join(" "),
                fields.questions => question_terms.join(" "),
                fields.body => body_terms.join(" "),
            ))?;
            targets.push(TargetTerms {
                target: t.target,
                phrasings,
                all,
            });
        }
        writer.commit()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let n = targets.len() as f32;
        let max_weight = idf(n, 0.0);
        Ok(SearchIndex {
            analyzer,
            vocabulary,
            reader,
            fields,
            targets,
            doc_freq,
            max_weight,
        })
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
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
        self.analyzer
            .terms(text)
            .into_iter()
            .filter(|t| seen.insert(t.clone()))
            .collect()
    }

    /// Ranks targets for `text`, best first. Never fails: any text gives a
    /// (possibly empty) list.
    pub fn search(&self, text: &str) -> Vec<Hit> {
        let terms = self.query_terms(text);
        if terms.is_empty() {
            return Vec::new();
        }
        let candidates = match self.candidates(&terms) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "search failed");
                return Vec::new();
            }
        };
        let weights: Vec<f32> = terms.iter().map(|t| self.weight(t)).collect();
        let query_weight: f32 = weights.iter().sum();
        let mut hits: Vec<Hit> = candidates
            .into_iter()
            .filter_map(|(bm25, ordinal)| {
                let target = self.targets.get(ordinal)?;
                Some(Hit {
                    target: target.target,
                    confidence: self.confidence(target, &terms, &weights, query_weight),
                    bm25,
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

    fn candidates(&self, terms: &[String]) -> tantivy::Result<Vec<(f32, usize)>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 3);
        for term in terms {
            for (field, boost) in [
                (self.fields.title, TITLE_BOOST),
                (self.fields.questions, QUESTIONS_BOOST),
                (self.fields.body, BODY_BOOST),
            ] {
                let q = TermQuery::new(
                    Term::from_field_text(field, term),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(CANDIDATES).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, address) in top {
            let column = searcher
                .segment_reader(address.segment_ord)
                .fast_fields()
                .u64("target")?;
            if let Some(ordinal) = column.first(address.doc_id) {
                out.push((score, ordinal as usize));
            }
        }
        Ok(out)
    }

    /// How much a query term counts: its IDF over targets, lowered for generic
    /// words; words the folder does not know count half the rarest word.
    fn weight(&self, term: &str) -> f32 {
        let base = match self.doc_freq.get(term) {
            Some(df) => idf(self.targets.len() as f32, *df as f32),
            None => self.max_weight * UNKNOWN_WEIGHT,
        };
        if self.analyzer.is_generic(term) {
            base * GENERIC_WEIGHT
        } else {
            base
        }
    }

    fn confidence(
        &self,
        target: &TargetTerms,
        terms: &[String],
        weights: &[f32],
        query_weight: f32,
    ) -> f32 {
        if query_weight <= 0.0 {
            return 0.0;
        }
        let mut best_phrasing = 0.0f32;
        for phrasing in &target.phrasings {
            let matched: f32 = terms
                .iter()
                .zip(weights)
                .filter(|(t, _)| phrasing.contains(t.as_str()))
                .map(|(_, w)| *w)
                .sum();
            if matched <= 0.0 {
                continue;
            }
            let phrasing_weight: f32 = phrasing.iter().map(|t| self.weight(t)).sum();
            let ochiai = matched / (query_weight * phrasing_weight).sqrt();
            best_phrasing = best_phrasing.max(ochiai);
        }
        let covered: f32 = terms
            .iter()
            .zip(weights)
            .filter(|(t, _)| target.all.contains(t.as_str()))
            .map(|(_, w)| *w)
            .sum();
        let coverage = covered / query_weight;
        (0.65 * best_phrasing + 0.35 * coverage).clamp(0.0, 1.0)
    }

    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
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
