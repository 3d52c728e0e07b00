//! `warden-challenger`: the challenger watchtower. `run` follows a task manager's commitments,
//! challenges wrong outputs and drives the slashing of their signers; `check-equivocation` checks
//! equivocation evidence offline.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use clap::{Args, Parser, Subcommand};
use eyre::WrapErr;
use warden_challenger::{EquivocationEvidence, Watchtower, WatchtowerConfig};

#[derive(Debug, Parser)]
#[command(
    name = "warden-challenger",
    version,
    about = "Warden challenger watchtower"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Watch a task manager: re-execute every committed action with the reference agent,
    /// challenge wrong ones before their deadline (paying the bond from the keystore's account)
    /// and drive the slashing of their signers. Progress is saved in --state, so a restart
    /// resumes where it stopped. Stops cleanly on SIGINT or SIGTERM.
    Run(RunArgs),
    /// Check a JSON file of equivocation evidence (`public_key`, and `first` / `second`, each an
    /// `attestation` with its BLS `signature`). Exits 0 when it proves equivocation, 1 when not.
    CheckEquivocation {
        /// The evidence file.
        evidence: PathBuf,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Ethereum JSON-RPC endpoint.
    #[arg(long, env = "WARDEN_RPC_URL")]
    rpc_url: Url,
    /// The WardenTaskManager to watch.
    #[arg(long, env = "WARDEN_TASK_MANAGER")]
    task_manager: Address,
    /// Router the reference agent swaps through (part of its agent hash).
    #[arg(long, env = "WARDEN_ROUTER")]
    router: Address,
    /// The challenger's ECDSA key, a Web3 Secret Storage (v3) keystore.
    #[arg(long, env = "WARDEN_CHALLENGER_KEYSTORE")]
    keystore: PathBuf,
    /// File holding the keystore's password. Without it, WARDEN_KEYSTORE_PASSWORD is used.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Where progress (the last judged block, slashing under way) is saved.
    #[arg(
        long,
        env = "WARDEN_CHALLENGER_STATE",
        default_value = "challenger-state.json"
    )]
    state: PathBuf,
    /// First block to judge on a first start (ignored once --state exists).
    #[arg(long, default_value_t = 0)]
    start_block: u64,
    /// Seconds between polls of the chain.
    #[arg(long, default_value_t = 2)]
    poll_secs: u64,
    /// Operators examined per slashing transaction.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u64).range(1..))]
    slash_batch: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    warden_runtime::init_logging("info");
    match cli.command {
        Command::Run(args) => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("error: starting the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::CheckEquivocation { evidence } => match check(&evidence) {
            Ok(()) => {
                println!("equivocation proven: one key signed two outputs for the same task");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn run(args: RunArgs) -> eyre::Result<()> {
    let password = warden_runtime::keystore_password(args.password_file.as_deref())
        .wrap_err("reading the keystore password")?;
    let keystore = args.keystore.clone();
    let signer = tokio::task::spawn_blocking(move || {
        PrivateKeySigner::decrypt_keystore(&keystore, password.expose_secret())
    })
    .await?
    .wrap_err_with(|| format!("decrypting the keystore {}", args.keystore.display()))?;
    let agent =
        warden_agent::reference_agent(args.router).wrap_err("loading the reference agent")?;

    let mut config = WatchtowerConfig::new(args.rpc_url, args.task_manager, args.state);
    config.start_block = args.start_block;
    config.poll_interval = Duration::from_secs(args.poll_secs);
    config.slash_batch = args.slash_batch;
    let watchtower = Watchtower::new(config, signer, Arc::new(agent));
    tracing::info!(challenger = %watchtower.address(), "watching");

    let shutdown = warden_runtime::shutdown_signal().wrap_err("installing signal handlers")?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    watchtower
        .run(stopped)
        .await
        .wrap_err("the watchtower stopped")
}

fn check(path: &std::path::Path) -> eyre::Result<()> {
    let text =
        std::fs::read_to_string(path).wrap_err_with(|| format!("reading {}", path.display()))?;
    let evidence: EquivocationEvidence = serde_json::from_str(&text)
        .wrap_err_with(|| format!("{} is not equivocation evidence", path.display()))?;
    evidence
        .verify()
        .wrap_err("the evidence does not prove equivocation")?;
    Ok(())
}
