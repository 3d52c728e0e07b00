//! `warden-operator`: the operator node. `register` joins EigenLayer and Warden's operator set;
//! `run` follows tasks, runs the agent and signs its actions.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use eyre::WrapErr;
use tokio::sync::watch;
use warden_keys::{KeysConfig, KeystorePaths, OperatorKeys};
use warden_operator::cli::{Command, RegisterArgs};
use warden_operator::config::OperatorConfig;
use warden_operator::launch;
use warden_operator::{Registrar, RegistrationTargets};
use warden_runtime::launcher::{self, CriticalTasks};

fn main() -> ExitCode {
    let logs = "info,eigen_client_elcontracts=warn";
    launcher::main(logs, dispatch(Command::parse()))
}

async fn dispatch(command: Command) -> eyre::Result<()> {
    match command {
        Command::Run(args) => Ok(launcher::run(&args, start).await?),
        Command::Register(args) => register(*args).await,
        Command::SlashingProtection(args) => {
            Ok(warden_operator::slashing_protection::run(args).await?)
        }
    }
}

async fn start(
    config: OperatorConfig,
    stopped: watch::Receiver<bool>,
) -> eyre::Result<CriticalTasks> {
    let keys = launcher::unlock_keys(&config.keys, KeysConfig::operator_keys)
        .await
        .wrap_err("decrypting the operator's keystores")?;
    let agent = warden_runtime::agent::load_agent(&config.agent)
        .await
        .wrap_err("loading the agent")?;
    let running = launch::start(&config, Arc::new(keys), agent, stopped).await?;
    Ok(running.tasks)
}

async fn register(args: RegisterArgs) -> eyre::Result<()> {
    let paths = KeystorePaths::in_dir(&args.keystore_dir);
    let password_file = args.password_file.clone();
    let keys =
        tokio::task::spawn_blocking(move || OperatorKeys::unlock(&paths, password_file.as_deref()))
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
    let operator_id = registrar
        .register(
            args.stake,
            &args.metadata_uri,
            Duration::from_secs(args.allocation_wait_secs),
        )
        .await
        .wrap_err("registering")?;
    println!(
        "registered operator {} with id {operator_id}",
        keys.address()
    );
    Ok(())
}
