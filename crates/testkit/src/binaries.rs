//! Warden binaries of another package than the test's own. Cargo names only the test's own
//! package's binaries (`CARGO_BIN_EXE_*`); a test that runs, say, `warden` and
//! `warden-operator` as a user would finds the other beside it in the target directory, where
//! `cargo test --workspace` builds every binary before running any test.

use std::path::PathBuf;

/// A binary the test needs is not built.
#[derive(Debug, thiserror::Error)]
#[error(
    "{name} is not built beside this test (looked for {looked:?}): run the tests with `cargo test \
     --workspace` (as `make test` does), which builds every binary first"
)]
pub struct MissingBinary {
    pub name: String,
    pub looked: Option<PathBuf>,
}

/// The binary `name` of this workspace, from the target directory the running test lives in. A
/// test that cannot find its binary must fail on this error, not skip.
pub fn workspace_binary(name: &str) -> Result<PathBuf, MissingBinary> {
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let looked = std::env::current_exe()
        .ok()
        .and_then(|test| Some(test.parent()?.parent()?.join(name)));
    match looked {
        Some(path) if path.is_file() => Ok(path),
        looked => Err(MissingBinary {
            name: name.to_owned(),
            looked,
        }),
    }
}
