//! The `warden-operator` command line, here rather than in `main.rs` so that tests (the compose
//! file check) can parse command lines exactly as the binary does.

use std::path::PathBuf;

use alloy::primitives::{Address, U256};
use clap::{Args, Parser};
use warden_runtime::cli::RunArgs;

use crate::config::OperatorConfig;

// Clap names the command after the package, which is also the binary's name.
#[derive(Debug, Parser)]
#[command(version, about = "Warden operator node")]
pub enum Command {
    /// Run the operator node: follow TaskOpened events, run the agent on each task's snapshot,
    /// sign the output with the BLS key and send it to the aggregator. Never signs two outputs
    /// for one task (the record is in the database), resumes where it stopped after a restart,
    /// follows reorgs. Serves Prometheus metrics and the EigenLayer node API. Stops cleanly on
    /// SIGINT or SIGTERM.
    Run(RunArgs<OperatorConfig>),
    /// Register with EigenLayer (if not yet an operator), deposit stake, allocate all magnitude
    /// to Warden's operator set and register for it with the BLS key and its proof of possession.
    Register(Box<RegisterArgs>),
    /// Export or import the slashing-protection record (what this operator signed, by signing
    /// root) as interchange JSON, so a node moved to another machine keeps its history. The
    /// format is documented in the README and in `warden_operator::slashing_protection`.
    SlashingProtection(crate::slashing_protection::SlashingProtectionArgs),
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Ethereum JSON-RPC endpoint.
    #[arg(long, env = "WARDEN_RPC_URL")]
    pub rpc_url: String,
    /// Directory with `ecdsa.json` (Web3 Secret Storage) and `bls.json` (EIP-2335), as written
    /// by `warden keys new`.
    #[arg(long, env = "WARDEN_KEYSTORE_DIR")]
    pub keystore_dir: PathBuf,
    /// File holding the keystores' password. Without it, WARDEN_KEYSTORE_PASSWORD is used.
    #[arg(long, env = "WARDEN_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
    #[arg(long, env = "WARDEN_DELEGATION_MANAGER")]
    pub delegation_manager: Address,
    #[arg(long, env = "WARDEN_STRATEGY_MANAGER")]
    pub strategy_manager: Address,
    #[arg(long, env = "WARDEN_ALLOCATION_MANAGER")]
    pub allocation_manager: Address,
    #[arg(long, env = "WARDEN_PERMISSION_CONTROLLER")]
    pub permission_controller: Address,
    /// Warden's registry (the AVS address).
    #[arg(long, env = "WARDEN_REGISTRY")]
    pub registry: Address,
    /// The strategy to deposit into and allocate from.
    #[arg(long, env = "WARDEN_STRATEGY")]
    pub strategy: Address,
    /// Amount to deposit, in the token's base units (0 to deposit nothing).
    #[arg(long, default_value = "0")]
    pub stake: U256,
    /// Operator metadata URI announced to EigenLayer.
    #[arg(long, default_value = "")]
    pub metadata_uri: String,
    /// How long to wait for the allocation delay to take effect.
    #[arg(long, default_value_t = 600)]
    pub allocation_wait_secs: u64,
}
