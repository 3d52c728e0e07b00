//! The operator set as the registry recorded it at a reference block.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use serde::Serialize;
use warden_bindings::WardenRegistry;
use warden_bls::PublicKey;
use warden_protocol::OperatorId;

/// Reading the operator set failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorSetError {
    #[error("registry call failed: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// The registry holds a key that does not decode; the registry validates keys at
    /// registration, so this means the address is not a Warden registry.
    #[error("operator {operator_id}: registered public key is invalid: {source}")]
    InvalidKey {
        operator_id: OperatorId,
        #[source]
        source: warden_bls::BlsError,
    },
    #[error("block {0} is beyond the registry's uint32 block numbers")]
    BlockOutOfRange(u64),
}

/// One operator of the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredOperator {
    /// keccak256 of the EIP-2537 public key.
    pub operator_id: OperatorId,
    pub address: Address,
    pub public_key: PublicKey,
    /// Slashable stake at the block.
    pub weight: U256,
}

/// The operators registered at `block`, in ascending order of operator id (the order
/// `checkQuorum` wants non-signers in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorSet {
    pub block: u32,
    pub operators: Vec<RegisteredOperator>,
    pub total_weight: U256,
}

impl OperatorSet {
    /// Reads the set from `registry` as it was at `block`.
    pub async fn at<P: Provider>(
        registry: &WardenRegistry::WardenRegistryInstance<P>,
        block: u64,
    ) -> Result<Self, OperatorSetError> {
        let block = u32::try_from(block).map_err(|_| OperatorSetError::BlockOutOfRange(block))?;
        let count = registry.operatorIdCount().call().await?;
        let mut operators = Vec::new();
        let mut index = U256::ZERO;
        while index < count {
            let id = registry.operatorIds(index).call().await?;
            let operator_id = OperatorId::from(id);
            index += U256::from(1u8);
            let state = registry.operatorAt(id, block).call().await?;
            if !state._0 {
                continue;
            }
            let encoded = registry.publicKeyOf(id).call().await?.to_eip2537();
            let public_key = PublicKey::from_eip2537(&encoded).map_err(|source| {
                OperatorSetError::InvalidKey {
                    operator_id,
                    source,
                }
            })?;
            let address = registry.operatorOf(id).call().await?;
            operators.push(RegisteredOperator {
                operator_id,
                address,
                public_key,
                weight: U256::from(state._1),
            });
        }
        operators.sort_by_key(|operator| operator.operator_id);
        let total_weight = U256::from(registry.quorumAt(block).call().await?.totalWeight);
        Ok(Self {
            block,
            operators,
            total_weight,
        })
    }

    /// The operator with this id, if it is in the set.
    pub fn get(&self, operator_id: &OperatorId) -> Option<&RegisteredOperator> {
        self.operators
            .binary_search_by_key(operator_id, |operator| operator.operator_id)
            .ok()
            .map(|index| &self.operators[index])
    }
}
