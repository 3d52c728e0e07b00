//! What the `warden` command tests share.

use std::process::{Command, Output};

/// `warden args…` run to completion, as a user runs it.
pub fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("running warden {args:?}: {error}"))
}
