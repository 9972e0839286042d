//! Answer or refuse: the probability that the leading candidate of a ranking
//! is what the question asks for.
//!
//! A threshold on the top confidence alone cannot tell a question whose
//! words happen to match an entry ("la clave del wifi", "el contrato de
//! arriendo") from one about the entry: both score alike. Other facts of the
//! ranking do tell them apart: how far the leader is ahead, whether the
//! classifier agrees, how likely it finds the question out of scope, how
//! much of the question the leader's words cover, how close the nearest
//! out-of-scope phrase came. A logistic model over those features gives the
//! probability the leader is right, and the answer threshold applies to it.
//!
//! The model is fitted by `secobot calibrate` on the folder's held-out
//! phrasings and out-of-scope phrases (k-fold, never an evaluation set) and
//! kept here as constants: fitting it needs five rebuilds of the index, too
//! slow for every load.

use super::index::{Hit, Target};
use super::Signals;
use secobot_textcat::logistic;

/// How many features [`features`] gives.
pub const FEATURES: usize = 9;

/// What each feature is, for `ask --explain` (in the order of [`features`]).
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "confianza del primero",
    "ventaja sobre el segundo",
    "√probabilidad del primero según el clasificador",
    "probabilidad de fuera de alcance según el clasificador",
    "el clasificador opina (1) o no (0)",
    "parte de la pregunta que cubren las palabras del primero",
    "confianza por palabras del primero",
    "parecido (n-gramas) con el centroide del primero",
    "confianza de la frase de fuera de alcance más cercana",
];

/// How a ranking's leader is judged sure enough to answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnswerRule {
    /// secobot: the answer model's probability that the leader is right,
    /// against [`super::Thresholds::answer`].
    Model(AnswerModel),
    /// The tantivy baseline, kept as it was built (it is a yardstick): the
    /// top confidence plus part of its lead over the runner-up, against
    /// [`BASELINE_THRESHOLDS`].
    Confidence,
}

/// What judges a ranking's leader (see [`AnswerRule::basis`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// No candidate at all.
    Nothing,
    /// Only generic words: never sure.
    Generic,
    /// The leader is under the answer model's confidence floor: never sure.
    BelowFloor,
    /// The classifier stayed out: the leader's effective confidence against
    /// [`WORDS_ONLY_ANSWER`].
    WordsOnly,
    /// The answer model's probability.
    Model,
    /// The tantivy baseline's effective confidence.
    Confidence,
}

/// The thresholds the tantivy baseline was built with.
pub const BASELINE_THRESHOLDS: super::Thresholds = super::Thresholds {
    answer: 0.44,
    suggest: 0.30,
    margin: 0.06,
};

/// The effective confidence at which a ranking without the classifier is
/// answered (the answer threshold calibrated before the answer model; its
/// tie margin is [`BASELINE_THRESHOLDS`]'s).
pub const WORDS_ONLY_ANSWER: f32 = 0.44;

/// Share of the lead over the second candidate added to the first's
/// confidence by [`effective`], and the largest lead that counts.
const LEAD_BONUS: f32 = 0.4;
const MAX_LEAD: f32 = 0.10;

impl AnswerRule {
    /// How sure the rule is of the leader of `hits` (0..1), to compare with
    /// the answer threshold.
    ///
    /// The model is never sure of a question of generic words alone, nor of
    /// a leader under its confidence floor: the phrasings it was fitted on
    /// are all about something, so it has not learnt what "about nothing in
    /// particular" looks like. Where the classifier stays out (a negated
    /// query, or a folder too large for one), the model lacks half its
    /// evidence, and word-level evidence decides alone, as before the model:
    /// the leader's effective confidence against [`WORDS_ONLY_ANSWER`], as
    /// 1 (sure) or 0.
    pub fn sureness(&self, hits: &[Hit], signals: Signals) -> f32 {
        match (self, self.basis(hits, signals)) {
            (_, Basis::Nothing | Basis::Generic | Basis::BelowFloor) => 0.0,
            (_, Basis::WordsOnly) => {
                if effective(hits) >= WORDS_ONLY_ANSWER {
                    1.0
                } else {
                    0.0
                }
            }
            (AnswerRule::Model(m), Basis::Model) => m.probability(&features(hits, signals)),
            (_, Basis::Model | Basis::Confidence) => effective(hits),
        }
    }

