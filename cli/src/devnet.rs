//! `warden devnet`.

use std::path::{Path, PathBuf};

use alloy::primitives::U256;
use clap::Args;
use eyre::WrapErr;
use warden_deployer::app::AgentModel;
use warden_devnet::byzantine::Lie;
use warden_devnet::ticks::{TickConfig, late_challenger_limit};
use warden_devnet::{Devnet, DevnetConfig, Summary};

#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Number of operators to create and register.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1000))]
    operators: u16,
    /// Stake each operator restakes, in whole wrapped ether (the market's base token, which the
    /// vault's cryptoeconomic bound values stake in).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
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
    /// Run the agent loop (aggregator and keeper, operators, challenger, noise trader) and exit
    /// once this many tasks have reached a final state. Without it the services run and tick
    /// until Ctrl-C; `--ticks 0` runs only the chain, like --no-services.
    #[arg(long, value_name = "T")]
    ticks: Option<u32>,
    /// Run only the chain with everything deployed and registered, no services and no ticks,
    /// until Ctrl-C.
    #[arg(long, conflicts_with = "ticks")]
    no_services: bool,
    /// Milliseconds between the devnet's clock blocks while the agent loop runs. Anvil mines a
    /// block for every transaction besides, so a task's blocks count both. The default keeps a
    /// run short; 1000 or more comes closer to a public chain's cadence, where a block holds
    /// many transactions.
    #[arg(long, value_name = "MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    block_time_ms: u64,
    /// Seed of the noise trader (same seed, same trades).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The first K operators run a corrupted agent that commits a wrong run (see --lie), and sign
    /// what it decides. With K above a third of the stake the lie reaches a quorum, and the
    /// challenger must catch it.
    #[arg(long, value_name = "K", default_value_t = 0)]
    byzantine: u16,
    /// The agent the operators run: `reference`, the shipped 9 → 16 → 16 → 3 MLP its verifier
    /// re-runs whole; `large`, a generated 256 → 1024 → 1024 → 512 → 3 int8 network (1.84 M
    /// parameters, randomly initialised from a fixed seed, not trained) whose signers commit its
    /// activation trace and whose fraud is proven one step at a time; `10m`, the same at 9.97 M
    /// parameters.
    #[arg(long, value_name = "MODEL", default_value = "reference", value_parser = parse_model)]
    model: AgentModel,
    /// What the byzantine operators commit: `theft`, a sale of the vault's base token to an
    /// attacker (for a large agent, on the honest run's trace); `carried-neuron` (large agents),
    /// one neuron of a middle layer changed and carried through; `inconsistent-trace` (large
    /// agents), the honest action with one chunk hash of the trace replaced.
    #[arg(long, value_name = "LIE", default_value = "theft", value_parser = parse_lie, requires = "byzantine")]
    lie: Lie,
    /// Run without a challenger watchtower, to show what the vault's cryptoeconomic bound alone
    /// protects (with --late-challenger: none from the start).
    #[arg(long)]
    no_challenger: bool,
    /// With --byzantine and --no-challenger: a challenger starts N blocks after the first theft
    /// executes (the first executed task whose action paid someone other than the vault), while
    /// the theft is still fraud-provable (its reference block + the task manager's
    /// fraudProofWindow, 150 blocks on the devnet). It proves the fraud after the fact, slashes
    /// the signers and clears their slashed stake to the restitution contract, which repays the
    /// vault; the run ends once that is done, and the summary shows each task's `stolen` and
    /// `repaid` and the vault's balance before the theft and after restitution. N must leave the
    /// challenger room inside the window: at most 88 with the default windows.
    #[arg(long, value_name = "N", requires = "no_challenger")]
    late_challenger: Option<u64>,
    /// The byzantine operators first queue the withdrawal of all their stake, then sign their
    /// thefts as if they still had it: the registry's refreshed weights refuse the theft (or,
    /// had it been committed first, the challenge slashes the stake still in EigenLayer's
    /// withdrawal queue).
    #[arg(long, requires = "byzantine")]
    withdraw_before_fraud: bool,
    /// Run a standby aggregator beside the main one: it opens, executes and expires tasks only
    /// when the main aggregator is overdue by a few blocks, and the operators send it their
    /// signatures when a task is not committed a few blocks after it opened, so it commits then.
    #[arg(long)]
    standby_aggregator: bool,
    /// The main aggregator stops for good before tick T (once T − 1 tasks are final); the
    /// standby aggregator (implied) keeps the agent from then on. Each task in the summary names
    /// the address that sent its `commitOutput` (`committed_by`).
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u32).range(1..))]
    aggregator_fails_at: Option<u32>,
    /// Exit as soon as the chain is deployed (after writing the summary), instead of running
    /// until Ctrl-C; without --ticks no services start. For scripts and tests.
    #[arg(long)]
    exit_when_ready: bool,
    /// Set the chain up like a public network before Warden exists: another key deploys
    /// EigenLayer (and another the market), the operators register with EigenLayer on their own
    /// and a staker delegates to each. Warden then joins the way its users join a public
    /// network: a fresh keystore funded by a transfer deploys the AVS (`warden avs deploy`'s
    /// transactions, recorded in DATA_DIR/deployment.json), each operator joins with `warden-operator
    /// register`'s steps, and a vault owner with a fresh keystore creates the vault under
    /// DATA_DIR/vault-policy.toml (`warden vault create`). The summary records
    /// `eigenlayer.deployer` and `warden.deployer`.
    #[arg(long)]
    existing_eigenlayer: bool,
    /// anvil keeps only the latest STATES states, as a node that is not an archive node does
    /// (geth keeps 128): shows that nothing Warden runs reads older state.
    #[arg(long, value_name = "STATES")]
    prune_history: Option<u64>,
}

