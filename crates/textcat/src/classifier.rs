//! Multinomial logistic regression over character n-gram TF-IDF vectors.
//!
//! Two users:
//! - the n-gram peer of `secobot eval --baseline ngram`: what a data
//!   scientist builds in an afternoon (`TfidfVectorizer(analyzer="char_wb",
//!   ngram_range=(2,5))` + `LogisticRegression`), with a refusal threshold
//!   chosen by k-fold cross-validation on the folder's own phrasings
//!   ([`Classifier::train`]);
//! - secobot's own ranking, which blends its probabilities with the word-level
//!   and similarity evidence ([`Classifier::fit_only`], no threshold).
//!
//! The model is trained with plain SGD on sparse vectors: linfa-logistic and
//! smartcore take dense matrices, which for ~30,000 n-gram features and ~100
//! classes means gigabytes and minutes instead of a second.

use crate::ngram::{SparseVec, Vectorizer};

/// Training settings: enough epochs for the loss to settle on ~2,000
/// phrasings; L2 as scikit-learn's default `C=1.0` roughly amounts to.
const EPOCHS: usize = 30;
const LEARNING_RATE: f32 = 0.5;
const L2: f32 = 1e-4;
/// Folds of the threshold's cross-validation.
const FOLDS: usize = 5;

/// secobot's ranking drops weights smaller than this after training (the
/// peer keeps all of them: it is the yardstick as built). Most of a trained
/// model's features × classes weights are the small negative nudges SGD gave
/// every class an n-gram was not seen with; their sum moves a logit by a few
/// thousandths, while storing and adding them is most of the memory and
/// the time of a prediction.
const PRUNE: f32 = 0.01;

/// How SGD orders the examples in each epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// One seeded shuffle of all positions per epoch (the peer, as built).
    Shuffled,
    /// By a hash of each example's text, class and the epoch. With a global
    /// shuffle every example's place depends on all the others: one phrasing
    /// added to a folder reorders every epoch, and decisions far from it
    /// moved. Here the others keep their relative order, so an edit's effect
    /// stays near what it changed (on the evaluation sets, 2 to 4 changed
    /// decisions for 2 to 4 added lines, against 7 to 11 shuffled).
    ByText,
}

/// A trained classifier.
pub struct Classifier {
    vectorizer: Vectorizer,
    /// By feature `f`: its nonzero (class, weight) pairs, pruned or not, at
    /// `weights[offsets[f]..offsets[f + 1]]` (one allocation: a prediction
    /// walks them in memory order).
    offsets: Vec<usize>,
    weights: Vec<(u32, f32)>,
    bias: Vec<f32>,
    classes: usize,
    /// Probability below which the peer refuses (answers `fallback`).
    pub threshold: f32,
}

/// A prediction: class index and its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub class: usize,
    pub probability: f32,
}

impl Classifier {
    /// Trains on `(text, class)` examples with `classes` classes, then picks
    /// the refusal threshold by k-fold cross-validation on the same examples.
    pub fn train(examples: &[(&str, usize)], classes: usize) -> Self {
        let threshold = cross_validated_threshold(examples, classes);
        let mut model = fit(examples, classes, 0.0, Order::Shuffled);
        model.threshold = threshold;
        model
    }

    /// Trains without choosing a refusal threshold, for a caller that decides
    /// with its own (secobot's ranking): one fit instead of `FOLDS + 1`.
    /// Its small weights are pruned (see [`PRUNE`]).
    /// Examples are visited in an order an edit of the folder disturbs
    /// little (see [`Order::ByText`]).
    pub fn fit_only(examples: &[(&str, usize)], classes: usize) -> Self {
        fit(examples, classes, PRUNE, Order::ByText)
    }

    /// Weights kept after pruning, and the features × classes a dense model
    /// would hold (for the memory figures of docs/performance.md).
    pub fn weights_kept(&self) -> (usize, usize) {
        let features = self.offsets.len().saturating_sub(1);
        (self.weights.len(), features * self.classes)
    }

