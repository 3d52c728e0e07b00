//! The `warden` command: its command line and subcommands, in a library so that tests (the
//! compose file check) parse command lines exactly as the binary does.

pub mod avs;
pub mod deploy;
pub mod devnet;
pub mod keys;
pub mod model;
pub mod vault;

use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    about = "Warden: an EigenLayer AVS that lets an AI agent manage money without a private key"
)]
pub enum Command {
    /// Run a complete local network: anvil, EigenLayer core (redistributable operator sets),
    /// Warden's contracts, N registered operators and every service ticking the agent. Runs until
    /// Ctrl-C (or --ticks tasks are final), then stops anvil and cleans up.
    Devnet(devnet::DevnetArgs),
    /// Deploy EigenLayer, a Uniswap v2 market and Warden into a running anvil, register
    /// operators, and write the keystores and configuration files of every service (the
    /// one-shot deployer of docker-compose.yml). Does nothing if OUT already holds a deployment.
    Deploy(deploy::DeployArgs),
    /// Warden on an EigenLayer deployment that already exists: `warden avs check` reads a chain's
    /// core and says whether this Warden can join it.
    Avs(avs::AvsArgs),
    /// A vault owner's commands on a Warden deployment: `create` a vault under a policy file,
    /// and show its `status`.
    Vault(vault::VaultArgs),
    /// Create encrypted keystores: an operator's (ECDSA and BLS12-381), or one ECDSA account.
    Keys(keys::KeysArgs),
    /// Generate a large agent's model file (WNET), or check one and print its hashes.
    Model(model::ModelArgs),
    /// Write EigenLayer's creation bytecode (as shipped by newton-utils) as hex files, one per
    /// contract, for the forge tests that run against the real EigenLayer contracts.
    EigenlayerArtifacts {
        /// Output directory (created if missing).
        #[arg(default_value = "contracts/eigenlayer-artifacts")]
        out: PathBuf,
    },
}
