//! Compiles the contracts with forge before the bindings are generated from its artifacts, so the
//! Rust side can never drift from the Solidity it calls.

use std::path::Path;
use std::process::{Command, ExitCode};

/// Uniswap v2 artifacts as its npm packages publish them (waffle format), by package and name.
const UNISWAP_ARTIFACTS: [(&str, &str); 4] = [
    ("v2-core", "UniswapV2Factory"),
    ("v2-core", "UniswapV2Pair"),
    ("v2-periphery", "UniswapV2Router02"),
    ("v2-periphery", "WETH9"),
];

/// Rewrites the npm artifacts as `{abi, bytecode}`: alloy's `sol!` rejects their duplicate
/// `bytecode` (top level and under `evm`).
fn normalise_uniswap_artifacts(repo: &Path) -> Result<(), String> {
    let out_dir = std::env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?;
    for (package, name) in UNISWAP_ARTIFACTS {
        let source = repo.join(format!("node_modules/@uniswap/{package}/build/{name}.json"));
        println!("cargo:rerun-if-changed={}", source.display());
        let text = std::fs::read_to_string(&source)
            .map_err(|e| format!("{}: {e} (run `make setup`)", source.display()))?;
        let artifact: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", source.display()))?;
        let bytecode = artifact["bytecode"].as_str().unwrap_or_default();
        let bytecode = if bytecode.starts_with("0x") {
            bytecode.to_string()
        } else {
            format!("0x{bytecode}")
        };
        let normalised = serde_json::json!({ "abi": artifact["abi"], "bytecode": bytecode });
        let target = Path::new(&out_dir).join(format!("{name}.json"));
        std::fs::write(&target, normalised.to_string())
            .map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let repo = Path::new(&manifest_dir).join("../..");
    let contracts = repo.join("contracts");
    for watched in ["src", "test/harness", "test/agent", "foundry.toml"] {
        println!(
            "cargo:rerun-if-changed={}",
            contracts.join(watched).display()
        );
    }
    if let Err(error) = normalise_uniswap_artifacts(&repo) {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
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
