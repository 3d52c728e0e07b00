//! What a deployment records: every contract address, the operators and their weights. The
//! devnet's summary file holds it (flattened), and `warden deploy` writes it into
//! `deployment.json`, a [`DeploymentRecord`] that also says whether the deployer is running.

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::app::AppContracts;
use crate::market::MarketContracts;
use crate::{EigenLayerContracts, EigenLayerParams};

/// EigenLayer's deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EigenLayerSummary {
    /// The EigenLayer core release, as the version string its contracts report.
    pub version: String,
    /// Where the core's bytecode comes from (`newton-utils 2.0.0`).
    #[serde(default)]
    pub bytecode: String,
    /// The eigensdk release operators register through (`eigensdk 2.0.0`).
    #[serde(default)]
    pub eigensdk: String,
    /// The key that deployed the core (absent in records written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer: Option<Address>,
    #[serde(flatten)]
    pub contracts: EigenLayerContracts,
    pub params: EigenLayerParams,
}

impl EigenLayerSummary {
    /// The core whose bytecode newton-utils ships, deployed by `deployer` (what every devnet
    /// runs, whoever deploys Warden on it).
    pub fn newton_core(
        deployer: Address,
        contracts: EigenLayerContracts,
        params: EigenLayerParams,
    ) -> Self {
        Self {
            version: warden_bindings::eigenlayer::VERSION.to_string(),
            bytecode: warden_bindings::eigenlayer::BYTECODE_SOURCE.to_string(),
            eigensdk: warden_bindings::eigenlayer::EIGENSDK.to_string(),
            deployer: Some(deployer),
            contracts,
            params,
        }
    }
}

/// Warden's contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WardenContracts {
    /// The key that deployed Warden's contracts and owns the registry (absent in records written
    /// before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer: Option<Address>,
    /// The AVS identity and registrar of Warden's operator set.
    pub registry: Address,
    pub operator_set_id: u32,
    /// Where EigenLayer pays the stake slashed from Warden's operator set (fixed for good).
    pub redistribution_recipient: Address,
}

/// One registered operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSummary {
    pub address: Address,
    /// keccak256 of the EIP-2537 public key, the operator's id on chain.
    pub operator_id: B256,
    /// Compressed (48-byte) BLS12-381 public key, 0x-hex.
    pub bls_public_key: String,
    /// Quorum weight (slashable stake, in wei of the restaked wrapped ether), as a decimal string.
    #[serde(with = "crate::decimal")]
    pub weight: U256,
    /// Directory holding the operator's encrypted keystores.
    pub keystore_dir: String,
}

/// Everything a deployment put on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentSummary {
    pub chain_id: u64,
    pub rpc_url: String,
    pub eigenlayer: EigenLayerSummary,
    pub warden: WardenContracts,
    pub operators: Vec<OperatorSummary>,
    #[serde(with = "crate::decimal")]
    pub total_weight: U256,
    pub market: MarketContracts,
    pub app: AppContracts,
}

impl DeploymentSummary {
    /// The contracts an operator of this deployment registers with (EigenLayer's, Warden's
    /// registry and the strategy it stakes in).
    pub fn registration_targets(&self) -> warden_operator::RegistrationTargets {
        let contracts = &self.eigenlayer.contracts;
        warden_operator::RegistrationTargets {
            delegation_manager: contracts.delegation_manager,
            strategy_manager: contracts.strategy_manager,
            allocation_manager: contracts.allocation_manager,
            permission_controller: contracts.permission_controller,
            registry: self.warden.registry,
            strategy: contracts.strategy,
        }
    }
}

/// The deployer's state, as `deployment.json` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployerState {
    /// A deployer is deploying (or was killed before it could say otherwise).
    Running,
    /// The deployer has exited; its `outcome` says how.
    Stopped,
}

/// How a stopped deployer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployOutcome {
    /// Everything is deployed and every configuration written: the record holds the deployment.
    Deployed,
    /// It stopped on an error (`error` says which); what it left is unfinished.
    Failed,
    /// SIGINT or SIGTERM stopped it; what it left is unfinished.
    Interrupted,
}

/// `deployment.json`: the deployer's state and, once it has deployed, the deployment (the
/// fields of [`DeploymentSummary`], flattened). The deployer writes it `running` before it
/// sends anything and `stopped` however it ends (`deployed`, `failed`, `interrupted`), so that
/// the file never says `running` about a deployer that has exited, unless it was killed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    /// Absent only in files written before the deployer recorded its state, which it wrote
    /// once deployed and never otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DeployerState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<DeployOutcome>,
    /// Why a `failed` deployer stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `None` until deployed (and for a file that does not hold a whole deployment).
    #[serde(flatten)]
    pub deployment: Option<DeploymentSummary>,
}

impl DeploymentRecord {
    /// A deployer at work.
    pub fn running() -> Self {
        Self {
            state: Some(DeployerState::Running),
            outcome: None,
            error: None,
            deployment: None,
        }
    }

    /// A deployer that finished `deployment`.
    pub fn deployed(deployment: DeploymentSummary) -> Self {
        Self::stopped(Some(DeployOutcome::Deployed), None, Some(deployment))
    }

    /// A deployer stopped by `error`.
    pub fn failed(error: String) -> Self {
        Self::stopped(Some(DeployOutcome::Failed), Some(error), None)
    }

    /// A deployer stopped by a signal.
    pub fn interrupted() -> Self {
        Self::stopped(Some(DeployOutcome::Interrupted), None, None)
    }

    fn stopped(
        outcome: Option<DeployOutcome>,
        error: Option<String>,
        deployment: Option<DeploymentSummary>,
    ) -> Self {
        Self {
            state: Some(DeployerState::Stopped),
            outcome,
            error,
            deployment,
        }
    }

    /// Whether this records a finished deployment, which the deployer leaves alone when run
    /// again. Anything else (a deployer that failed, was interrupted or killed) is unfinished:
    /// the deployer starts over, deleting its keystores. So the state alone decides, never
    /// whether the deployment's fields parse: a summary this version cannot read is still a
    /// deployment whose keys must not be deleted.
    pub fn is_deployed(&self) -> bool {
        match self.state {
            // Before the state was recorded, the file was written only once deployed.
            None => true,
            Some(DeployerState::Stopped) => self.outcome == Some(DeployOutcome::Deployed),
            Some(DeployerState::Running) => false,
        }
    }
}
