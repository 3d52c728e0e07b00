//! `warden-aggregator`: the aggregator service. `run` collects operators' signatures, commits
//! quorums and keeps tasks; `operator-set` inspects the operator set a quorum is checked against.

use std::process::ExitCode;

use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use clap::Parser;
use eyre::WrapErr;
use tokio::sync::watch;
use warden_aggregator::OperatorSet;
use warden_aggregator::cli::Command;
use warden_aggregator::config::AggregatorConfig;
use warden_bindings::WardenRegistry;
use warden_runtime::launcher::{self, CriticalTasks};

fn main() -> ExitCode {
    launcher::main("info", dispatch(Command::parse()))
}

async fn dispatch(command: Command) -> eyre::Result<()> {
    match command {
        Command::Run(args) => Ok(launcher::run(&args, start).await?),
        Command::OperatorSet {
            rpc_url,
            registry,
            block,
            json,
        } => operator_set(&rpc_url, registry, block, json).await,
    }
}

async fn start(
    config: AggregatorConfig,
    stopped: watch::Receiver<bool>,
) -> eyre::Result<CriticalTasks> {
    let signer = launcher::load_signer(&config.keys).await?;
    let running = warden_aggregator::launch::start(&config, signer, stopped).await?;
    Ok(running.tasks)
}

/// Prints the operator set a task with reference block `block` must be signed by.
async fn operator_set(
    rpc_url: &str,
    registry: Address,
    block: Option<u64>,
    json: bool,
) -> eyre::Result<()> {
    let url = rpc_url
        .parse()
        .wrap_err_with(|| format!("invalid --rpc-url {rpc_url:?}"))?;
    let provider = ProviderBuilder::new().connect_http(url);
    let block = match block {
        Some(block) => block,
        None => provider
            .get_block_number()
            .await
            .wrap_err("reading the latest block")?,
    };
    let registry = WardenRegistry::new(registry, &provider);
    let set = OperatorSet::at(&registry, block)
        .await
        .wrap_err_with(|| format!("reading the operator set at block {block}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&set)?);
    } else {
        println!(
            "operator set at block {} (total weight {})",
            set.block, set.total_weight
        );
        for operator in &set.operators {
            println!(
                "  {}  {}  weight {}  key {}",
                operator.operator_id, operator.address, operator.weight, operator.public_key
            );
        }
    }
    Ok(())
}
