//! The `warden-challenger` command line, here rather than in `main.rs` so that tests (the
//! compose file check) can parse command lines exactly as the binary does.

use std::path::PathBuf;

use clap::Parser;
use warden_runtime::cli::RunArgs;

use crate::config::ChallengerConfig;

// Clap names the command after the package, which is also the binary's name.
#[derive(Debug, Parser)]
#[command(version, about = "Warden challenger watchtower")]
pub enum Command {
    /// Watch a task manager: re-execute every committed action with the reference agent,
    /// challenge wrong ones before their deadline (paying the bond from the keystore's account)
    /// and drive the slashing of their signers. The cursor, the claims and the transactions are
    /// kept in the database, so a restart resumes where it stopped, follows reorgs and never pays
    /// a bond twice. Refuses to start when a challenge window is too short for it or too close to
    /// EigenLayer's deallocation delay. Serves Prometheus metrics and the EigenLayer node API.
    /// Stops cleanly on SIGINT or SIGTERM.
    Run(RunArgs<ChallengerConfig>),
    /// Check a JSON file of equivocation evidence (`public_key`, and `first` / `second`, each an
    /// `attestation` with its BLS `signature`). Exits 0 when it proves equivocation, 1 when not.
    CheckEquivocation {
        /// The evidence file.
        evidence: PathBuf,
    },
}
