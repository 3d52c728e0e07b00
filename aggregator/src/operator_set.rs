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
    /// The latest block at or before `block` in which the registry changed the set or a weight:
    /// the set holds for every later block while the registry's `setChangedAt` still says this.
    pub changed_at: u32,
}

/// Registered public keys already decoded and subgroup-checked, by operator id. An id is the
/// hash of its key, so a key known for an id never changes; each is validated once, not once per
/// set read.
#[derive(Debug, Default)]
pub struct Identities {
    keys: std::sync::Mutex<std::collections::HashMap<OperatorId, PublicKey>>,
}

impl Identities {
    fn key(
        &self,
        operator_id: &OperatorId,
        encoded: &[u8; 128],
    ) -> Result<PublicKey, OperatorSetError> {
        if let Some(key) = self
            .keys
            .lock()
            .ok()
            .and_then(|keys| keys.get(operator_id).copied())
        {
            return Ok(key);
        }
        let key =
            PublicKey::from_eip2537(encoded).map_err(|source| OperatorSetError::InvalidKey {
                operator_id: *operator_id,
                source,
            })?;
        if let Ok(mut keys) = self.keys.lock() {
            keys.insert(*operator_id, key);
        }
        Ok(key)
    }
}

impl OperatorSet {
    /// Reads the set from `registry` as it was at `block`.
    pub async fn at<P: Provider>(
        registry: &WardenRegistry::WardenRegistryInstance<P>,
        block: u64,
    ) -> Result<Self, OperatorSetError> {
        Self::read(registry, block, &Identities::default()).await
    }

    /// Reads the set at `block` with one `eth_call` (the registry's `operatorSetAt`), decoding only
    /// the keys `identities` does not hold yet. Before
    /// the first registration the set is empty.
    pub async fn read<P: Provider>(
        registry: &WardenRegistry::WardenRegistryInstance<P>,
        block: u64,
        identities: &Identities,
    ) -> Result<Self, OperatorSetError> {
        let block = u32::try_from(block).map_err(|_| OperatorSetError::BlockOutOfRange(block))?;
        let view = match registry.operatorSetAt(block).call().await {
            Ok(view) => view,
            Err(error)
                if error
                    .as_decoded_error::<WardenRegistry::NoOperatorSetAtBlock>()
                    .is_some() =>
            {
                let empty = Self {
                    block,
                    operators: Vec::new(),
                    total_weight: U256::ZERO,
                    changed_at: 0,
                };
                return Ok(empty);
            }
            Err(error) => return Err(error.into()),
        };
        let mut operators = Vec::with_capacity(view.ids.len());
        for (((id, address), key), weight) in view
            .ids
            .iter()
            .zip(&view.operators)
            .zip(&view.publicKeys)
            .zip(&view.weights)
        {
            let operator_id = OperatorId::from(*id);
            operators.push(RegisteredOperator {
                operator_id,
                address: *address,
                public_key: identities.key(&operator_id, &key.to_eip2537())?,
                weight: U256::from(*weight),
            });
        }
        operators.sort_by_key(|operator| operator.operator_id);
        let set = Self {
            block,
            operators,
            total_weight: view.totalWeight,
            changed_at: view.changedAt,
        };
        Ok(set)
    }

    /// Whether the set read at `self.block` still holds at the later `block`: one `eth_call`
    /// (`setChangedAt`).
    pub async fn holds_at<P: Provider>(
        &self,
        registry: &WardenRegistry::WardenRegistryInstance<P>,
        block: u32,
    ) -> Result<bool, OperatorSetError> {
        if self.operators.is_empty() {
            return Ok(false);
        }
        Ok(registry.setChangedAt(block).call().await? == self.changed_at)
    }

    /// The operator with this id, if it is in the set.
    pub fn get(&self, operator_id: &OperatorId) -> Option<&RegisteredOperator> {
        self.operators
            .binary_search_by_key(operator_id, |operator| operator.operator_id)
            .ok()
            .map(|index| &self.operators[index])
    }
}
