//! `warden-challenger`: the challenger watchtower. `run` follows a task manager's commitments,
//! challenges wrong outputs and drives the slashing of their signers; `check-equivocation` checks
//! equivocation evidence offline.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use eyre::WrapErr;
use tokio::sync::watch;
use warden_challenger::cli::Command;
use warden_challenger::{ChallengerConfig, EquivocationEvidence, launch};
use warden_runtime::launcher::{self, CriticalTasks};

fn main() -> ExitCode {
    launcher::main("info", dispatch(Command::parse()))
}

async fn dispatch(command: Command) -> eyre::Result<()> {
    match command {
        Command::Run(args) => Ok(launcher::run(&args, start).await?),
        Command::CheckEquivocation { evidence } => {
            check(&evidence)?;
            println!("equivocation proven: one key signed two outputs for the same task");
            Ok(())
        }
    }
}

async fn start(
    config: ChallengerConfig,
    stopped: watch::Receiver<bool>,
) -> eyre::Result<CriticalTasks> {
    let signer = launcher::load_signer(&config.keys).await?;
    let agent = warden_runtime::agent::load_agent(&config.agent)
        .await
        .wrap_err("loading the agent")?;
    let running = launch::start(&config, signer, agent, stopped).await?;
    Ok(running.tasks)
}

fn check(path: &Path) -> eyre::Result<()> {
    let text =
        std::fs::read_to_string(path).wrap_err_with(|| format!("reading {}", path.display()))?;
    let evidence: EquivocationEvidence = serde_json::from_str(&text)
        .wrap_err_with(|| format!("{} is not equivocation evidence", path.display()))?;
    evidence
        .verify()
        .wrap_err("the evidence does not prove equivocation")?;
    Ok(())
}