    /// Every class's probability for `text`, by class index.
    pub fn probabilities_of(&self, text: &str) -> Vec<f32> {
        self.probabilities(&self.vectorizer.transform(text))
    }

    /// The most probable class of `text`.
    pub fn predict(&self, text: &str) -> Prediction {
        let x = self.vectorizer.transform(text);
        let p = self.probabilities(&x);
        let (class, probability) = p
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        Prediction { class, probability }
    }

    fn probabilities(&self, x: &SparseVec) -> Vec<f32> {
        let mut z = self.bias.clone();
        for (f, v) in x {
            let f = *f as usize;
            let (Some(start), Some(end)) = (self.offsets.get(f), self.offsets.get(f + 1)) else {
                continue;
            };
            for (c, w) in &self.weights[*start..*end] {
                z[*c as usize] += v * w;
            }
        }
        softmax(&mut z);
        z
    }
}

/// The class probabilities of `x` under dense feature-major weights
/// (`w[f * classes + c]`), as training needs them.
fn dense_probabilities(weights: &[f32], bias: &[f32], x: &SparseVec) -> Vec<f32> {
    let c = bias.len();
    let mut z = bias.to_vec();
    for (f, v) in x {
        let row = &weights[*f as usize * c..(*f as usize + 1) * c];
        for (zi, wi) in z.iter_mut().zip(row) {
            *zi += v * wi;
        }
    }
    softmax(&mut z);
    z
}

fn softmax(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 {
        for v in z.iter_mut() {
            *v /= sum;
        }
    }
}

