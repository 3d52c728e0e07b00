//! `warden devnet`.

use std::path::{Path, PathBuf};

use alloy::primitives::U256;
use clap::Args;
use eyre::WrapErr;
use warden_devnet::{Devnet, DevnetConfig, Summary};

#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Number of operators to create and register.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=200))]
    operators: u16,
    /// Stake each operator restakes, in whole wrapped ether (the market's base token, which the
    /// vault's cryptoeconomic bound values stake in).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    stake: u64,
    /// Write a JSON summary here as soon as the devnet is up, and again at exit.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Keep keystores and state in this directory instead of a temporary one removed at exit.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The anvil binary [default: $WARDEN_ANVIL, else the one `make setup` installs].
    #[arg(long, value_name = "PATH")]
    anvil: Option<PathBuf>,
    /// Interface anvil listens on. Keep the loopback default unless other hosts or containers
    /// must reach the devnet.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Run the honest loop (aggregator, operators, keeper, noise trader) and exit once this many
    /// tasks have reached a final state. Without it the devnet just runs until Ctrl-C.
    #[arg(long, value_name = "T")]
    ticks: Option<u32>,
    /// Seed of the noise trader (same seed, same trades).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// With --ticks: the first K operators run a corrupted agent that steals from the vault, and
    /// sign what it decides. With K above a third of the stake the theft reaches a quorum, and
    /// the challenger must catch it.
    #[arg(long, value_name = "K", default_value_t = 0)]
    byzantine: u16,
    /// With --ticks: run without a challenger watchtower, to show what the vault's
    /// cryptoeconomic bound alone protects.
    #[arg(long)]
    no_challenger: bool,
    /// Exit as soon as the devnet is up (after writing the summary), instead of running until
    /// Ctrl-C. For scripts and tests.
    #[arg(long)]
    exit_when_ready: bool,
}

pub async fn run(args: DevnetArgs) -> eyre::Result<()> {
    if args.byzantine > args.operators {
        eyre::bail!(
            "--byzantine {} exceeds --operators {}",
            args.byzantine,
            args.operators
        );
    }
    if args.ticks.is_none() && (args.byzantine > 0 || args.no_challenger) {
        eyre::bail!("--byzantine and --no-challenger shape the tick loop: add --ticks T");
    }
    let mut config = DevnetConfig::new(usize::from(args.operators));
    config.stake_per_operator = U256::from(args.stake) * U256::from(10u64).pow(U256::from(18u64));
    config.data_dir = args.data_dir;
    config.host = args.host;
    config.seed = args.seed;
    if let Some(anvil) = args.anvil {
        config.anvil = anvil;
    }

    tracing::info!(operators = args.operators, "starting devnet");
    let mut devnet = tokio::select! {
        devnet = Devnet::start(config) => devnet.wrap_err("devnet failed to start")?,
        signal = shutdown_signal() => {
            signal?;
            eyre::bail!("interrupted while starting; nothing was left running");
        }
    };
    println!("{}", devnet.summary().status_table());
    if let Some(path) = &args.json {
        write_summary(path, devnet.summary())?;
        tracing::info!(path = %path.display(), "summary written");
    }

    if let Some(ticks) = args.ticks {
        println!("Running the agent loop until {ticks} tasks are final…");
        let started = std::time::Instant::now();
        let mut config = warden_devnet::ticks::TickConfig::new(ticks);
        config.byzantine_operators = (0..usize::from(args.byzantine)).collect();
        config.challenger = !args.no_challenger;
        tokio::select! {
            result = devnet.run_ticks(config, |line| println!("  {line}")) => result.wrap_err("the agent loop failed")?,
            signal = shutdown_signal() => {
                signal?;
                tracing::info!("interrupted");
            }
        }
        println!("{}", devnet.summary().tasks_table());
        println!("done in {:.1} s", started.elapsed().as_secs_f64());
    } else if !args.exit_when_ready {
        println!("Devnet running. Press Ctrl-C to stop.");
        shutdown_signal().await?;
        tracing::info!("shutting down");
    }
    let summary = devnet.stop();
    if let Some(path) = &args.json {
        write_summary(path, &summary)?;
    }
    tracing::info!("devnet stopped");
    Ok(())
}

fn write_summary(path: &Path, summary: &Summary) -> eyre::Result<()> {
    let json = serde_json::to_string_pretty(summary).wrap_err("encoding the summary")?;
    // Write then rename, so a reader never sees half a file.
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, json).wrap_err_with(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, path).wrap_err_with(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() -> eyre::Result<()> {
    warden_runtime::shutdown_signal()
        .wrap_err("installing signal handlers")?
        .await;
    Ok(())
}
