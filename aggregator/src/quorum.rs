//! Assembling a quorum: which operators signed, which did not, and whether the signed weight
//! clears the threshold.

use std::collections::BTreeMap;

use alloy::primitives::U256;
use warden_bls::{Signature, aggregate_signatures};
use warden_protocol::OperatorId;

use crate::OperatorSet;

/// A quorum threshold as a fraction of the total weight; must exceed one half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    numerator: u64,
    denominator: u64,
}

impl Threshold {
    /// Two thirds: Warden's default.
    pub const TWO_THIRDS: Self = Self {
        numerator: 2,
        denominator: 3,
    };

    /// `numerator / denominator`, which must be in (1/2, 1].
    pub fn new(numerator: u64, denominator: u64) -> Result<Self, QuorumError> {
        let valid = denominator != 0
            && numerator <= denominator
            && u128::from(numerator) * 2 > u128::from(denominator);
        if valid {
            Ok(Self {
                numerator,
                denominator,
            })
        } else {
            Err(QuorumError::Threshold {
                numerator,
                denominator,
            })
        }
    }

    /// Whether `signed` out of `total` meets the threshold (exact integer arithmetic).
    pub fn is_met(&self, signed: U256, total: U256) -> bool {
        !total.is_zero()
            && signed.saturating_mul(U256::from(self.denominator))
                >= total.saturating_mul(U256::from(self.numerator))
    }
}

/// Assembling a quorum failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QuorumError {
    #[error("threshold {numerator}/{denominator} must be more than 1/2 and at most 1")]
    Threshold { numerator: u64, denominator: u64 },
    #[error("operator {0} is not in the operator set at the reference block")]
    UnknownOperator(OperatorId),
    #[error("no signatures to aggregate")]
    NoSignatures,
    #[error("signed weight {signed} of {total} is below the threshold")]
    BelowThreshold { signed: U256, total: U256 },
    #[error("aggregating signatures: {0}")]
    Aggregation(String),
    #[error("{marks} signer marks for a set of {operators} operators")]
    SignerMarks { marks: usize, operators: usize },
}

/// What `checkQuorum` needs: the aggregate signature and the non-signers' keys in ascending
/// operator-id order, plus the weights it will find.
#[derive(Debug, Clone)]
pub struct Quorum {
    pub aggregate_signature: Signature,
    /// EIP-2537 public keys of the set's operators that did not sign, by ascending operator id.
    pub non_signers: Vec<[u8; 128]>,
    pub non_signer_ids: Vec<OperatorId>,
    pub signed_weight: U256,
    pub total_weight: U256,
}

impl Quorum {
    /// Assembles the quorum of `signatures` (already verified by the caller) over `set`.
    pub fn assemble(
        set: &OperatorSet,
        signatures: &BTreeMap<OperatorId, Signature>,
        threshold: Threshold,
    ) -> Result<Self, QuorumError> {
        if signatures.is_empty() {
            return Err(QuorumError::NoSignatures);
        }
        let aggregate_signature = aggregate_signatures(&signatures.values().collect::<Vec<_>>())
            .map_err(|error| QuorumError::Aggregation(error.to_string()))?;
        Self::with_aggregate(set, signatures, aggregate_signature, threshold)
    }

    /// The quorum of the operators in `signers` over `set`, whose signatures sum to
    /// `aggregate_signature` (summed, and verified, by the caller).
    pub fn with_aggregate<V>(
        set: &OperatorSet,
        signers: &BTreeMap<OperatorId, V>,
        aggregate_signature: Signature,
        threshold: Threshold,
    ) -> Result<Self, QuorumError> {
        let mut marked = vec![false; set.operators.len()];
        for operator_id in signers.keys() {
            let position = set
                .position(operator_id)
                .ok_or(QuorumError::UnknownOperator(*operator_id))?;
            marked[position] = true;
        }
        Self::with_signers(set, &marked, aggregate_signature, threshold)
    }

    /// The quorum of the operators of `set` marked in `signers` (one mark per operator, by
    /// position in the set), whose signatures sum to `aggregate_signature` (summed, and verified,
    /// by the caller).
    pub fn with_signers(
        set: &OperatorSet,
        signers: &[bool],
        aggregate_signature: Signature,
        threshold: Threshold,
    ) -> Result<Self, QuorumError> {
        if signers.len() != set.operators.len() {
            return Err(QuorumError::SignerMarks {
                marks: signers.len(),
                operators: set.operators.len(),
            });
        }
        if !signers.contains(&true) {
            return Err(QuorumError::NoSignatures);
        }
        let mut signed_weight = U256::ZERO;
        let mut non_signers = Vec::new();
        let mut non_signer_ids = Vec::new();
        // The set is in ascending id order, the order `checkQuorum` wants non-signers in.
        for (operator, &signed) in set.operators.iter().zip(signers) {
            if signed {
                signed_weight += operator.weight;
            } else {
                non_signers.push(operator.public_key.to_eip2537());
                non_signer_ids.push(operator.operator_id);
            }
        }
        if !threshold.is_met(signed_weight, set.total_weight) {
            return Err(QuorumError::BelowThreshold {
                signed: signed_weight,
                total: set.total_weight,
            });
        }
        Ok(Self {
            aggregate_signature,
            non_signers,
            non_signer_ids,
            signed_weight,
            total_weight: set.total_weight,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_must_exceed_one_half() {
        assert!(Threshold::new(1, 2).is_err());
        assert!(Threshold::new(3, 2).is_err());
        assert!(Threshold::new(1, 0).is_err());
        assert!(Threshold::new(51, 100).is_ok());
        assert!(Threshold::new(1, 1).is_ok());
    }

    #[test]
    fn two_thirds_is_exact() {
        let t = Threshold::TWO_THIRDS;
        assert!(t.is_met(U256::from(2u8), U256::from(3u8)));
        assert!(!t.is_met(U256::from(1999u32), U256::from(3000u32)));
        assert!(t.is_met(U256::from(2000u32), U256::from(3000u32)));
        assert!(!t.is_met(U256::ZERO, U256::ZERO));
    }
}
