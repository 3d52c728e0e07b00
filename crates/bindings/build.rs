//! Prepares Uniswap v2's published npm artifacts for the bindings. Warden's own contracts need no
//! build step: their ABI and bytecode are committed under `abi/` (written by `make abi` from
//! forge's output, and checked against it by `make test`), so the workspace builds without forge.

use std::path::Path;
use std::process::ExitCode;

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
    // Warden's own contracts come from the committed `abi/` files (see `make abi`): the sol!
    // macros read them, and a change there must rebuild the crate.
    println!(
        "cargo:rerun-if-changed={}",
        Path::new(&manifest_dir).join("abi").display()
    );
    let repo = Path::new(&manifest_dir).join("../..");
    if let Err(error) = normalise_uniswap_artifacts(&repo) {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
