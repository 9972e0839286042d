//! `secobot agent add|list|remove`.

use std::io::{BufRead, Write};

use anyhow::Context;

use super::accounts::{self, Account, Role};
use crate::cli::AgentCommand;
use crate::config::DataArgs;
use crate::store::{RecordKind, Store};

/// Runs an agent command; returns the exit code.
///
/// # Errors
/// Storage failures or bad input, with context.
pub fn run(command: AgentCommand) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(async move {
        match command {
            AgentCommand::Add {
                name,
                role,
                display_name,
                data,
            } => {
                let role = Role::parse(&role)
                    .with_context(|| format!("unknown role {role:?}: use agent or supervisor"))?;
                let store = open(&data)?;
                let mut password = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut password)
                    .context("failed to read the password from stdin")?;
                let password = password.trim_end_matches(['\r', '\n']);
                let display = display_name.unwrap_or_else(|| name.clone());
                let account = accounts::upsert(&store, &name, &display, role, password).await?;
                writeln!(
                    std::io::stdout(),
                    "cuenta {} ({}) lista",
                    account.name,
                    account.role.as_str()
                )?;
                Ok(0)
            }
            AgentCommand::List { data } => {
                let store = open(&data)?;
                let mut out = std::io::stdout().lock();
                for (_, a) in store.records::<Account>(RecordKind::Agent)? {
                    writeln!(out, "{}\t{}\t{}", a.name, a.role.as_str(), a.display_name)?;
                }
                Ok(0)
            }
            AgentCommand::Remove { name, data } => {
                let store = open(&data)?;
                if store.remove_record(RecordKind::Agent, &name).await? {
                    writeln!(std::io::stdout(), "cuenta {name} eliminada")?;
                    Ok(0)
                } else {
                    writeln!(std::io::stderr(), "no existe la cuenta {name}")?;
                    Ok(1)
                }
            }
        }
    })
}

fn open(data: &DataArgs) -> anyhow::Result<Store> {
    Store::open(&data.data, data.cache_mb * 1024 * 1024).with_context(|| {
        format!(
            "failed to open the data folder {} (is the server running on it? stop it first)",
            data.data.display()
        )
    })
}
