//! Deploys Warden's whole world into a chain paid by anvil's development accounts: EigenLayer
//! core (redistributable operator sets) from newton-utils' bytecode, a Uniswap v2 market with a
//! noise trader, Warden's registry and application (task manager, verifier, funded vault,
//! registered agent), and operators with fresh encrypted keystores that restake and register their
//! BLS12-381 keys exactly as production operators do. Used by the devnet and by `warden deploy`, which also
//! writes every service's configuration ([`Deployment::aggregator_config`] and its siblings).

pub mod accounts;
pub mod app;
pub mod avs;
pub mod decimal;
mod deployment;
pub mod eigenlayer;
pub mod existing;
pub mod market;
pub mod networks;
pub mod registry;
mod service_configs;
mod summary;
pub mod vault;

use std::path::PathBuf;

use alloy::primitives::Address;
use alloy::providers::PendingTransactionError;
use alloy::transports::TransportError;

pub use deployment::{DeployConfig, Deployment, DevKeystore, OperatorHandle};
pub use eigenlayer::{EigenLayerContracts, EigenLayerParams};
pub use registry::RegistryParams;
pub use service_configs::{ListenPlan, ListenPlanError, Service};
pub use summary::{
    DeployOutcome, DeployerState, DeploymentRecord, DeploymentSummary, EigenLayerSummary,
    OperatorSummary, WardenContracts,
};

/// Why a deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("RPC request failed: {0}")]
    Rpc(#[from] TransportError),
    #[error("contract call failed: {0}")]
    Contract(Box<alloy::contract::Error>),
    #[error(transparent)]
    Transaction(#[from] warden_bindings::tx::TxError),
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
    #[error("internal task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

warden_runtime::boxed_contract_error!(DeployError, Contract);

/// A TOML file a command reads (parameters, a policy); the error names the file and the key.
fn read_toml<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, DeployError> {
    let text = std::fs::read_to_string(path).map_err(|source| DeployError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text)
        .map_err(|error| DeployError::Config(format!("{}: {error}", path.display())))
}
