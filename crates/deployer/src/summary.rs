//! What a deployment records: every contract address, the operators and their weights. The
//! devnet's summary file holds it (flattened), and `warden deploy` writes it as
//! `deployment.json`.

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
    #[serde(flatten)]
    pub contracts: EigenLayerContracts,
    pub params: EigenLayerParams,
}

/// Warden's contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WardenContracts {
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
