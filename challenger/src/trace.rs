//! A large agent's committed activation trace (issue 14) and the step of it a challenge shows.
//!
//! The trace travels only in the calldata of `commitOutput`: `OutputCommitted` carries its hash.
//! So the watchtower reads it from the transaction that emitted the event, which works when that
//! transaction called the task manager directly (as the aggregator does). A commitment forwarded
//! by a contract (a multisig, a relayer) has other calldata, from which the trace is not decoded
//! here: it is reported as [`TraceError::NotDirectCall`] and left unjudged. Finding the internal
//! call in the transaction's call trace (`debug_traceTransaction`) is future work.
//!
//! A wrong run is disproved by one step of it ([`FraudStep`], found by
//! `NetworkAgent::find_fraud`), which `WardenChallenges.challengeTrace` takes as a `TraceStep`;
//! the bounty's seal covers that step (`keccak256(abi.encode(step))`) instead of an output hash.

use alloy::primitives::{Address, B256, Bytes, keccak256};
use alloy::sol_types::{SolCall, SolValue};
use warden_agent::FraudStep;
use warden_bindings::WardenChallenges::TraceStep;
use warden_bindings::WardenTaskManager::commitOutputCall;
use warden_protocol::trace_hash;

/// Why a commitment's trace could not be read from its transaction. Each is final for that
/// transaction: reading it again gives the same answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// The transaction called another contract, which forwarded the commitment.
    #[error(
        "transaction {tx} calls {to}, not the task manager {task_manager}: a contract forwarded the \
         commitment (a multisig?), and its trace cannot be read from that calldata"
    )]
    NotDirectCall {
        tx: B256,
        /// `None` for a contract creation.
        to: DisplayTo,
        task_manager: Address,
    },
    /// The transaction called the task manager, but not `commitOutput`.
    #[error("transaction {tx} to the task manager is not a commitOutput call: {reason}")]
    NotCommitOutput { tx: B256, reason: String },
    /// The transaction commits another task.
    #[error("transaction {tx} commits task {committed}, not task {task_id}")]
    OtherTask {
        tx: B256,
        task_id: u64,
        committed: u64,
    },
    /// The trace in the calldata is not the one the commitment binds.
    #[error(
        "the trace in transaction {tx} ({length} chunk hashes) hashes to {actual}, but task \
         {task_id}'s commitment binds trace hash {expected}"
    )]
    HashMismatch {
        tx: B256,
        task_id: u64,
        length: usize,
        expected: B256,
        actual: B256,
    },
}

/// A transaction's recipient as an error shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayTo(pub Option<Address>);

impl std::fmt::Display for DisplayTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(to) => write!(f, "{to}"),
            None => f.write_str("no contract (a creation)"),
        }
    }
}

/// The trace task `task_id` was committed with, from the transaction `tx` that committed it
/// (sent to `to` with calldata `input`): `commitOutput`'s `trace`, checked to be for the task and
/// to hash to `expected` (the event's `traceHash`).
pub fn committed_trace(
    tx: B256,
    to: Option<Address>,
    input: &[u8],
    task_manager: Address,
    task_id: u64,
    expected: B256,
) -> Result<Vec<B256>, TraceError> {
    if to != Some(task_manager) {
        return Err(TraceError::NotDirectCall {
            tx,
            to: DisplayTo(to),
            task_manager,
        });
    }
    let call =
        commitOutputCall::abi_decode(input).map_err(|error| TraceError::NotCommitOutput {
            tx,
            reason: error.to_string(),
        })?;
    if call.taskId != task_id {
        return Err(TraceError::OtherTask {
            tx,
            task_id,
            committed: call.taskId,
        });
    }
    let actual = trace_hash(&call.trace);
    if actual != expected {
        return Err(TraceError::HashMismatch {
            tx,
            task_id,
            length: call.trace.len(),
            expected,
            actual,
        });
    }
    Ok(call.trace)
}

/// A fraud step whose position does not fit `TraceStep` (a network no verifier could hold).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "step {kind} at layer {layer}, chunk {chunk} does not fit a TraceStep (uint16 layer, uint32 chunk)"
)]
pub struct StepOutOfRange {
    pub kind: &'static str,
    pub layer: usize,
    pub chunk: usize,
}

