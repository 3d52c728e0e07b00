//! A complete Warden network on one machine, for development, demos and end-to-end tests:
//! anvil on a free loopback port with everything `warden-deployer` deploys in it, and the tick
//! loop that runs every service in this process (aggregator, operator nodes, challenger),
//! byzantine operators included, and reports what happened in the devnet's summary.

pub mod byzantine;
mod network;
mod report;
mod rewards;
mod summary;
pub mod ticks;

use std::path::PathBuf;

use alloy::node_bindings::NodeError;
use alloy::transports::TransportError;

pub use network::{Devnet, DevnetConfig, default_anvil_path};
pub use report::task_state;
pub use summary::{
    Balances, ChallengeSummary, ChallengesSummary, DevnetState, RewardSummary, ServiceEndpoints,
    SlashSummary, Summary, TaskSummary, VaultSummary,
};
pub use warden_deployer::{
    DeployConfig, DeployError, Deployment, DeploymentSummary, DevKeystore, EigenLayerContracts,
    EigenLayerParams, EigenLayerSummary, OperatorHandle, OperatorSummary, WardenContracts,
};

/// Why the devnet could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("anvil not found at {0}; run `make setup` to install the pinned toolchain")]
    AnvilMissing(PathBuf),
    #[error("starting anvil: {0}")]
    Anvil(#[from] NodeError),
    /// Deploying, and the chain, contract and file failures the deployer has names for.
    #[error(transparent)]
    Deploy(#[from] DeployError),
    #[error("RPC request failed: {0}")]
    Rpc(#[from] TransportError),
    #[error(transparent)]
    Transaction(#[from] warden_bindings::tx::TxError),
    #[error(transparent)]
    TaskFacts(#[from] warden_bindings::task_facts::TaskFactsError),
    #[error(transparent)]
    TaskState(#[from] warden_protocol::UnknownTaskState),
    #[error("operator {index} keys: {source}")]
    Keys {
        index: usize,
        #[source]
        source: warden_keys::KeyError,
    },
    #[error("devnet service: {0}")]
    Service(String),
    #[error("internal task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<alloy::contract::Error> for DevnetError {
    fn from(error: alloy::contract::Error) -> Self {
        Self::Deploy(error.into())
    }
}
