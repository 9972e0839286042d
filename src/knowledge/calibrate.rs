//! `secobot calibrate`: chooses the fusion weight and the answer threshold by
//! k-fold cross-validation on the folder's own phrasings, never on an
//! evaluation set.
//!
//! Each fold leaves out a fifth of every entry's `questions:`, every flow's
//! triggers and the out-of-scope phrases, rebuilds the index without them and
//! asks the left-out phrasings as if users had typed them. A setting is judged
//! by recall@1 on the in-scope ones minus its share of confident wrong
//! answers, plus half its refusals of the left-out out-of-scope phrases.
//!
//! Left-out phrasings are harder than users' questions (each writer made its
//! phrasings differ on purpose, and a left-out one often has no sibling left
//! in the folder), so their absolute figures are low; what calibration uses
//! is how the settings compare. Heavier costs for a wrong answer (2 or 3)
//! were tried: on these phrasings they push the threshold to where the bot
//! refuses half of what it could answer.

use std::path::Path;

use super::index::Hit;
use super::{fuse_and_rank, loader, Decision, Fusion, Knowledge, Mode, Thresholds};
use crate::problem::Problems;

const FOLDS: usize = 5;
const WEIGHTS: &[f32] = &[0.2, 0.3, 0.35, 0.4, 0.5, 0.6];
const BM25_DISCOUNTS: &[f32] = &[0.0, 0.2, 0.35, 0.5, 0.7];
const CENTROID_SHARES: &[f32] = &[0.0, 0.5, 1.0];
const MARGINS: &[f32] = &[0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15];
/// What a confident wrong answer costs, in right answers.
const WRONG_COST: f64 = 1.0;
/// What refusing a left-out out-of-scope phrase is worth, in right answers.
const REFUSAL_VALUE: f64 = 0.5;

/// One left-out phrasing: its search hits, and what should answer it
/// (`None` for an out-of-scope phrase).
struct HeldOut {
    hits: Vec<Hit>,
    out_of_scope: Vec<super::Target>,
    knowledge: usize,
    expected: Option<String>,
}

/// The figures of one setting over all folds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    pub fusion: Fusion,
    pub thresholds: Thresholds,
    pub recall: f64,
    pub wrong_confident: f64,
    pub refusals: f64,
    pub objective: f64,
    pub rows: usize,
}

/// Cross-validates every setting of the grid on the folder in `dir`; the best
/// first.
///
/// # Errors
/// The folder's problems, when it cannot be loaded.
pub fn calibrate(dir: &Path) -> Result<Vec<Calibration>, Problems> {
    let full = loader::load(dir);
    if !full.problems.is_empty() {
        return Err(Problems(full.problems));
    }
    let mut snapshots = Vec::with_capacity(FOLDS);
    let mut held: Vec<HeldOut> = Vec::new();
    for fold in 0..FOLDS {
        let mut part = full.clone();
        let mut questions: Vec<(String, String)> = Vec::new();
        for e in &mut part.entries {
            let (out, keep) = split(std::mem::take(&mut e.questions), fold);
            e.questions = keep;
            questions.extend(out.into_iter().map(|q| (q, e.id.clone())));
        }
        for f in &mut part.flows {
            let label = f.id.clone();
            let (out, keep) = split(std::mem::take(&mut f.triggers), fold);
            f.triggers = keep;
            questions.extend(out.into_iter().map(|q| (q, label.clone())));
        }
        let (out_of_scope, keep) = split(std::mem::take(&mut part.out_of_scope), fold);
        part.out_of_scope = keep;
        let k = Knowledge::from_loaded(dir, part, Mode::Spanish, Thresholds::default())?;
        for (q, id) in questions {
            held.push(HeldOut {
                hits: k.search_with(&q, true),
                out_of_scope: k.out_of_scope_matches(&q),
                knowledge: fold,
                expected: Some(id),
            });
        }
        for q in out_of_scope {
            held.push(HeldOut {
                hits: k.search_with(&q, true),
                out_of_scope: k.out_of_scope_matches(&q),
                knowledge: fold,
                expected: None,
            });
        }
        snapshots.push(k);
    }
    let mut results = Vec::new();
    let grid = WEIGHTS.iter().flat_map(|&ngram| {
        BM25_DISCOUNTS.iter().flat_map(move |&bm25| {
            CENTROID_SHARES.iter().map(move |&centroid| Fusion {
                ngram,
                bm25,
                centroid,
                model: super::FUSION.model,
            })
        })
    });
    for w in grid {
        let reranked: Vec<Vec<Hit>> = held
            .iter()
            .map(|h| {
                let mut hits = h.hits.clone();
                fuse_and_rank(&mut hits, w);
                super::out_of_scope_first(&mut hits, &h.out_of_scope);
                hits
            })
            .collect();
        for answer in (15..=35).map(|i| i as f32 * 0.02) {
            for &margin in MARGINS {
                let t = Thresholds {
                    answer,
                    suggest: (answer - 0.14).max(0.1),
                    margin,
                };
                results.push(score(&snapshots, &held, &reranked, w, t));
            }
        }
    }
    results.sort_by(|a, b| b.objective.total_cmp(&a.objective));
    Ok(results)
}

fn score(
    snapshots: &[Knowledge],
    held: &[HeldOut],
    reranked: &[Vec<Hit>],
    fusion: Fusion,
    thresholds: Thresholds,
) -> Calibration {
    let (mut right, mut wrong, mut in_scope, mut refused, mut out_rows) = (0, 0, 0, 0, 0usize);
    for (h, hits) in held.iter().zip(reranked) {
        let k = &snapshots[h.knowledge];
        let answered = match k.decide_with(hits, thresholds) {
            Decision::Answer { topic, .. } => Some(topic.id().to_owned()),
            _ => None,
        };
        match &h.expected {
            Some(id) => {
                in_scope += 1;
                match answered {
                    Some(got) if got == *id => right += 1,
                    Some(_) => wrong += 1,
                    None => {}
                }
            }
            None => {
                out_rows += 1;
                if answered.is_none() {
                    refused += 1;
                } else {
                    wrong += 1;
                }
            }
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let recall = ratio(right, in_scope);
    let wrong_confident = ratio(wrong, in_scope + out_rows);
    let refusals = ratio(refused, out_rows);
    Calibration {
        fusion,
        thresholds,
        recall,
        wrong_confident,
        refusals,
        objective: recall - WRONG_COST * wrong_confident + REFUSAL_VALUE * refusals,
        rows: held.len(),
    }
}

/// Splits `items` into (left out in `fold`, kept): every fifth item, offset
/// by the fold.
fn split(items: Vec<String>, fold: usize) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    let mut keep = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if i % FOLDS == fold {
            out.push(item);
        } else {
            keep.push(item);
        }
    }
    (out, keep)
}
