//! The Warden challenger: a watchtower that holds operators to what they signed. It re-executes
//! every committed action with the agent and challenges a wrong one before its deadline, drives
//! the slashing of its signers, and checks evidence of equivocation (one operator signing two
//! different outputs for the same task).

pub mod cursor;
pub mod equivocation;
pub mod watchtower;

pub use cursor::{CursorError, CursorFile, WatchState};
pub use equivocation::{EquivocationError, EquivocationEvidence, SignedAttestation};
pub use watchtower::{Verdict, Watchtower, WatchtowerConfig, WatchtowerError};