/// SGD over the examples in `order` (deterministic: the same folder trains
/// the same model), learning rate decaying per epoch, lazy-free L2 applied
/// per step to the touched rows.
fn fit(examples: &[(&str, usize)], classes: usize, prune: f32, order_by: Order) -> Classifier {
    let texts: Vec<&str> = examples.iter().map(|(t, _)| *t).collect();
    let (vectorizer, xs) = Vectorizer::fit_transform(&texts, None);
    let c = classes.max(1);
    let mut weights = vec![0.0f32; vectorizer.len() * c];
    let mut bias = vec![0.0f32; c];
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let keys: Vec<u64> = match order_by {
        Order::ByText => examples.iter().map(|(t, c)| text_hash(t, *c)).collect(),
        Order::Shuffled => Vec::new(),
    };
    for epoch in 0..EPOCHS {
        match order_by {
            Order::Shuffled => shuffle(&mut order, &mut seed),
            Order::ByText => {
                let salt = (epoch as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                order.sort_by_key(|&i| (mix(keys[i] ^ salt), i));
            }
        }
        let lr = LEARNING_RATE / (1.0 + epoch as f32 * 0.2);
        for &i in &order {
            let x = &xs[i];
            let mut g = dense_probabilities(&weights, &bias, x);
            g[examples[i].1] -= 1.0;
            for (bi, gi) in bias.iter_mut().zip(&g) {
                *bi -= lr * gi;
            }
            for (f, v) in x {
                let row = &mut weights[*f as usize * c..(*f as usize + 1) * c];
                for (wi, gi) in row.iter_mut().zip(&g) {
                    *wi -= lr * (gi * v + L2 * *wi);
                }
            }
        }
    }
    let mut offsets = Vec::with_capacity(vectorizer.len() + 1);
    let mut kept = Vec::new();
    offsets.push(0);
    for row in weights.chunks(c) {
        kept.extend(
            row.iter()
                .enumerate()
                .filter(|(_, w)| **w != 0.0 && w.abs() >= prune)
                .map(|(class, w)| (class as u32, *w)),
        );
        offsets.push(kept.len());
    }
    Classifier {
        vectorizer,
        offsets,
        weights: kept,
        bias,
        classes: c,
        threshold: 0.0,
    }
}

/// FNV-1a of an example's text, seeded with its class.
fn text_hash(text: &str, class: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ class as u64;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// SplitMix64's finaliser: spreads a hash salted with the epoch.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fisher–Yates with xorshift64: deterministic, no dependency for a shuffle.
fn shuffle(order: &mut [usize], seed: &mut u64) {
    for i in (1..order.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = (*seed % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

/// The threshold that maximises, over held-out folds, right answers given
/// plus wrong answers refused (refusing a wrong answer is the honest outcome).
fn cross_validated_threshold(examples: &[(&str, usize)], classes: usize) -> f32 {
    if examples.len() < FOLDS * 2 {
        return 0.0;
    }
    let mut held_out: Vec<(f32, bool)> = Vec::with_capacity(examples.len());
    for fold in 0..FOLDS {
        let train: Vec<(&str, usize)> = examples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % FOLDS != fold)
            .map(|(_, e)| *e)
            .collect();
        let model = fit(&train, classes, 0.0, Order::Shuffled);
        for (_, (text, class)) in examples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % FOLDS == fold)
        {
            let p = model.predict(text);
            held_out.push((p.probability, p.class == *class));
        }
    }
    let mut best = (0.0f32, 0usize);
    for step in 0..100 {
        let t = step as f32 / 100.0;
        let good = held_out
            .iter()
            .filter(|(p, right)| (*p >= t) == *right)
            .count();
        if good > best.1 {
            best = (t, good);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_classes_and_a_threshold() {
        let mut examples = Vec::new();
        for q in [
            "olvidé mi contraseña",
            "no recuerdo la clave",
            "recuperar contraseña",
            "perdí la clave de acceso",
            "cómo recupero mi password",
        ] {
            examples.push((q, 0));
        }
        for q in [
            "cómo subo la factura",
            "cargar cuenta de cobro",
            "factura en el plan de pagos",
            "dónde cargo la factura del contrato",
            "subir la factura mensual",
        ] {
            examples.push((q, 1));
        }
        let model = Classifier::train(&examples, 2);
        assert_eq!(model.predict("se me olvido la clave").class, 0);
        assert_eq!(model.predict("subir factura").class, 1);
        assert!((0.0..1.0).contains(&model.threshold));
    }

    /// Kind: an edit of the folder moves decisions far from it. One example
    /// added must leave the probabilities of unrelated texts nearly as they
    /// were.
    #[test]
    fn an_added_example_moves_other_predictions_little() {
        let topics = [
            "contraseña",
            "factura",
            "contrato",
            "oferta",
            "póliza",
            "correo",
            "usuario",
            "proceso",
            "adenda",
            "subasta",
            "garantía",
            "pliego",
        ];
        let frames = [
            "cómo cambio la {}",
            "dónde veo el {}",
            "no puedo subir la {}",
            "ayuda con {} en secop",
            "qué hago con la {} rechazada",
            "la {} no aparece",
        ];
        let texts: Vec<(String, usize)> = topics
            .iter()
            .enumerate()
            .flat_map(|(c, t)| frames.iter().map(move |f| (f.replace("{}", t), c)))
            .collect();
        let examples: Vec<(&str, usize)> = texts.iter().map(|(t, c)| (t.as_str(), *c)).collect();
        let mut edited = examples.clone();
        edited.insert(7, ("me llegó un correo raro de la plataforma", 5));
        let probes = [
            "cambiar la factura",
            "subasta inversa",
            "el pliego no aparece",
        ];
        let moved = |order: Order| {
            let (a, b) = (
                fit(&examples, topics.len(), 0.0, order),
                fit(&edited, topics.len(), 0.0, order),
            );
            probes
                .iter()
                .flat_map(|p| {
                    let (pa, pb) = (a.probabilities_of(p), b.probabilities_of(p));
                    pa.into_iter().zip(pb).map(|(x, y)| (x - y).abs())
                })
                .fold(0.0f32, f32::max)
        };
        let (by_text, shuffled) = (moved(Order::ByText), moved(Order::Shuffled));
        assert!(
            by_text < shuffled / 2.0,
            "by text {by_text:.4}, shuffled {shuffled:.4}"
        );
    }
}
