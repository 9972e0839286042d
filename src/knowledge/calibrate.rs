//! `secobot calibrate`: chooses the fusion weights (the classifier's among
//! them), the answer model of [`super::verdict`] and the thresholds by k-fold
//! cross-validation on the folder's own phrasings, never on an evaluation
//! set.
//!
//! Each fold leaves out a fifth of every entry's `questions:`, every flow's
//! triggers and the out-of-scope phrases, rebuilds the index without them and
//! asks the left-out phrasings as if users had typed them. A setting is judged
//! by recall@1 on the in-scope ones minus its share of confident wrong
//! answers, plus half its refusals of the left-out out-of-scope phrases.
//! The answer model that judges a fold's rows is fitted on the other folds'
//! rows (cross-fitting), so its objective is an out-of-sample figure.
//!
//! Left-out phrasings are harder than users' questions (each writer made its
//! phrasings differ on purpose, and a left-out one often has no sibling left
//! in the folder), so their absolute figures are low; what calibration uses
//! is how the settings compare. Heavier costs for a wrong answer (2 or 3)
//! were tried: on these phrasings they push the threshold to where the bot
//! refuses half of what it could answer.

use std::path::Path;

use super::index::{Hit, Target};
use super::verdict::{self, AnswerModel, AnswerRule, FEATURES};
use super::{fuse_and_rank, loader, Decision, Fusion, Knowledge, Mode, Ranking, Thresholds};
use crate::problem::Problems;

const FOLDS: usize = 5;
const WEIGHTS: &[f32] = &[0.1, 0.2, 0.3, 0.4, 0.5];
const BM25_DISCOUNTS: &[f32] = &[0.0, 0.35, 0.7];
/// The centroid alone: with half the nearest phrasing's cosine the best
/// objective was 0.874 against 0.873, and measuring that cosine is a fifth of
/// a question's time (see [`super::Knowledge::search`]).
const CENTROID_SHARES: &[f32] = &[1.0];
/// The classifier's share of the confidence (see [`Fusion::model`]). Under
/// 0.35 it no longer tells close entries apart (the ranking-kind test
/// `close_entries_are_told_apart_by_what_distinguishes_their_phrasings`
/// fails at 0.2, which the objective alone slightly preferred: 0.877 at 0.2
/// in an earlier run of this grid, before the words-only rule for negations;
/// 0.872 at 0.35 then). With six more phrasings per entry, 0.5 is the best
/// (1.012 against 1.009 at 0.35).
const MODEL_WEIGHTS: &[f32] = &[0.35, 0.5, 0.65];
/// Tie margins tried. Under 0.06 a stem collision with a lead of a few
/// hundredths is answered (the ranking-kind test
/// `stemming_collisions_do_not_answer` fails at 0.04, which the objective
/// alone preferred by 0.001: 0.873 against 0.872 at 0.08).
const MARGINS: &[f32] = &[0.06, 0.08, 0.10, 0.12];
/// Confidence floors tried (see [`AnswerModel::floor`]).
const FLOORS: &[f32] = &[0.0, 0.30, 0.35, 0.40, 0.45];
/// Answer thresholds tried: probabilities that the leader is right.
const ANSWER_PROBABILITIES: std::ops::RangeInclusive<usize> = 6..=18;
const ANSWER_STEP: f32 = 0.05;
/// Offering choices does not change the objective (a choice is neither a
/// right nor a wrong answer), so its threshold is not searched.
const SUGGEST: f32 = 0.30;
/// What a confident wrong answer costs, in right answers.
const WRONG_COST: f64 = 1.0;
/// What refusing a left-out out-of-scope phrase is worth, in right answers.
const REFUSAL_VALUE: f64 = 0.5;

/// One left-out phrasing: its ranking, and what should answer it
/// (`None` for an out-of-scope phrase).
struct HeldOut {
    ranking: Ranking,
    out_of_scope: Vec<Target>,
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
    /// The confidence floor (see [`AnswerModel::floor`]).
    pub floor: f32,
    /// The answer model of this setting fitted on all held-out rows (only
    /// for the best setting; the objective comes from cross-fitted ones).
    pub answer_model: Option<AnswerModel>,
}

