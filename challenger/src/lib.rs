//! The Warden challenger: a watchtower that holds operators to what they signed. It re-executes
//! committed actions (with the agent) and checks evidence of equivocation: one operator signing
//! two different outputs for the same task, which is slashable.

pub mod equivocation;

pub use equivocation::{EquivocationError, EquivocationEvidence, SignedAttestation};
