//! A complete Warden network on one machine, for development, demos and end-to-end tests:
//! anvil on a free loopback port, EigenLayer core v1.3.0 deployed from eigensdk's bytecode,
//! Warden's contracts, and operators with fresh encrypted keystores that restake and register
//! their BLS12-381 keys exactly as production operators do.

pub mod app;
pub mod byzantine;
mod chain;
pub mod eigenlayer;
pub mod inspect;
pub mod market;
mod network;
pub mod process;
mod summary;
pub mod ticks;

use std::path::PathBuf;

use alloy::node_bindings::NodeError;
use alloy::primitives::Address;
use alloy::providers::PendingTransactionError;
use alloy::transports::TransportError;

pub use eigenlayer::{EigenLayerContracts, EigenLayerParams};
pub use network::{DevKeystore, Devnet, DevnetConfig, OperatorHandle, default_anvil_path};
pub use summary::{
    Balances, ChallengeSummary, ChallengesSummary, DevnetState, EigenLayerSummary, OperatorSummary,
    ServiceEndpoints, SlashSummary, Summary, TaskSummary, VaultSummary, WardenContracts,
};

/// Why the devnet could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("anvil not found at {0}; run `make setup` to install the pinned toolchain")]
    AnvilMissing(PathBuf),
    #[error("starting anvil: {0}")]
    Anvil(#[from] NodeError),
    #[error("RPC request failed: {0}")]
    Rpc(#[from] TransportError),
    #[error("contract call failed: {0}")]
    Contract(Box<alloy::contract::Error>),
    #[error(transparent)]
    Transaction(#[from] warden_bindings::tx::TxError),
    #[error(transparent)]
    TaskFacts(#[from] warden_bindings::task_facts::TaskFactsError),
    #[error("waiting for a transaction: {0}")]
    Pending(#[from] PendingTransactionError),
    #[error(
        "proxy deployed at {actual}, expected {expected}: the deployer's nonce moved during deployment"
    )]
    AddressPrediction { expected: Address, actual: Address },
    #[error("operator {index}: {source}")]
    Registration {
        index: usize,
        #[source]
        source: Box<warden_operator::RegistrationError>,
    },
    #[error("operator {index} keys: {source}")]
    Keys {
        index: usize,
        #[source]
        source: warden_keys::KeyError,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("devnet service: {0}")]
    Service(String),
    #[error("internal task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<alloy::contract::Error> for DevnetError {
    fn from(error: alloy::contract::Error) -> Self {
        Self::Contract(Box::new(error))
    }
}
