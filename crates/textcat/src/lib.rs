//! Text classification over character n-grams, for secobot's ranking.
//!
//! A crate of its own so that it is compiled optimised even in debug builds
//! (`[profile.dev.package.secobot-textcat]` in the workspace's Cargo.toml):
//! the server trains its classifier at every knowledge load, and the test
//! suite starts well over a hundred servers. Unoptimised, one training took
//! about 20 s; optimised, well under one.
//!
//! - [`ngram`]: normalisation, TF-IDF over character 2–5-grams, and the
//!   nearest-phrasing / centroid similarity index;
//! - [`classifier`]: multinomial logistic regression over those vectors;
//! - [`logistic`]: binary logistic regression over a few dense features (the
//!   answer-or-refuse decision).

pub mod classifier;
pub mod logistic;
pub mod ngram;

/// A character that prints nothing or reorders what follows: Unicode general
/// category Cf (format: bidi overrides, zero-width spaces, soft hyphens…).
/// The table is small and stable; `unicode-normalization` does not expose
/// categories.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}
