//! `secobot agent …`, `secobot backup`: through the running server's admin
//! channel when one serves the data folder, else on the folder directly.

use std::io::{BufRead, Write};

use anyhow::Context;

use crate::admin::channel::{self, Outcome, Request};
use crate::cli::AgentCommand;
use crate::config::DataArgs;
use crate::store::Store;

/// Runs an agent command; returns the exit code.
///
/// # Errors
/// Storage failures or bad input, with context.
pub fn run(command: AgentCommand) -> anyhow::Result<i32> {
    let (data, request) = match command {
        AgentCommand::Add {
            name,
            role,
            display_name,
            data,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("failed to read the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let display_name = display_name.unwrap_or_else(|| name.clone());
            (
                data,
                Request::AgentAdd {
                    name,
                    display_name,
                    role,
                    password,
                },
            )
        }
        AgentCommand::List { data } => (data, Request::AgentList),
        AgentCommand::Remove { name, data } => (data, Request::AgentRemove { name }),
        AgentCommand::Disable { name, data } => (data, Request::AgentDisable { name }),
        AgentCommand::Enable { name, data } => (data, Request::AgentEnable { name }),
        AgentCommand::Unlock { name, data } => (data, Request::AgentUnlock { name }),
        AgentCommand::Password { name, data } => (data, Request::AgentPassword { name }),
        AgentCommand::Audit { limit, data } => (data, Request::Audit { limit }),
    };
    perform(&data, request)
}

/// `secobot backup --data DIR OUT`.
///
/// # Errors
/// When the copy fails, with context.
pub fn backup(data: &DataArgs, out: &std::path::Path) -> anyhow::Result<i32> {
    let out =
        std::path::absolute(out).with_context(|| format!("failed to resolve {}", out.display()))?;
    perform(data, Request::Backup { out })
}

/// Sends `request` to the running server, or does it here when none runs;
/// prints its output and returns its exit code.
///
/// # Errors
/// When neither the server nor the folder can be reached.
pub fn perform(data: &DataArgs, request: Request) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    let outcome = runtime.block_on(async move {
        if let Some(outcome) = channel::call(&data.data, &request)
            .await
            .context("failed to talk to the running server through its admin socket")?
        {
            return Ok::<Outcome, anyhow::Error>(outcome);
        }
        let store = open(data).await?;
        let actor = format!("línea de comandos: {}", channel::operator());
        let outcome = channel::handle(&store, None, &actor, request).await;
        store.flush().await?;
        Ok(outcome)
    })?;
    std::io::stdout().write_all(outcome.stdout.as_bytes())?;
    std::io::stderr().write_all(outcome.stderr.as_bytes())?;
    Ok(outcome.code)
}

async fn open(data: &DataArgs) -> anyhow::Result<Store> {
    data.open_store().await.with_context(|| match &data.database {
        Some(_) => format!("failed to open {}", data.describe()),
        None => format!(
            "failed to open the data folder {} (a server is using it but its admin socket {} does not answer)",
            data.data.display(),
            channel::socket_path(&data.data).display()
        ),
    })
}
