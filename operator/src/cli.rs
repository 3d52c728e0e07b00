//! The `warden-operator` command line, here rather than in `main.rs` so that tests (the compose
//! file check) can parse command lines exactly as the binary does.

use std::path::PathBuf;

use alloy::primitives::{Address, U256};
use clap::{Args, Parser};
use warden_runtime::cli::RunArgs;

use warden_runtime::deployment::DeploymentFile;

use crate::config::OperatorConfig;
use crate::registration::RegistrationTargets;

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
    /// Join Warden's operator set: register with EigenLayer (unless already an operator; an
    /// operator without an allocation delay gets one), deposit --stake if asked, wait for the
    /// allocation delay, allocate magnitude to Warden's set in each of its strategies, and
    /// register for the set with the BLS key and its proof of possession. Asks the registry
    /// first, read-only, whether it would take the key. Skips every step already done: an
    /// operator whose stakers delegated to it long ago only allocates and registers, and a run
    /// stopped anywhere is finished by running it again.
    Register(Box<RegisterArgs>),
    /// Leave Warden's operator set: deregister (unless already out) and start deallocating the
    /// operator's magnitude from the set, skipping what is done. The allocation stays slashable
    /// for EigenLayer's deallocation delay (14 days on mainnet; `status` shows the block): keep
    /// the node running until the last task it signed is past its fraud-proof window.
    Exit(Box<ExitArgs>),
    /// Show where the operator stands with Warden, reading only: EigenLayer registration,
    /// allocation delay, delegated stake, allocation to Warden's set, slashable stake,
    /// registration and weight, task fees earned, and the next step to take.
    Status(StatusArgs),
    /// Export or import the slashing-protection record (what this operator signed, by signing
    /// root) as interchange JSON, so a node moved to another machine keeps its history. The
    /// format is documented in the README and in `warden_operator::slashing_protection`.
    SlashingProtection(crate::slashing_protection::SlashingProtectionArgs),
}

/// The operator acting, and on which contracts: what `register` and `exit` share.
#[derive(Debug, Args)]
pub struct OperatorTarget {
    /// Ethereum JSON-RPC endpoint.
    #[arg(long, env = "WARDEN_RPC_URL")]
    pub rpc_url: String,
    /// The deployment file `warden avs deploy` wrote: EigenLayer's contracts, Warden's registry
    /// and strategy come from it (the flags below, if given, override it).
    #[arg(long, env = "WARDEN_DEPLOYMENT", value_name = "FILE")]
    pub deployment: Option<PathBuf>,
    /// Directory with `ecdsa.json` (Web3 Secret Storage) and `bls.json` (EIP-2335), as written
    /// by `warden keys new` (or `warden keys new-bls` beside an existing ECDSA keystore).
    #[arg(long, env = "WARDEN_KEYSTORE_DIR")]
    pub keystore_dir: PathBuf,
    /// File holding the keystores' password. Without it, WARDEN_KEYSTORE_PASSWORD is used.
    #[arg(long, env = "WARDEN_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
    #[command(flatten)]
    pub contracts: ContractArgs,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub target: OperatorTarget,
    /// Amount to deposit, in the token's base units (0, the default: the stake is what stakers
    /// delegated).
    #[arg(long, default_value = "0")]
    pub stake: U256,
    /// Operator metadata URI announced to EigenLayer (only if the operator registers with
    /// EigenLayer here).
    #[arg(long, default_value = "")]
    pub metadata_uri: String,
    /// Blocks between an allocation and its effect, set only for an operator that has none yet
    /// (stakers get this long to leave before new slashing risk applies to them).
    #[arg(long, default_value_t = 0)]
    pub allocation_delay: u32,
    /// Share of the operator's magnitude in each strategy of Warden's set to allocate to it, in
    /// basis points; capped by what is not allocated to other operator sets. An allocation is
    /// only ever raised here.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub magnitude_bps: u16,
    /// How long to wait for the allocation delay to take effect (EigenLayer's
    /// ALLOCATION_CONFIGURATION_DELAY after it is set: 17.5 days on mainnet). Run `register`
    /// again once it has passed.
    #[arg(long, default_value_t = 600)]
    pub allocation_wait_secs: u64,
}

#[derive(Debug, Args)]
pub struct ExitArgs {
    #[command(flatten)]
    pub target: OperatorTarget,
}

/// The contracts an operator deals with: from --deployment, or each named.
#[derive(Debug, Args)]
pub struct ContractArgs {
    #[arg(long, env = "WARDEN_DELEGATION_MANAGER")]
    pub delegation_manager: Option<Address>,
    #[arg(long, env = "WARDEN_STRATEGY_MANAGER")]
    pub strategy_manager: Option<Address>,
    #[arg(long, env = "WARDEN_ALLOCATION_MANAGER")]
    pub allocation_manager: Option<Address>,
    #[arg(long, env = "WARDEN_PERMISSION_CONTROLLER")]
    pub permission_controller: Option<Address>,
    /// Warden's registry (the AVS address).
    #[arg(long, env = "WARDEN_REGISTRY")]
    pub registry: Option<Address>,
    /// The strategy to deposit into (the deployment's first strategy by default).
    #[arg(long, env = "WARDEN_STRATEGY")]
    pub strategy: Option<Address>,
}

impl ContractArgs {
    /// The registration targets: the deployment file's, with each flag given overriding it; every
    /// one is needed without a deployment file.
    pub fn targets(
        &self,
        deployment: Option<&DeploymentFile>,
    ) -> Result<RegistrationTargets, MissingContract> {
        let core = deployment.map(|file| file.eigenlayer.contracts);
        let warden = deployment.map(|file| &file.warden);
        let pick = |flag: Option<Address>, from_file: Option<Address>, name: &'static str| {
            flag.or(from_file).ok_or(MissingContract(name))
        };
        Ok(RegistrationTargets {
            delegation_manager: pick(
                self.delegation_manager,
                core.map(|c| c.delegation_manager),
                "--delegation-manager",
            )?,
            strategy_manager: pick(
                self.strategy_manager,
                core.map(|c| c.strategy_manager),
                "--strategy-manager",
            )?,
            allocation_manager: pick(
                self.allocation_manager,
                core.map(|c| c.allocation_manager),
                "--allocation-manager",
            )?,
            permission_controller: pick(
                self.permission_controller,
                core.map(|c| c.permission_controller),
                "--permission-controller",
            )?,
            registry: pick(self.registry, warden.map(|w| w.registry), "--registry")?,
            strategy: pick(
                self.strategy,
                warden.and_then(|w| w.strategies.first().copied()),
                "--strategy",
            )?,
        })
    }
}

/// A contract neither a flag nor the deployment file names.
#[derive(Debug, thiserror::Error)]
#[error("{0} is needed: give it, or --deployment FILE (written by `warden avs deploy`)")]
pub struct MissingContract(pub &'static str);

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Ethereum JSON-RPC endpoint.
    #[arg(long, env = "WARDEN_RPC_URL")]
    pub rpc_url: String,
    /// The deployment file `warden avs deploy` wrote.
    #[arg(long, env = "WARDEN_DEPLOYMENT", value_name = "FILE")]
    pub deployment: PathBuf,
    /// The operator's address (its ECDSA key's; no key is needed to read).
    #[arg(long)]
    pub operator: Address,
}
