//! `warden-operator`: the operator node. `register` joins EigenLayer and Warden's operator set;
//! `run` follows tasks, runs the agent and signs its actions.

use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use clap::{Args, Parser, Subcommand};
use eyre::WrapErr;
use std::sync::Arc;

use warden_operator::config::OperatorConfig;
use warden_operator::keys::KeystorePaths;
use warden_operator::launch;
use warden_operator::{OperatorKeys, Registrar, RegistrationTargets};

#[derive(Debug, Parser)]
#[command(name = "warden-operator", version, about = "Warden operator node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the operator node: follow TaskOpened events, run the agent on each task's snapshot,
    /// sign the output with the BLS key and send it to the aggregator. Never signs two outputs
    /// for one task (the record is in the database), resumes where it stopped after a restart,
    /// follows reorgs. Serves Prometheus metrics and the EigenLayer node API. Stops cleanly on
    /// SIGINT or SIGTERM.
    Run {
        /// TOML configuration (see config/operator.toml); every key can be overridden with
        /// WARDEN_OPERATOR_<SECTION>__<KEY>, e.g. WARDEN_OPERATOR_CHAIN__RPC_URL.
        #[arg(long, env = "WARDEN_OPERATOR_CONFIG")]
        config: PathBuf,
    },
    /// Register with EigenLayer (if not yet an operator), deposit stake, allocate all magnitude
    /// to Warden's operator set and register for it with the BLS key and its proof of possession.
    Register(Box<RegisterArgs>),
}

#[derive(Debug, Args)]
struct RegisterArgs {
    /// Ethereum JSON-RPC endpoint.
    #[arg(long, env = "WARDEN_RPC_URL")]
    rpc_url: String,
    /// Directory with `ecdsa.json` (Web3 Secret Storage) and `bls.json` (EIP-2335), as written
    /// by `warden keys new`.
    #[arg(long, env = "WARDEN_KEYSTORE_DIR")]
    keystore_dir: PathBuf,
    /// File holding the keystores' password. Without it, WARDEN_KEYSTORE_PASSWORD is used.
    #[arg(long, env = "WARDEN_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    #[arg(long, env = "WARDEN_DELEGATION_MANAGER")]
    delegation_manager: Address,
    #[arg(long, env = "WARDEN_STRATEGY_MANAGER")]
    strategy_manager: Address,
    #[arg(long, env = "WARDEN_ALLOCATION_MANAGER")]
    allocation_manager: Address,
    #[arg(long, env = "WARDEN_PERMISSION_CONTROLLER")]
    permission_controller: Address,
    /// Warden's registry (the AVS address).
    #[arg(long, env = "WARDEN_REGISTRY")]
    registry: Address,
    /// The strategy to deposit into and allocate from.
    #[arg(long, env = "WARDEN_STRATEGY")]
    strategy: Address,
    /// Amount to deposit, in the token's base units (0 to deposit nothing).
    #[arg(long, default_value = "0")]
    stake: U256,
    /// Operator metadata URI announced to EigenLayer.
    #[arg(long, default_value = "")]
    metadata_uri: String,
    /// How long to wait for the allocation delay to take effect.
    #[arg(long, default_value_t = 600)]
    allocation_wait_secs: u64,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    warden_runtime::init_logging("info,eigen_client_elcontracts=warn");
    match cli.command {
        Command::Run { config } => run(&config).await,
        Command::Register(args) => register(*args).await,
    }
}

async fn run(path: &std::path::Path) -> eyre::Result<()> {
    let config =
        OperatorConfig::load(Some(path)).wrap_err_with(|| format!("reading {}", path.display()))?;
    let password = warden_runtime::keystore_password(config.keys.password_file.as_deref())
        .wrap_err("reading the keystore password")?;
    let paths = KeystorePaths {
        ecdsa: config.keys.ecdsa_keystore.clone(),
        // validate() made sure an operator's configuration names its BLS keystore.
        bls: config.keys.bls_keystore.clone().unwrap_or_default(),
    };
    let keys = tokio::task::spawn_blocking(move || OperatorKeys::load(&paths, &password))
        .await?
        .wrap_err("decrypting the operator's keystores")?;
    let agent = warden_agent::reference_agent(config.agent.router)
        .wrap_err("loading the reference agent")?;

    let shutdown = warden_runtime::shutdown_signal().wrap_err("installing signal handlers")?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = launch::start(&config, Arc::new(keys), Arc::new(agent), stopped)
        .await
        .wrap_err("starting the operator node")?;
    let mut task = running.task;
    let result = tokio::select! {
        _ = shutdown => {
            tracing::info!("shutting down");
            let _ = stop.send(true);
            (&mut task).await
        }
        result = &mut task => result,
    };
    let _ = stop.send(true);
    for handle in running.ops {
        let _ = handle.await;
    }
    result
        .wrap_err("the operator node crashed")?
        .wrap_err("the operator node stopped")
}

async fn register(args: RegisterArgs) -> eyre::Result<()> {
    let password = warden_runtime::keystore_password(args.password_file.as_deref())
        .wrap_err("reading the keystore password")?;
    let paths = KeystorePaths::in_dir(&args.keystore_dir);
    let keys = tokio::task::spawn_blocking(move || OperatorKeys::load(&paths, &password))
        .await?
        .wrap_err("decrypting the operator's keystores")?;
    let targets = RegistrationTargets {
        delegation_manager: args.delegation_manager,
        strategy_manager: args.strategy_manager,
        allocation_manager: args.allocation_manager,
        permission_controller: args.permission_controller,
        registry: args.registry,
        strategy: args.strategy,
    };
    let registrar = Registrar::new(&args.rpc_url, targets, &keys)?;
    registrar
        .join_eigenlayer(args.stake, &args.metadata_uri)
        .await
        .wrap_err("joining EigenLayer")?;
    registrar
        .wait_until_allocatable(Duration::from_secs(args.allocation_wait_secs))
        .await
        .wrap_err("waiting for the allocation delay")?;
    let operator_id = registrar
        .register_with_warden()
        .await
        .wrap_err("registering with Warden")?;
    println!(
        "registered operator {} with id {operator_id}",
        keys.address()
    );
    Ok(())
}