impl DevnetArgs {
    /// Whether services run: not with --no-services or --ticks 0, nor for a devnet that exits
    /// once deployed.
    fn runs_services(&self) -> bool {
        !(self.no_services
            || self.ticks == Some(0)
            || (self.exit_when_ready && self.ticks.is_none()))
    }
}

fn parse_model(name: &str) -> Result<AgentModel, String> {
    AgentModel::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = AgentModel::ALL.iter().map(|model| model.name()).collect();
        format!("unknown model {name:?}; one of {}", names.join(", "))
    })
}

fn parse_lie(name: &str) -> Result<Lie, String> {
    Lie::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Lie::ALL.iter().map(|lie| lie.name()).collect();
        format!("unknown lie {name:?}; one of {}", names.join(", "))
    })
}

pub async fn run(args: DevnetArgs) -> eyre::Result<()> {
    if args.lie.needs_trace() && args.model == AgentModel::Reference {
        eyre::bail!(
            "--lie {} is a lie about a large agent's trace: run it with --model large or 10m",
            args.lie.name()
        );
    }
    if args.byzantine > args.operators {
        eyre::bail!(
            "--byzantine {} exceeds --operators {}",
            args.byzantine,
            args.operators
        );
    }
    if args.withdraw_before_fraud && args.byzantine == 0 {
        eyre::bail!("--withdraw-before-fraud needs byzantine operators (--byzantine K)");
    }
    if !args.runs_services()
        && (args.byzantine > 0
            || args.no_challenger
            || args.late_challenger.is_some()
            || args.standby_aggregator
            || args.aggregator_fails_at.is_some())
    {
        eyre::bail!(
            "--byzantine, --no-challenger, --late-challenger, --standby-aggregator and \
             --aggregator-fails-at shape the agent loop, which a chain-only devnet does not run"
        );
    }
    let mut config = DevnetConfig::new(usize::from(args.operators));
    if let Some(blocks) = args.late_challenger {
        if args.byzantine == 0 {
            eyre::bail!(
                "--late-challenger needs byzantine operators (--byzantine K) to commit a theft"
            );
        }
        let limit = late_challenger_limit(&config.deployment);
        if blocks > limit {
            eyre::bail!(
                "--late-challenger {blocks} would start the challenger too late: a theft is \
                 fraud-provable for the task manager's fraud-proof window after its reference \
                 block, and at most {limit} blocks after its execution leave the challenger room \
                 to prove it (see `warden devnet --help`)"
            );
        }
    }
    if config.deployment.operators_that_may_fail() == 0 {
        // A devnet may show exactly that; a deployment refuses it (`warden deploy`).
        println!(
            "WARNING: {} equally staked operators at a {} bps threshold cannot lose one: with any \
             operator down, every task expires",
            config.deployment.operators, config.deployment.app.threshold_bps
        );
    }
    config.deployment.stake_per_operator =
        U256::from(args.stake) * U256::from(10u64).pow(U256::from(18u64));
    config.deployment.seed = args.seed;
    config.deployment.model = args.model;
    config.data_dir = args.data_dir.clone();
    config.host = args.host.clone();
    config.existing_eigenlayer = args.existing_eigenlayer;
    config.prune_history = args.prune_history;
    if let Some(anvil) = &args.anvil {
        config.anvil = anvil.clone();
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

    if args.runs_services() {
        run_agent_loop(&mut devnet, &args).await?;
    } else if !args.exit_when_ready {
        println!("Devnet running (chain only). Press Ctrl-C to stop.");
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

/// Starts the services, rewrites the summary with their endpoints, and ticks until `--ticks`
/// tasks are final or Ctrl-C; either way the summary then holds every task and the vault.
async fn run_agent_loop(devnet: &mut Devnet, args: &DevnetArgs) -> eyre::Result<()> {
    let mut config = match args.ticks {
        Some(ticks) => {
            println!("Running the agent loop until {ticks} tasks are final…");
            TickConfig::new(ticks)
        }
        None => {
            println!("Running the agent loop until Ctrl-C…");
            TickConfig::until_stopped()
        }
    };
    config.byzantine_operators = (0..usize::from(args.byzantine)).collect();
    config.lie = args.lie;
    config.challenger = !args.no_challenger;
    config.late_challenger = args.late_challenger;
    config.withdraw_before_fraud = args.withdraw_before_fraud;
    config.standby_aggregator = args.standby_aggregator;
    config.aggregator_fails_at = args.aggregator_fails_at;
    config.block_interval = std::time::Duration::from_millis(args.block_time_ms);
    // The run's time limit is set for the default clock; a slower clock gets as many blocks.
    config.timeout = config
        .timeout
        .max(config.block_interval.saturating_mul(6_000));
    let started = std::time::Instant::now();
    let progress = |line: &str| println!("  {line}");
    let mut run = devnet
        .start_services(&config, &progress)
        .await
        .wrap_err("starting the services")?;
    if let Some(path) = &args.json {
        write_summary(path, devnet.summary())?;
    }
    let ticked = tokio::select! {
        result = devnet.tick(&mut run, &config, &progress) => result.map(Some),
        signal = shutdown_signal() => {
            signal?;
            tracing::info!("interrupted");
            Ok(None)
        }
    };
    match ticked {
        Ok(final_tasks) => devnet
            .finish(run, final_tasks)
            .await
            .wrap_err("recording the agent loop's tasks")?,
        Err(error) => {
            if let Err(recording) = devnet.finish(run, None).await {
                tracing::warn!(error = %recording, "recording the failed agent loop's tasks");
            }
            return Err(error).wrap_err("the agent loop failed");
        }
    }
    println!("{}", devnet.summary().tasks_table());
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
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
