//! The Warden aggregator: reads the operator set a task must be signed by, collects operators'
//! signatures, and assembles the quorum the registry's `checkQuorum` verifies.

pub mod cli;
pub mod config;
pub mod intake;
pub mod launch;
pub mod liveness;
pub mod metrics;
pub mod operator_set;
pub mod quorum;
pub mod service;
pub mod verifier;

pub use operator_set::{KeyTotal, OperatorSet, OperatorSetError, RegisteredOperator};
pub use quorum::{Quorum, QuorumError, Threshold};