/// `step` as `challengeTrace` takes it.
pub fn trace_step(step: &FraudStep) -> Result<TraceStep, StepOutOfRange> {
    let kind = step.kind();
    Ok(match step {
        FraudStep::TraceLength { .. } => TraceStep {
            kind,
            layer: 0,
            chunk: 0,
            layerInput: Bytes::new(),
            weights: Bytes::new(),
            siblings: Vec::new(),
        },
        FraudStep::OutputChunk {
            layer,
            chunk,
            layer_input,
            weights,
            siblings,
        } => {
            let out_of_range = || StepOutOfRange {
                kind: step_kind(step),
                layer: *layer,
                chunk: *chunk,
            };
            TraceStep {
                kind,
                layer: u16::try_from(*layer).map_err(|_| out_of_range())?,
                chunk: u32::try_from(*chunk).map_err(|_| out_of_range())?,
                layerInput: Bytes::copy_from_slice(layer_input),
                weights: Bytes::copy_from_slice(weights),
                siblings: siblings.clone(),
            }
        }
        FraudStep::DecodedAction { logits } => TraceStep {
            kind,
            layer: 0,
            chunk: 0,
            layerInput: Bytes::copy_from_slice(logits),
            weights: Bytes::new(),
            siblings: Vec::new(),
        },
    })
}

/// What a trace challenge's bounty seal and `ChallengeUpheld.expectedOutputHash` name in place of
/// an output hash: `keccak256(abi.encode(step))`.
pub fn sealed_step(step: &TraceStep) -> B256 {
    keccak256(step.abi_encode())
}

/// The step's kind, as logs and the `step` label of `warden_challenger_trace_frauds_total` name
/// it (a bounded set).
pub fn step_kind(step: &FraudStep) -> &'static str {
    match step {
        FraudStep::TraceLength { .. } => "trace_length",
        FraudStep::OutputChunk { .. } => "output_chunk",
        FraudStep::DecodedAction { .. } => "decoded_action",
    }
}