impl Calibration {
    /// This setting as the Rust constants it is kept in (`FUSION` and
    /// `Thresholds::default` in knowledge/mod.rs, `ANSWER_MODEL` in
    /// knowledge/verdict.rs).
    pub fn constants(&self) -> String {
        let f = self.fusion;
        let t = self.thresholds;
        let mut out = format!(
            "NGRAM_WEIGHT = {:.2}; BM25_DISCOUNT = {:.2}; CENTROID_SHARE = {:.2}; MODEL_WEIGHT = {:.2};\n\
             Thresholds {{ answer: {:.2}, suggest: {:.2}, margin: {:.2} }}\n",
            f.ngram, f.bm25, f.centroid, f.model, t.answer, t.suggest, t.margin
        );
        if let Some(m) = self.answer_model {
            let weights: Vec<String> = m.weights.iter().map(|w| format!("{w:.3}")).collect();
            out.push_str(&format!(
                "AnswerModel {{ bias: {:.3}, weights: [{}], floor: {:.2} }}\n",
                m.bias,
                weights.join(", "),
                m.floor
            ));
        }
        out
    }
}

/// Cross-validates every setting of the grid on the folder in `dir`; the
/// best first, with its answer model fitted on all held-out rows (see
/// [`calibrate_all`]).
///
/// # Errors
/// The folder's problems, when it cannot be loaded.
pub fn calibrate(dir: &Path) -> Result<Vec<Calibration>, Problems> {
    calibrate_all(dir).map(|c| c.results)
}

/// What calibration found: every setting, the best first, and the setting
/// in use on the same rows.
pub struct Calibrated {
    pub results: Vec<Calibration>,
    /// The setting in use ([`super::FUSION`], [`Thresholds::default`],
    /// [`verdict::ANSWER_MODEL`]) on the same rows, for comparison.
    pub current: Calibration,
}

/// [`calibrate`], with the figures of the setting in use.
///
/// Each fold leaves out a fifth of the phrasings and ranks them with the
/// rest (outer folds). For each fusion, the answer model that judges a
/// fold's rows is fitted on the other folds' rows only (cross-fitting), so
/// the objective never rewards a model for remembering the rows it judges.
///
/// # Errors
/// The folder's problems, when it cannot be loaded.
pub fn calibrate_all(dir: &Path) -> Result<Calibrated, Problems> {
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
        let asked = questions
            .into_iter()
            .map(|(q, id)| (q, Some(id)))
            .chain(out_of_scope.into_iter().map(|q| (q, None)));
        for (q, expected) in asked {
            held.push(HeldOut {
                ranking: k.rank_with(&q, true),
                out_of_scope: k.out_of_scope_matches(&q),
                knowledge: fold,
                expected,
            });
        }
        snapshots.push(k);
    }
    let mut results = Vec::new();
    let grid = WEIGHTS.iter().flat_map(|&ngram| {
        BM25_DISCOUNTS.iter().flat_map(move |&bm25| {
            CENTROID_SHARES.iter().flat_map(move |&centroid| {
                MODEL_WEIGHTS.iter().map(move |&model| Fusion {
                    ngram,
                    bm25,
                    centroid,
                    model,
                })
            })
        })
    });
    for w in grid {
        let reranked = rerank(&held, w);
        let Some(models) = cross_fitted(&snapshots, &held, &reranked) else {
            continue;
        };
        for &floor in FLOORS {
            let rules: Vec<AnswerRule> = models
                .iter()
                .map(|m| AnswerRule::Model(AnswerModel { floor, ..*m }))
                .collect();
            for answer in ANSWER_PROBABILITIES.map(|i| i as f32 * ANSWER_STEP) {
                for &margin in MARGINS {
                    let t = Thresholds {
                        answer,
                        suggest: SUGGEST.min(answer),
                        margin,
                    };
                    let mut c = score(&snapshots, &held, &reranked, &rules, w, t);
                    c.floor = floor;
                    results.push(c);
                }
            }
        }
    }
    results.sort_by(|a, b| b.objective.total_cmp(&a.objective));
    if let Some(best) = results.first_mut() {
        let reranked = rerank(&held, best.fusion);
        best.answer_model = AnswerModel::fit(
            &labelled(&snapshots, &held, &reranked, |_| true),
            best.floor,
        )
        .ok();
    }
    let current = {
        let reranked = rerank(&held, super::FUSION);
        let models = vec![AnswerRule::Model(verdict::ANSWER_MODEL); FOLDS];
        let mut c = score(
            &snapshots,
            &held,
            &reranked,
            &models,
            super::FUSION,
            Thresholds::default(),
        );
        c.floor = verdict::ANSWER_MODEL.floor;
        c
    };
    Ok(Calibrated { results, current })
}

