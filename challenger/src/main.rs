//! `warden-challenger`: the challenger watchtower. `run` follows a task manager's commitments,
//! challenges wrong outputs and drives the slashing of their signers; `check-equivocation` checks
//! equivocation evidence offline.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use eyre::WrapErr;
use warden_challenger::cli::{Cli, Command};
use warden_challenger::{ChallengerConfig, EquivocationEvidence, launch};

fn main() -> ExitCode {
    let cli = Cli::parse();
    warden_runtime::init_logging("info");
    let result = match cli.command {
        Command::Run { config } => tokio::runtime::Runtime::new()
            .wrap_err("starting the async runtime")
            .and_then(|runtime| runtime.block_on(run(&config))),
        Command::CheckEquivocation { evidence } => check(&evidence).map(|()| {
            println!("equivocation proven: one key signed two outputs for the same task");
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(path: &Path) -> eyre::Result<()> {
    let config = ChallengerConfig::load(Some(path))
        .wrap_err_with(|| format!("reading {}", path.display()))?;
    let keys = config.keys.clone();
    let signer = tokio::task::spawn_blocking(move || keys.ecdsa_signer())
        .await?
        .wrap_err("loading the signing key")?;
    let agent = warden_agent::reference_agent(config.agent.router)
        .wrap_err("loading the reference agent")?;

    let shutdown = warden_runtime::shutdown_signal().wrap_err("installing signal handlers")?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = launch::start(&config, signer, Arc::new(agent), stopped)
        .await
        .wrap_err("starting the challenger")?;
    warden_runtime::supervise(shutdown, stop, running.task, running.ops)
        .await
        .wrap_err("the watchtower crashed")?
        .wrap_err("the watchtower stopped")
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
