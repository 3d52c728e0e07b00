//! What a committed task keeps on chain: one hash of its input, output, trace and non-signers.
//!
//! `commitOutput` writes `TaskCommitments.hash(inputHash, outputHash, traceHash, nonSignerHash)`
//! (`contracts/src/libraries/TaskCommitments.sol`) over the task's input hash, and every later use
//! of the four values (execution, a challenge, equivocation evidence, rewards) hands them to the
//! contracts again, which check them against it. The values themselves travel in the task's
//! `TaskOpened` (input hash) and `OutputCommitted` (output, trace hash, non-signer ids) events; the
//! trace itself is in the `commitOutput` call's calldata. The differential tests in
//! `crates/devnet/tests` hold this module and the contracts to the same bytes.

use alloy::primitives::{B256, keccak256};
use alloy::sol_types::SolValue;
use serde::{Deserialize, Serialize};

/// The four values a task's record binds, as the contracts take them (`TaskHashes` in
/// `ITaskManager.sol`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskHashes {
    /// `keccak256` of the task's input snapshot (`TaskOpened`).
    pub input_hash: B256,
    /// `keccak256` of the committed output (`OutputCommitted`); zero if never committed.
    pub output_hash: B256,
    /// [`trace_hash`] of the committed activation trace (`OutputCommitted`); zero for an agent that
    /// keeps none, or if never committed.
    pub trace_hash: B256,
    /// [`non_signer_hash`] of the commitment's non-signer ids (`OutputCommitted`); zero when
    /// everyone signed, or if never committed.
    pub non_signer_hash: B256,
}

impl TaskHashes {
    /// A commitment's hashes: the input hash, `keccak256(output)`, the trace's hash, and the
    /// non-signers' ids in the (ascending) order `OutputCommitted` emits them.
    pub fn committed(
        input_hash: B256,
        output: &[u8],
        trace_hash: B256,
        non_signer_ids: &[B256],
    ) -> Self {
        Self {
            input_hash,
            output_hash: keccak256(output),
            trace_hash,
            non_signer_hash: non_signer_hash(non_signer_ids),
        }
    }

    /// What opens the record of a task never committed: its input hash alone.
    pub fn uncommitted(input_hash: B256) -> Self {
        Self {
            input_hash,
            ..Self::default()
        }
    }

    /// The commitment hash a committed task stores (`getTask(..).commitmentHash`):
    /// `keccak256(abi.encode(inputHash, outputHash, traceHash, nonSignerHash))`.
    pub fn commitment(&self) -> B256 {
        keccak256(
            (
                self.input_hash,
                self.output_hash,
                self.trace_hash,
                self.non_signer_hash,
            )
                .abi_encode(),
        )
    }
}

/// `keccak256(abi.encodePacked(ids))` of a commitment's non-signers' operator ids, in the ascending
/// order `OutputCommitted` emits them; zero when there are none (`OperatorIds.hash`).
pub fn non_signer_hash(ids: &[B256]) -> B256 {
    packed_hash(ids)
}

/// The most chunk hashes a committed trace may hold (`TaskCommitments.MAX_TRACE_LENGTH`): a
/// challenge must carry the whole trace with one step of the run in a single transaction.
pub const MAX_TRACE_LENGTH: usize = 1024;

/// The trace hash of an agent that keeps no activation trace (the reference MLP): what its operators
/// sign and its commitments bind in the trace's place.
pub const NO_TRACE: B256 = B256::ZERO;

/// `keccak256(abi.encodePacked(trace))` of an activation trace, the agent's output-chunk hashes in
/// layer order; zero for the empty trace of an agent that keeps none (`TaskCommitments.hashTrace`).
pub fn trace_hash(trace: &[B256]) -> B256 {
    packed_hash(trace)
}

/// The hash of packed words, zero for none: a commitment to nothing needs no preimage.
fn packed_hash(words: &[B256]) -> B256 {
    if words.is_empty() {
        return B256::ZERO;
    }
    let mut packed = Vec::with_capacity(32 * words.len());
    for word in words {
        packed.extend_from_slice(word.as_slice());
    }
    keccak256(packed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn no_non_signers_and_no_trace_hash_to_zero() {
        assert_eq!(non_signer_hash(&[]), B256::ZERO);
        assert_ne!(non_signer_hash(&[B256::ZERO]), B256::ZERO);
        assert_eq!(trace_hash(&[]), NO_TRACE);
        assert_ne!(trace_hash(&[B256::ZERO]), B256::ZERO);
    }

    #[test]
    fn commitment_is_the_hash_of_four_words() {
        let hashes = TaskHashes {
            input_hash: B256::repeat_byte(1),
            output_hash: B256::repeat_byte(2),
            trace_hash: B256::repeat_byte(3),
            non_signer_hash: B256::repeat_byte(4),
        };
        let mut words = Vec::new();
        words.extend_from_slice(hashes.input_hash.as_slice());
        words.extend_from_slice(hashes.output_hash.as_slice());
        words.extend_from_slice(hashes.trace_hash.as_slice());
        words.extend_from_slice(hashes.non_signer_hash.as_slice());
        assert_eq!(hashes.commitment(), keccak256(words));
    }

    #[test]
    fn committed_hashes_the_output_and_the_ids() {
        let ids = [B256::repeat_byte(7), B256::repeat_byte(9)];
        let trace = B256::repeat_byte(5);
        let hashes = TaskHashes::committed(B256::repeat_byte(1), b"sell", trace, &ids);
        assert_eq!(hashes.output_hash, keccak256(b"sell"));
        assert_eq!(hashes.trace_hash, trace);
        assert_eq!(
            hashes.non_signer_hash,
            keccak256([ids[0].0, ids[1].0].concat())
        );
        assert_eq!(
            TaskHashes::uncommitted(B256::repeat_byte(1)),
            TaskHashes {
                input_hash: B256::repeat_byte(1),
                ..TaskHashes::default()
            }
        );
    }

    fn b256() -> impl Strategy<Value = B256> {
        any::<[u8; 32]>().prop_map(B256::from)
    }

    proptest! {
        /// Every word counts: changing any one of the four changes the commitment.
        #[test]
        fn commitment_binds_every_word(
            a in b256(), b in b256(), c in b256(), d in b256(), other in b256()
        ) {
            let base = TaskHashes { input_hash: a, output_hash: b, trace_hash: c, non_signer_hash: d };
            let variants = [
                TaskHashes { input_hash: other, ..base },
                TaskHashes { output_hash: other, ..base },
                TaskHashes { trace_hash: other, ..base },
                TaskHashes { non_signer_hash: other, ..base },
            ];
            let changed = [a != other, b != other, c != other, d != other];
            for (variant, changed) in variants.iter().zip(changed) {
                prop_assert_eq!(variant.commitment() != base.commitment(), changed);
            }
        }

        /// One id more or less, or another id, is another non-signer hash.
        #[test]
        fn non_signer_hash_binds_the_list(ids in proptest::collection::vec(b256(), 1..8), extra in b256()) {
            let hash = non_signer_hash(&ids);
            prop_assert_ne!(non_signer_hash(&ids[1..]), hash);
            let mut more = ids.clone();
            more.push(extra);
            prop_assert_ne!(non_signer_hash(&more), hash);
        }
    }
}
