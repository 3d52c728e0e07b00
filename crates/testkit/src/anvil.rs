//! The anvil every test and the devnet run: the one `make setup` installs into the repository
//! (anvil 1.7.1, with the EIP-2537 precompiles), unless `$WARDEN_ANVIL` names another.

use std::path::{Path, PathBuf};

use alloy::node_bindings::Anvil;

/// `$WARDEN_ANVIL`, else the anvil `make setup` installs into the repository.
pub fn default_anvil_path() -> PathBuf {
    if let Some(path) = std::env::var_os("WARDEN_ANVIL") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// The pinned anvil, listening on loopback only; start it with `spawn` or `try_spawn`.
pub fn anvil() -> Anvil {
    Anvil::at(default_anvil_path()).host("127.0.0.1")
}
