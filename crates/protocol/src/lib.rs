//! Warden's protocol types and the messages its operators sign.
//!
//! Everything here is computed identically by the contracts (`contracts/src/libraries/WardenDigests.sol`,
//! `TaskCommitments.sol`, `OperatorIds.sol`); the differential tests in `crates/devnet/tests` hold the
//! two to the same bytes.

pub mod api;
mod commitment;
mod digest;
pub mod rewards;
mod task;

pub use commitment::{MAX_TRACE_LENGTH, NO_TRACE, TaskHashes, non_signer_hash, trace_hash};
pub use digest::{OutputAttestation, proof_of_possession_message, public_key_hash};
pub use task::{OperatorId, TaskAttestation, TaskState, UnknownTaskState};

/// The id of Warden's operator set in EigenLayer (`WardenRegistry.OPERATOR_SET_ID`).
pub const OPERATOR_SET_ID: u32 = 0;