    /// Which part of the rule judges the leader of `hits` (see
    /// [`AnswerRule::sureness`]); `ask --explain` names it.
    pub fn basis(&self, hits: &[Hit], signals: Signals) -> Basis {
        if matches!(self, AnswerRule::Model(_)) && !signals.specific {
            return Basis::Generic;
        }
        let Some(top) = hits.first() else {
            return Basis::Nothing;
        };
        match self {
            AnswerRule::Model(_) if top.confidence < self.floor() => Basis::BelowFloor,
            AnswerRule::Model(_) if top.model.is_none() => Basis::WordsOnly,
            AnswerRule::Model(_) => Basis::Model,
            AnswerRule::Confidence => Basis::Confidence,
        }
    }

    /// Candidates closer than this to the leader make a tie (offer both):
    /// `t.margin`, except where word-level evidence decides alone, which
    /// keeps the margin it was calibrated with.
    pub fn margin(&self, hits: &[Hit], t: super::Thresholds) -> f32 {
        match self {
            AnswerRule::Model(_) if hits.first().is_some_and(|h| h.model.is_none()) => {
                BASELINE_THRESHOLDS.margin
            }
            _ => t.margin,
        }
    }

    fn floor(&self) -> f32 {
        match self {
            AnswerRule::Model(m) => m.floor,
            AnswerRule::Confidence => 0.0,
        }
    }
}

/// The top confidence plus part of its lead over the runner-up: a clear
/// lead is evidence too (the rule before the answer model).
pub fn effective(hits: &[Hit]) -> f32 {
    let Some(top) = hits.first() else {
        return 0.0;
    };
    let runner_up = hits.get(1).map_or(0.0, |h| h.confidence);
    top.confidence + LEAD_BONUS * (top.confidence - runner_up).min(MAX_LEAD)
}

/// A fitted answer-or-refuse model: `P(right) = σ(bias + weights · features)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerModel {
    pub bias: f32,
    pub weights: [f32; FEATURES],
    /// Lowest top confidence ever answered (calibrated with the threshold).
    pub floor: f32,
}

/// Fitted by `secobot calibrate` on the bundled folder (see docs/knowledge.md,
/// "Calibración"); it prints these lines for its best setting.
pub const ANSWER_MODEL: AnswerModel = AnswerModel {
    bias: -1.342,
    weights: [
        0.723, 4.782, 0.299, -3.376, 0.000, 2.665, -0.523, -2.240, -2.837,
    ],
    floor: 0.30,
};

impl AnswerModel {
    /// The probability that the leader of `hits` is right.
    pub fn probability(&self, features: &[f32; FEATURES]) -> f32 {
        logistic::probability(self.bias, &self.weights, features)
    }

    /// Fits a model on `rows` of features and whether the leader was right,
    /// with confidence floor `floor`.
    ///
    /// # Errors
    /// When the rows are all right or all wrong, or the optimiser fails.
    pub fn fit(rows: &[([f32; FEATURES], bool)], floor: f32) -> Result<Self, logistic::FitError> {
        let x: Vec<Vec<f32>> = rows.iter().map(|(f, _)| f.to_vec()).collect();
        let y: Vec<bool> = rows.iter().map(|(_, right)| *right).collect();
        let fitted = logistic::Binary::fit(&x, &y, FEATURES)?;
        let mut weights = [0.0; FEATURES];
        for (w, f) in weights.iter_mut().zip(&fitted.weights) {
            *w = *f;
        }
        Ok(AnswerModel {
            bias: fitted.bias,
            weights,
            floor,
        })
    }
}

/// The features of a ranking, `hits` best first (empty: all zero), with the
/// question's `signals`.
pub fn features(hits: &[Hit], signals: Signals) -> [f32; FEATURES] {
    let Some(top) = hits.first() else {
        return [0.0; FEATURES];
    };
    let second = hits.get(1).map_or(0.0, |h| h.confidence);
    let nearest_out_of_scope = hits
        .iter()
        .filter(|h| matches!(h.target, Target::OutOfScope(_)))
        .map(|h| h.confidence)
        .fold(0.0f32, f32::max);
    [
        top.confidence,
        top.confidence - second,
        top.model.map_or(0.0, |p| p.max(0.0).sqrt()),
        signals.out_of_scope.unwrap_or(0.0),
        if top.model.is_some() { 1.0 } else { 0.0 },
        top.coverage,
        top.lexical,
        top.centroid,
        nearest_out_of_scope,
    ]
}