/// Every held-out row's hits fused with `w`, best first.
fn rerank(held: &[HeldOut], w: Fusion) -> Vec<Vec<Hit>> {
    held.iter()
        .map(|h| {
            let mut hits = h.ranking.hits.clone();
            fuse_and_rank(&mut hits, w);
            super::out_of_scope_first(&mut hits, &h.out_of_scope);
            hits
        })
        .collect()
}

/// The answer model's training rows among the held-out rows that `keep`
/// selects: the features of each ranking whose leader is an entry or a
/// flow, and whether that leader is what was expected (never, for an
/// out-of-scope phrase). A ranking led by an out-of-scope phrase, or by
/// nothing, is refused whatever the model says.
fn labelled(
    snapshots: &[Knowledge],
    held: &[HeldOut],
    reranked: &[Vec<Hit>],
    keep: impl Fn(&HeldOut) -> bool,
) -> Vec<([f32; FEATURES], bool)> {
    // The objective values refusing one out-of-scope phrase at
    // REFUSAL_VALUE / (out-of-scope rows) and answering one phrasing at
    // 1 / (in-scope rows): the model's loss weighs them alike, by repeating
    // each out-of-scope row (linfa-logistic takes no sample weights).
    let out_rows = held.iter().filter(|h| h.expected.is_none()).count().max(1);
    let repeat = ((REFUSAL_VALUE * (held.len() - out_rows) as f64 / out_rows as f64).round()
        as usize)
        .max(1);
    held.iter()
        .zip(reranked)
        .filter(|(h, _)| keep(h))
        .filter_map(|(h, hits)| {
            // Generic-only questions are refused, and without the
            // classifier word-level evidence decides alone (see
            // `AnswerRule::sureness`): not the model's rows.
            let top = hits
                .first()
                .filter(|t| t.model.is_some() && h.ranking.signals.specific)?;
            let id = snapshots[h.knowledge].target_id(top.target)?;
            let right = h.expected.as_deref() == Some(id.as_str());
            let times = if h.expected.is_none() { repeat } else { 1 };
            Some(std::iter::repeat_n(
                (verdict::features(hits, h.ranking.signals), right),
                times,
            ))
        })
        .flatten()
        .collect()
}

/// One answer model per fold (no floor), each fitted on the other folds'
/// rows; `None` when a fold's complement cannot be fitted.
fn cross_fitted(
    snapshots: &[Knowledge],
    held: &[HeldOut],
    reranked: &[Vec<Hit>],
) -> Option<Vec<AnswerModel>> {
    (0..FOLDS)
        .map(|fold| {
            let rows = labelled(snapshots, held, reranked, |h| h.knowledge != fold);
            AnswerModel::fit(&rows, 0.0).ok()
        })
        .collect()
}

fn score(
    snapshots: &[Knowledge],
    held: &[HeldOut],
    reranked: &[Vec<Hit>],
    models: &[AnswerRule],
    fusion: Fusion,
    thresholds: Thresholds,
) -> Calibration {
    let (mut right, mut wrong, mut in_scope, mut refused, mut out_rows) = (0, 0, 0, 0, 0usize);
    for (h, hits) in held.iter().zip(reranked) {
        let k = &snapshots[h.knowledge];
        let Some(model) = models.get(h.knowledge) else {
            continue;
        };
        let answered = match k.decide_with(hits, h.ranking.signals, thresholds, model) {
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
        floor: 0.0,
        answer_model: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The calibrated constants of the bundled folder, to paste into
    /// knowledge/mod.rs and knowledge/verdict.rs after a large change to it:
    /// `cargo test --release --lib print_calibrated_constants -- --ignored --nocapture`.
    #[test]
    #[ignore = "rebuilds the index five times and searches a grid: run by hand, in release"]
    fn print_calibrated_constants() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        let c = calibrate_all(&dir).expect("bundled folder");
        let show = |name: &str, c: &Calibration| {
            println!(
                "{name}: recall@1 {:.3} wrong {:.3} refusals {:.3} objective {:.3} ({} rows)\n{}",
                c.recall,
                c.wrong_confident,
                c.refusals,
                c.objective,
                c.rows,
                c.constants()
            );
        };
        show("in use", &c.current);
        for (i, r) in c.results.iter().take(10).enumerate() {
            show(&format!("#{}", i + 1), r);
        }
    }
}
