//! `warden-aggregator`: the aggregator service. This release inspects the operator set a quorum is
//! checked against; collecting signatures and committing outputs arrive with the task manager.

use alloy::providers::{Provider, ProviderBuilder};
use clap::{Parser, Subcommand};
use eyre::WrapErr;
use warden_aggregator::OperatorSet;
use warden_bindings::WardenRegistry;

#[derive(Debug, Parser)]
#[command(name = "warden-aggregator", version, about = "Warden aggregator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the operator set (ids, addresses, BLS keys, weights) as the registry recorded it at a
    /// block: the set a task with that reference block must be signed by.
    OperatorSet {
        /// Ethereum JSON-RPC endpoint.
        #[arg(long, env = "WARDEN_RPC_URL")]
        rpc_url: String,
        /// Warden registry address.
        #[arg(long, env = "WARDEN_REGISTRY")]
        registry: alloy::primitives::Address,
        /// Reference block [default: the latest].
        #[arg(long)]
        block: Option<u64>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    warden_runtime::init_logging("info");
    match cli.command {
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
