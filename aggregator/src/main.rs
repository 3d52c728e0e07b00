//! `warden-aggregator`: the aggregator service. `run` collects operators' signatures, commits
//! quorums and keeps tasks; `operator-set` inspects the operator set a quorum is checked against.

use std::path::Path;

use alloy::providers::{Provider, ProviderBuilder};
use clap::Parser;
use eyre::WrapErr;
use warden_aggregator::OperatorSet;
use warden_aggregator::cli::{Cli, Command};
use warden_aggregator::config::AggregatorConfig;
use warden_bindings::WardenRegistry;

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    warden_runtime::init_logging("info");
    match cli.command {
        Command::Run { config } => run(&config).await,
        Command::OperatorSet {
            rpc_url,
            registry,
            block,
            json,
        } => {
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
                        operator.operator_id,
                        operator.address,
                        operator.weight,
                        operator.public_key
                    );
                }
            }
            Ok(())
        }
    }
}

async fn run(path: &Path) -> eyre::Result<()> {
    let config = AggregatorConfig::load(Some(path))
        .wrap_err_with(|| format!("reading {}", path.display()))?;
    let keys = config.keys.clone();
    let signer = tokio::task::spawn_blocking(move || keys.ecdsa_signer())
        .await?
        .wrap_err("loading the signing key")?;
    let shutdown = warden_runtime::shutdown_signal().wrap_err("installing signal handlers")?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = warden_aggregator::launch::start(&config, signer, stopped)
        .await
        .wrap_err("starting the aggregator")?;
    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    for task in running.tasks {
        let _ = task.await;
    }
    Ok(())
}
