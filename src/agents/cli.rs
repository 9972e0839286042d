//! `secobot agent add|list|remove`.

use crate::cli::AgentCommand;

/// Runs an agent command; returns the exit code.
///
/// # Errors
/// Storage failures, with context.
pub fn run(_command: AgentCommand) -> anyhow::Result<i32> {
    anyhow::bail!("agent accounts are not available yet")
}
