//! `secobot report unanswered`.

use crate::config::DataArgs;

/// Prints the unanswered questions report.
///
/// # Errors
/// When the data folder cannot be read.
pub fn unanswered(_data: &DataArgs, _json: bool) -> anyhow::Result<i32> {
    anyhow::bail!("not available yet")
}
