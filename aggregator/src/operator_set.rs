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
    /// The sum of every operator's key, once a batch asked for it ([`OperatorSet::key_sum`]).
    #[serde(skip)]
    pub key_total: KeyTotal,
}

/// The sum of all of a set's keys, computed on first use and kept with the set, which tasks share
/// while the registry leaves it unchanged: a batch signed by most of the set then costs the keys
/// left out of it, not the keys in it.
#[derive(Clone, Default)]
pub struct KeyTotal(std::sync::OnceLock<Option<PublicKey>>);

impl std::fmt::Debug for KeyTotal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.0.get() {
            None => "not computed",
            Some(Some(_)) => "computed",
            Some(None) => "at infinity",
        };
        f.debug_tuple("KeyTotal").field(&state).finish()
    }
}

/// A cache: two sets are equal by their operators, computed sums or not.
impl PartialEq for KeyTotal {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for KeyTotal {}

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
                    key_total: KeyTotal::default(),
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
            key_total: KeyTotal::default(),
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
        self.position(operator_id)
            .map(|position| &self.operators[position])
    }

    /// Where the operator with this id stands in the set (ascending id order), if it is in it.
    pub fn position(&self, operator_id: &OperatorId) -> Option<usize> {
        self.operators
            .binary_search_by_key(operator_id, |operator| operator.operator_id)
            .ok()
    }

    /// The sum of the keys of the operators at `positions`, which must be distinct; `None` if one
    /// is repeated or out of range, or the sum is the point at infinity. When the positions cover
    /// most of the set, the sum is the set's total ([`KeyTotal`]) less the keys left out, which
    /// for a batch signed by nine in ten operators adds a ninth as many keys.
    pub fn key_sum(&self, positions: &[usize]) -> Option<PublicKey> {
        let mut included = vec![false; self.operators.len()];
        for &position in positions {
            if std::mem::replace(included.get_mut(position)?, true) {
                return None;
            }
        }
        // The keys marked `marked` in `included`.
        let keys = |marked: bool| -> Vec<&PublicKey> {
            self.operators
                .iter()
                .zip(&included)
                .filter(|(_, included)| **included == marked)
                .map(|(operator, _)| &operator.public_key)
                .collect()
        };
        if positions.len() * 2 <= self.operators.len() {
            return warden_bls::aggregate_public_keys(&keys(true)).ok();
        }
        let total = self.key_total.0.get_or_init(|| {
            let all: Vec<&PublicKey> = self
                .operators
                .iter()
                .map(|operator| &operator.public_key)
                .collect();
            warden_bls::aggregate_public_keys(&all).ok()
        });
        warden_bls::subtract_public_keys(total.as_ref()?, &keys(false)).ok()
    }
}

#[cfg(test)]
mod tests {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use warden_bls::SecretKey;

    use super::*;

    fn set_of(count: usize, rng: &mut rand::rngs::StdRng) -> OperatorSet {
        let mut operators: Vec<RegisteredOperator> = (0..count)
            .map(|_| {
                let public_key = SecretKey::random(&mut *rng).public_key();
                RegisteredOperator {
                    operator_id: OperatorId::from_public_key(&public_key.to_eip2537()),
                    address: Address::ZERO,
                    public_key,
                    weight: U256::from(1u8),
                }
            })
            .collect();
        operators.sort_by_key(|operator| operator.operator_id);
        OperatorSet {
            block: 10,
            operators,
            total_weight: U256::from(count),
            changed_at: 1,
            key_total: KeyTotal::default(),
        }
    }

    /// Both ways of forming a key sum (adding the members' keys, or the total less the others')
    /// give what adding the keys one by one gives, for subsets of every size.
    #[test]
    fn key_sums_agree_with_adding_the_keys() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(21);
        let set = set_of(24, &mut rng);
        let mut positions: Vec<usize> = (0..24).collect();
        for _ in 0..60 {
            positions.shuffle(&mut rng);
            let members = &positions[..rng.gen_range(1..=24)];
            let keys: Vec<&PublicKey> = members
                .iter()
                .map(|&position| &set.operators[position].public_key)
                .collect();
            assert_eq!(
                set.key_sum(members),
                warden_bls::AggregatePublicKey::aggregate(&keys).ok(),
                "{} of 24",
                members.len()
            );
        }
    }

    #[test]
    fn key_sums_refuse_repeated_and_unknown_positions() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(22);
        let set = set_of(6, &mut rng);
        // Few positions (keys added) and most (the total less the rest).
        assert_eq!(set.key_sum(&[1, 1]), None);
        assert_eq!(set.key_sum(&[0, 1, 2, 3, 3]), None);
        assert_eq!(set.key_sum(&[0, 6]), None);
        assert_eq!(set.key_sum(&[0, 1, 2, 3, 9]), None);
        assert!(set.key_sum(&[0, 1, 2, 3, 4]).is_some());
    }
}
