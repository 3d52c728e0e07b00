//! The `warden-aggregator` command line, here rather than in `main.rs` so that tests (the
//! compose file check) can parse command lines exactly as the binary does.

use clap::Parser;
use warden_runtime::cli::RunArgs;

use crate::config::AggregatorConfig;

// Clap names the command after the package, which is also the binary's name.
#[derive(Debug, Parser)]
#[command(version, about = "Warden aggregator")]
pub enum Command {
    /// Run the aggregator: take operators' signatures over HTTP, commit each task's output once
    /// a stake-weighted quorum signed it, and (for the configured agents) open, execute and
    /// expire tasks. Everything is on record in the database first, so a restart resumes
    /// without losing a signature or sending a commitment twice. Serves Prometheus metrics and
    /// the EigenLayer node API. Stops cleanly on SIGINT or SIGTERM.
    Run(RunArgs<AggregatorConfig>),
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
