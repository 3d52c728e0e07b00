//! The aggregator's HTTP API, as both sides see it.

use alloy::primitives::{B256, Bytes};
use serde::{Deserialize, Serialize};

/// Path of the signature intake.
pub const SIGNATURES_PATH: &str = "/v1/signatures";

/// Largest request body the aggregator accepts, in bytes. A submission is a few hundred bytes of
/// JSON plus the encoded action and the trace; this leaves room for the longest trace the task
/// manager takes ([`crate::MAX_TRACE_LENGTH`] hashes, 69 bytes each in JSON: 70,656 bytes) and
/// an action with sizeable calldata.
pub const MAX_SUBMISSION_BYTES: usize = 128 * 1024;

/// `POST /v1/signatures`: an operator's signature over a task's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureSubmission {
    pub task_id: u64,
    /// keccak256 of the operator's EIP-2537 public key, as the registry knows it.
    pub operator_id: B256,
    /// The encoded action the operator's agent produced (its hash is what was signed).
    pub output: Bytes,
    /// BLS12-381 signature over the task's output digest: uncompressed (192 bytes, what operators
    /// send: it parses without a square root) or compressed (96 bytes).
    pub signature: Bytes,
    /// The run's activation trace: the hash of every output chunk of every layer, whose
    /// [`crate::trace_hash`] the signature covers. Empty, and left out of the JSON, for an agent
    /// its verifier re-runs whole; at most [`crate::MAX_TRACE_LENGTH`] hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<B256>,
}

/// What happened to a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// Recorded; it is verified together with the others for the same output.
    Accepted,
    /// The same signature was already recorded: nothing changed.
    Duplicate,
    /// The task already has a committed output.
    AlreadyCommitted,
}

/// Body of a successful response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionReceipt {
    pub status: SubmissionStatus,
    pub task_id: u64,
    pub output_hash: B256,
}

/// Body of an error response: a stable machine-readable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}
