//! BM25 impacts: each indexed term's tantivy BM25 score in every target that
//! holds it, summed over the boosted fields, read once when the index is
//! built.
//!
//! A query's BM25 is the sum of its terms' impacts: what tantivy computes for
//! a `BooleanQuery` of one boosted `TermQuery` per term and field (BM25 has no
//! coordination factor), with the same statistics, since the index never
//! changes after the build. Asking tantivy per question cost a third of a
//! question's time on a folder of a hundred entries: a weight and a scorer
//! per clause, and top-k pruning built for millions of documents.

use tantivy::columnar::Column;
use tantivy::postings::Postings;
use tantivy::query::Bm25Weight;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, Searcher, Term, TERMINATED};

use super::index::TermId;

/// By term id: (target ordinal, BM25 impact) pairs.
pub(super) struct Impacts {
    by_term: Vec<Vec<(u32, f32)>>,
    targets: usize,
}

/// One tantivy field the candidates are scored on, with its boost.
pub(super) struct ScoredField {
    pub field: Field,
    pub boost: f32,
    /// The bit of this field in a term's field mask.
    pub bit: u8,
}

impl Impacts {
    /// Reads the postings of every term (`terms[id]` is the text of term id
    /// `id`, `masks[id]` the fields that hold it) in every field.
    /// `columns[segment]` maps a document to its target ordinal.
    ///
    /// # Errors
    /// When tantivy cannot read its own in-RAM index (should not happen).
    pub fn build(
        searcher: &Searcher,
        columns: &[Column<u64>],
        fields: &[ScoredField],
        terms: &[&str],
        masks: &[u8],
        targets: usize,
    ) -> tantivy::Result<Self> {
        let mut by_term: Vec<Vec<(u32, f32)>> = vec![Vec::new(); terms.len()];
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let Some(column) = columns.get(segment_ord) else {
                continue;
            };
            for f in fields {
                let inverted = segment.inverted_index(f.field)?;
                let norms = segment.get_fieldnorms_reader(f.field)?;
                for (id, (text, mask)) in terms.iter().zip(masks).enumerate() {
                    if mask & f.bit == 0 {
                        continue;
                    }
                    let term = Term::from_field_text(f.field, text);
                    let Some(mut postings) =
                        inverted.read_postings(&term, IndexRecordOption::WithFreqs)?
                    else {
                        continue;
                    };
                    let weight = Bm25Weight::for_terms(searcher, std::slice::from_ref(&term))?;
                    let mut doc = postings.doc();
                    while doc != TERMINATED {
                        let score =
                            weight.score(norms.fieldnorm_id(doc), postings.term_freq()) * f.boost;
                        if let Some(ordinal) = column.first(doc) {
                            by_term[id].push((ordinal as u32, score));
                        }
                        doc = postings.advance();
                    }
                }
            }
        }
        Ok(Impacts { by_term, targets })
    }

    /// The `limit` targets with the highest BM25 for the query of term ids
    /// `ids` (each once), best first, ties by ordinal; only targets holding
    /// some term.
    pub fn top(&self, ids: impl Iterator<Item = TermId>, limit: usize) -> Vec<(f32, usize)> {
        let mut scores = vec![0.0f32; self.targets];
        let mut touched: Vec<usize> = Vec::new();
        for id in ids {
            for (ordinal, impact) in self.by_term.get(id as usize).map_or(&[][..], Vec::as_slice) {
                let o = *ordinal as usize;
                if scores[o] == 0.0 {
                    touched.push(o);
                }
                scores[o] += impact;
            }
        }
        let mut out: Vec<(f32, usize)> = touched.into_iter().map(|o| (scores[o], o)).collect();
        out.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        out.truncate(limit);
        out
    }
}
