//! `warden-operator`: the operator node. `register` joins EigenLayer and Warden's operator set;
//! `run` follows tasks, runs the agent and signs its actions.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use alloy::providers::ProviderBuilder;
use clap::Parser;
use eyre::WrapErr;
use tokio::sync::watch;
use warden_keys::{KeysConfig, KeystorePaths, OperatorKeys};
use warden_operator::cli::{Command, ExitArgs, OperatorTarget, RegisterArgs, StatusArgs};
use warden_operator::config::OperatorConfig;
use warden_operator::launch;
use warden_operator::status::OperatorStatus;
use warden_operator::{RegisterOptions, Registrar, RegistrationTargets};
use warden_runtime::deployment::DeploymentFile;
use warden_runtime::launcher::{self, CriticalTasks};

fn main() -> ExitCode {
    let logs = "info,eigen_client_elcontracts=warn";
    launcher::main(logs, dispatch(Command::parse()))
}

async fn dispatch(command: Command) -> eyre::Result<()> {
    match command {
        Command::Run(args) => Ok(launcher::run(&args, start).await?),
        Command::Register(args) => register(*args).await,
        Command::Status(args) => status(args).await,
        Command::Exit(args) => exit(*args).await,
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

/// The contracts (from the deployment file, checked to be of the endpoint's chain, or the flags)
/// and the operator's decrypted keys, as `register` and `exit` act with them.
async fn operator_and_targets(
    target: &OperatorTarget,
) -> eyre::Result<(RegistrationTargets, OperatorKeys)> {
    let deployment = target
        .deployment
        .as_deref()
        .map(DeploymentFile::read)
        .transpose()?;
    let targets = target.contracts.targets(deployment.as_ref())?;
    let rpc_url = &target.rpc_url;
    let chain = ProviderBuilder::new().connect_http(
        rpc_url
            .parse()
            .wrap_err_with(|| format!("--rpc-url {rpc_url:?}"))?,
    );
    match &deployment {
        Some(deployment) => deployment.check(&chain).await?,
        None => {
            check_core(
                &chain,
                targets.allocation_manager,
                targets.delegation_manager,
            )
            .await?
        }
    }
    let paths = KeystorePaths::in_dir(&target.keystore_dir);
    let password_file = target.password_file.clone();
    let keys =
        tokio::task::spawn_blocking(move || OperatorKeys::unlock(&paths, password_file.as_deref()))
            .await?
            .wrap_err("decrypting the operator's keystores")?;
    Ok((targets, keys))
}

/// Refuses an EigenLayer core of a release Warden's interfaces were not written for, before
/// anything is read from it or sent to it.
async fn check_core(
    chain: &impl alloy::providers::Provider,
    allocation_manager: alloy::primitives::Address,
    delegation_manager: alloy::primitives::Address,
) -> eyre::Result<()> {
    use warden_bindings::core_release::supported_release;
    supported_release(chain, "AllocationManager", allocation_manager).await?;
    supported_release(chain, "DelegationManager", delegation_manager).await?;
    Ok(())
}

async fn exit(args: ExitArgs) -> eyre::Result<()> {
    let (targets, keys) = operator_and_targets(&args.target).await?;
    let done = Registrar::new(&args.target.rpc_url, targets, &keys)?
        .exit()
        .await
        .wrap_err("leaving (run `warden-operator exit` again to finish: it skips what is done)")?;
    for found in &done.found {
        println!("found: {found}");
    }
    for sent in &done.sent {
        println!("sent:  {sent}");
    }
    println!(
        "operator {} has left Warden's operator set; keep its node running until the last task \
         it signed is past its fraud-proof window",
        keys.address()
    );
    Ok(())
}

async fn register(args: RegisterArgs) -> eyre::Result<()> {
    let (targets, keys) = operator_and_targets(&args.target).await?;
    let registrar = Registrar::new(&args.target.rpc_url, targets, &keys)?;
    let options = RegisterOptions {
        stake: args.stake,
        metadata_uri: args.metadata_uri.clone(),
        allocation_delay: args.allocation_delay,
        magnitude_bps: args.magnitude_bps,
        allocation_wait: Duration::from_secs(args.allocation_wait_secs),
    };
    let done = registrar.register(&options).await.wrap_err(
        "registering (run `warden-operator register` again to finish: it skips what is done)",
    )?;
    for found in &done.found {
        println!("found: {found}");
    }
    for sent in &done.sent {
        println!("sent:  {sent}");
    }
    println!(
        "operator {} is in Warden's operator set with id {}",
        keys.address(),
        done.operator_id
    );
    Ok(())
}

async fn status(args: StatusArgs) -> eyre::Result<()> {
    let deployment = DeploymentFile::read(&args.deployment)?;
    let chain = ProviderBuilder::new().connect_http(
        args.rpc_url
            .parse()
            .wrap_err_with(|| format!("--rpc-url {:?}", args.rpc_url))?,
    );
    deployment.check(&chain).await?;
    let status = OperatorStatus::read(&chain, &deployment, args.operator)
        .await
        .wrap_err("reading the operator's status")?;
    println!("{status}");
    Ok(())
}
