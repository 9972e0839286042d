//! Binary logistic regression over a few dense features (linfa-logistic),
//! for secobot's answer-or-refuse decision: the probability that the leading
//! candidate of a ranking is right, from features of that ranking.
//!
//! Unlike [`crate::classifier`] (sparse, ~30,000 n-gram features, plain SGD),
//! this model has a handful of dense features and a thousand rows, which is
//! what linfa's L-BFGS takes as it is.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

/// L2 penalty (linfa's `alpha`, on the summed loss): light, for ~1,000 rows
/// of features in 0..1.
const ALPHA: f64 = 1.0;
const MAX_ITERATIONS: u64 = 200;

/// Why a model could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("rows have {got} features, expected {expected}")]
    Shape { expected: usize, got: usize },
    /// Every row had the same label: nothing to tell apart.
    #[error("the rows need both labels to fit a model")]
    OneLabel,
    #[error("logistic regression failed: {0}")]
    Linfa(#[from] linfa_logistic::error::Error),
}

/// A fitted binary model: `P(yes) = σ(bias + weights · x)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    pub bias: f32,
    pub weights: Vec<f32>,
}

impl Binary {
    /// Fits on `rows` (each `features` long) with their labels.
    ///
    /// # Errors
    /// When a row has another length, when all labels are equal, or when
    /// the optimiser fails.
    pub fn fit(rows: &[Vec<f32>], labels: &[bool], features: usize) -> Result<Self, FitError> {
        if let Some(bad) = rows.iter().find(|r| r.len() != features) {
            return Err(FitError::Shape {
                expected: features,
                got: bad.len(),
            });
        }
        if labels.iter().all(|l| *l) || labels.iter().all(|l| !*l) {
            return Err(FitError::OneLabel);
        }
        let x = Array2::from_shape_fn((rows.len(), features), |(i, j)| f64::from(rows[i][j]));
        let y = Array1::from_iter(labels.iter().copied());
        let fitted = LogisticRegression::default()
            .alpha(ALPHA)
            .max_iterations(MAX_ITERATIONS)
            .fit(&Dataset::new(x, y))?;
        // linfa models the probability of its "positive" label, which is the
        // more frequent of the two, not `true`: flip the signs when it is
        // `false`, so the model always gives P(yes).
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        Ok(Binary {
            bias: (sign * fitted.intercept()) as f32,
            weights: fitted.params().iter().map(|w| (sign * w) as f32).collect(),
        })
    }

    /// `P(yes)` for one row of features.
    pub fn probability(&self, x: &[f32]) -> f32 {
        probability(self.bias, &self.weights, x)
    }
}

/// `σ(bias + weights · x)`, for models kept as constants.
pub fn probability(bias: f32, weights: &[f32], x: &[f32]) -> f32 {
    let z = bias + weights.iter().zip(x).map(|(w, v)| w * v).sum::<f32>();
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_which_side_is_yes() {
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        // Fewer yes than no: linfa's own positive label is then `false`.
        for i in 0..40 {
            let v = i as f32 / 40.0;
            rows.push(vec![v, 0.5]);
            labels.push(v > 0.6);
        }
        let m = Binary::fit(&rows, &labels, 2).unwrap();
        assert!(m.probability(&[0.9, 0.5]) > 0.6);
        assert!(m.probability(&[0.1, 0.5]) < 0.4);
        assert!(m.weights[0] > 0.0);
        assert!(matches!(
            Binary::fit(&rows, &[true; 40], 2),
            Err(FitError::OneLabel)
        ));
    }
}
