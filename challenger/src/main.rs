//! `warden-challenger`: the challenger watchtower. This release checks equivocation evidence
//! offline; watching commitments and raising challenges arrive with the task manager.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use warden_challenger::EquivocationEvidence;

#[derive(Debug, Parser)]
#[command(
    name = "warden-challenger",
    version,
    about = "Warden challenger watchtower"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a JSON file of equivocation evidence (`public_key`, and `first` / `second`, each an
    /// `attestation` with its BLS `signature`). Exits 0 when it proves equivocation, 1 when not.
    CheckEquivocation {
        /// The evidence file.
        evidence: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckEquivocation { evidence } => match check(&evidence) {
            Ok(()) => {
                println!("equivocation proven: one key signed two outputs for the same task");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn check(path: &std::path::Path) -> eyre::Result<()> {
    use eyre::WrapErr;
    let text =
        std::fs::read_to_string(path).wrap_err_with(|| format!("reading {}", path.display()))?;
    let evidence: EquivocationEvidence = serde_json::from_str(&text)
        .wrap_err_with(|| format!("{} is not equivocation evidence", path.display()))?;
    evidence
        .verify()
        .wrap_err("the evidence does not prove equivocation")?;
    Ok(())
}
