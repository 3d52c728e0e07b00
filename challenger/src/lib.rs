//! The Warden challenger: a watchtower that holds operators to what they signed. It re-executes
//! every committed action with the agent and challenges a wrong one before its deadline, drives
//! the slashing of its signers, and checks evidence of equivocation (one operator signing two
//! different outputs for the same task).
//!
//! Its progress (a reorg-aware cursor), its claims and its transactions live in a database
//! (SQLite or PostgreSQL), so a restart resumes where it stopped and never pays a bond twice.
//! `warden-challenger run --config FILE` starts it as a service ([`launch::start`]): Prometheus
//! metrics, the EigenLayer node API, and start-up checks against the chain ([`preflight`]).

pub mod cli;
pub mod config;
pub mod equivocation;
pub mod launch;
pub mod metrics;
pub mod preflight;
pub mod trace;
pub mod watchtower;

pub use config::{ChallengerConfig, WatchtowerConfig};
pub use equivocation::{EquivocationError, EquivocationEvidence, SignedAttestation};
pub use launch::StartError;
pub use trace::TraceError;
pub use watchtower::{CloseReason, Verdict, Watchtower, WatchtowerError};
