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

/// What never changes about a registered operator id: the registry's list of ids only grows,
/// an id is the hash of its key, and the key's operator address is fixed at registration. Read
/// once per id and kept, so that each later set costs one call per operator (its state at the
/// block) instead of four.
#[derive(Debug, Default)]
pub struct Identities {
    /// The registry's ids in registration order, as far as read.
    ids: std::sync::Mutex<Vec<alloy::primitives::B256>>,
    /// Each id's key and operator address.
    known: std::sync::Mutex<std::collections::HashMap<OperatorId, (PublicKey, Address)>>,
}

impl Identities {
    /// Forgets what it read if the registry now lists fewer ids than it knows: a rollback undid
    /// a registration, and the index may name another operator now.
    fn check_count(&self, count: usize) {
        if let Ok(mut ids) = self.ids.lock()
            && ids.len() > count
        {
            ids.clear();
        }
    }

    fn id(&self, index: usize) -> Option<alloy::primitives::B256> {
        self.ids.lock().ok()?.get(index).copied()
    }

    fn learn_id(&self, index: usize, id: alloy::primitives::B256) {
        if let Ok(mut ids) = self.ids.lock()
            && ids.len() == index
        {
            ids.push(id);
        }
    }

    fn identity(&self, operator_id: &OperatorId) -> Option<(PublicKey, Address)> {
        self.known.lock().ok()?.get(operator_id).copied()
    }

    fn learn_identity(&self, operator_id: OperatorId, identity: (PublicKey, Address)) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(operator_id, identity);
        }
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

    /// Reads the set at `block`, reading only what `identities` does not hold yet (and adding it
    /// there).
    pub async fn read<P: Provider>(
        registry: &WardenRegistry::WardenRegistryInstance<P>,
        block: u64,
        identities: &Identities,
    ) -> Result<Self, OperatorSetError> {
        let block = u32::try_from(block).map_err(|_| OperatorSetError::BlockOutOfRange(block))?;
        let count = registry.operatorIdCount().call().await?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        identities.check_count(count);
        let mut operators = Vec::new();
        for index in 0..count {
            let id = match identities.id(index) {
                Some(id) => id,
                None => {
                    let id = registry.operatorIds(U256::from(index)).call().await?;
                    identities.learn_id(index, id);
                    id
                }
            };
            let operator_id = OperatorId::from(id);
            let state = registry.operatorAt(id, block).call().await?;
            if !state._0 {
                continue;
            }
            let (public_key, address) = match identities.identity(&operator_id) {
                Some(identity) => identity,
                None => {
                    let encoded = registry.publicKeyOf(id).call().await?.to_eip2537();
                    let public_key = PublicKey::from_eip2537(&encoded).map_err(|source| {
                        OperatorSetError::InvalidKey {
                            operator_id,
                            source,
                        }
                    })?;
                    let address = registry.operatorOf(id).call().await?;
                    identities.learn_identity(operator_id, (public_key, address));
                    (public_key, address)
                }
            };
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