/// Where the step is, for logs and a claim's detail: e.g. `output_chunk (layer 1, chunk 3)`.
pub fn describe(step: &FraudStep) -> String {
    match step {
        FraudStep::TraceLength {
            committed,
            expected,
        } => {
            format!("trace_length ({committed} chunk hashes committed, the network has {expected})")
        }
        FraudStep::OutputChunk { layer, chunk, .. } => {
            format!("output_chunk (layer {layer}, chunk {chunk})")
        }
        FraudStep::DecodedAction { .. } => {
            "decoded_action (the committed logits decode to another action)".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use warden_bindings::task_manager::BLS::{G1Point, G2Point};

    const TASK_MANAGER: Address = Address::repeat_byte(0x7a);
    const TX: B256 = B256::repeat_byte(0x11);

    fn commit_output(task_id: u64, trace: Vec<B256>) -> Vec<u8> {
        commitOutputCall {
            taskId: task_id,
            output: Bytes::from_static(b"action"),
            trace,
            nonSigners: vec![G1Point::from_eip2537(&[3; 128])],
            signature: G2Point::from_eip2537(&[4; 256]),
        }
        .abi_encode()
    }

    fn trace() -> Vec<B256> {
        (1..=5u8).map(B256::repeat_byte).collect()
    }

    #[test]
    fn the_trace_is_read_from_a_direct_commit_output_call() {
        let input = commit_output(9, trace());
        assert_eq!(
            committed_trace(
                TX,
                Some(TASK_MANAGER),
                &input,
                TASK_MANAGER,
                9,
                trace_hash(&trace())
            ),
            Ok(trace())
        );
        // A traceless commitment decodes to the empty trace, whose hash is zero.
        let empty = commit_output(9, Vec::new());
        assert_eq!(
            committed_trace(TX, Some(TASK_MANAGER), &empty, TASK_MANAGER, 9, B256::ZERO),
            Ok(Vec::new())
        );
    }

    #[test]
    fn a_trace_that_does_not_hash_to_the_committed_hash_is_refused() {
        let input = commit_output(9, trace());
        let expected = B256::repeat_byte(0xee);
        let error =
            committed_trace(TX, Some(TASK_MANAGER), &input, TASK_MANAGER, 9, expected).unwrap_err();
        assert_eq!(
            error,
            TraceError::HashMismatch {
                tx: TX,
                task_id: 9,
                length: 5,
                expected,
                actual: trace_hash(&trace()),
            }
        );
        assert!(error.to_string().contains("5 chunk hashes"), "{error}");

        let error = committed_trace(
            TX,
            Some(TASK_MANAGER),
            &input,
            TASK_MANAGER,
            10,
            trace_hash(&trace()),
        )
        .unwrap_err();
        assert_eq!(
            error,
            TraceError::OtherTask {
                tx: TX,
                task_id: 10,
                committed: 9
            }
        );
    }

    #[test]
    fn a_forwarded_commitment_is_not_decoded() {
        let input = commit_output(9, trace());
        let safe = Address::repeat_byte(0x5a);
        let error = committed_trace(
            TX,
            Some(safe),
            &input,
            TASK_MANAGER,
            9,
            trace_hash(&trace()),
        )
        .unwrap_err();
        assert_eq!(
            error,
            TraceError::NotDirectCall {
                tx: TX,
                to: DisplayTo(Some(safe)),
                task_manager: TASK_MANAGER,
            }
        );
        let text = error.to_string();
        assert!(
            text.contains("forwarded") && text.contains(&safe.to_string()),
            "{text}"
        );
        assert!(matches!(
            committed_trace(TX, None, &input, TASK_MANAGER, 9, trace_hash(&trace())),
            Err(TraceError::NotDirectCall {
                to: DisplayTo(None),
                ..
            })
        ));

        // A call to the task manager that is not a commitOutput (a batch of calls, say).
        let mut other = input.clone();
        other[..4].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert!(matches!(
            committed_trace(
                TX,
                Some(TASK_MANAGER),
                &other,
                TASK_MANAGER,
                9,
                trace_hash(&trace())
            ),
            Err(TraceError::NotCommitOutput { .. })
        ));
        // Truncated calldata is refused, not a panic.
        assert!(matches!(
            committed_trace(
                TX,
                Some(TASK_MANAGER),
                &input[..input.len() / 2],
                TASK_MANAGER,
                9,
                trace_hash(&trace())
            ),
            Err(TraceError::NotCommitOutput { .. })
        ));
    }

    #[test]
    fn every_fraud_step_maps_to_a_trace_step_of_its_kind() {
        let length = FraudStep::TraceLength {
            committed: 0,
            expected: 7,
        };
        let chunk = FraudStep::OutputChunk {
            layer: 1,
            chunk: 3,
            layer_input: vec![1, 2, 3],
            weights: vec![9; 12],
            siblings: vec![B256::repeat_byte(8)],
        };
        let decoded = FraudStep::DecodedAction {
            logits: vec![0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3],
        };
        let step = trace_step(&length).unwrap();
        assert_eq!((step.kind, step.layer, step.chunk), (0, 0, 0));
        let step = trace_step(&chunk).unwrap();
        assert_eq!((step.kind, step.layer, step.chunk), (1, 1, 3));
        assert_eq!(step.layerInput.as_ref(), &[1, 2, 3]);
        assert_eq!(step.weights.len(), 12);
        assert_eq!(step.siblings, vec![B256::repeat_byte(8)]);
        let step = trace_step(&decoded).unwrap();
        assert_eq!(step.kind, 2);
        assert_eq!(step.layerInput.len(), 12);

        assert_eq!(describe(&chunk), "output_chunk (layer 1, chunk 3)");
        assert_eq!(step_kind(&length), "trace_length");
        assert_eq!(step_kind(&decoded), "decoded_action");
        for step in [&length, &chunk, &decoded] {
            assert!(crate::metrics::TRACE_STEPS.contains(&step_kind(step)));
        }

        let far = FraudStep::OutputChunk {
            layer: 70_000,
            chunk: 0,
            layer_input: Vec::new(),
            weights: Vec::new(),
            siblings: Vec::new(),
        };
        assert_eq!(
            trace_step(&far).unwrap_err(),
            StepOutOfRange {
                kind: "output_chunk",
                layer: 70_000,
                chunk: 0
            }
        );
    }

    #[test]
    fn the_seal_covers_the_step_as_abi_encode_does() {
        let step = trace_step(&FraudStep::TraceLength {
            committed: 0,
            expected: 7,
        })
        .unwrap();
        // `abi.encode(step)` of a dynamic struct starts with the offset of its tuple.
        let encoded = step.abi_encode();
        assert_eq!(&encoded[..32], B256::with_last_byte(0x20).as_slice());
        assert_eq!(sealed_step(&step), keccak256(&encoded));
    }
}
