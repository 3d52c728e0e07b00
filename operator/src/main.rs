//! `warden-operator`: the operator node. `register` joins EigenLayer and Warden's operator set;
//! `run` follows tasks, runs the agent and signs its actions.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use eyre::WrapErr;
use tokio::sync::watch;
use warden_operator::cli::{Cli, Command, RegisterArgs};
use warden_operator::config::OperatorConfig;
use warden_operator::keys::KeystorePaths;
use warden_operator::launch;
use warden_operator::{OperatorKeys, Registrar, RegistrationTargets};
use warden_runtime::launcher::{self, CriticalTasks};

#[tokio::main]
async fn main() -> ExitCode {
    let logs = "info,eigen_client_elcontracts=warn";
    launcher::main(logs, dispatch(Cli::parse().command)).await
}

async fn dispatch(command: Command) -> eyre::Result<()> {
    match command {
        Command::Run(args) => Ok(launcher::run(&args, start).await?),
        Command::Register(args) => register(*args).await,
    }
}

async fn start(
    config: OperatorConfig,
    stopped: watch::Receiver<bool>,
) -> eyre::Result<CriticalTasks> {
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
    let running = launch::start(&config, Arc::new(keys), Arc::new(agent), stopped).await?;
    Ok(running.tasks)
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
