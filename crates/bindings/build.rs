//! Compiles the contracts with forge before the bindings are generated from its artifacts, so the
//! Rust side can never drift from the Solidity it calls.

use std::path::Path;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let repo = Path::new(&manifest_dir).join("../..");
    let contracts = repo.join("contracts");
    for watched in ["src", "test/harness", "foundry.toml"] {
        println!(
            "cargo:rerun-if-changed={}",
            contracts.join(watched).display()
        );
    }
    let forge = repo.join("node_modules/@foundry-rs/forge-linux-amd64/bin/forge");
    println!("cargo:rerun-if-changed={}", forge.display());
    if !forge.exists() {
        eprintln!(
            "error: forge not found at {}. Run `make setup` (installs the pinned Solidity toolchain).",
            forge.display()
        );
        return ExitCode::FAILURE;
    }
    let status = Command::new(&forge)
        .args(["build", "--quiet"])
        // foundry.toml names the solc wrapper relative to the project root.
        .current_dir(&contracts)
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("error: `forge build` failed ({status}); fix the contracts first");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: could not run {}: {err}", forge.display());
            ExitCode::FAILURE
        }
    }
}
