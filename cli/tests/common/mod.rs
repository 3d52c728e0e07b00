//! What the `warden` command tests share.
// Each test crate includes this module and uses part of it.
#![allow(dead_code)]

use std::process::{Command, Output};

/// `warden args…` run to completion, as a user runs it.
pub fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("running warden {args:?}: {error}"))
}

/// What a funder outside Warden does: sends `wei` of ether to `to`.
pub async fn transfer(rpc_url: &str, to: alloy::primitives::Address, wei: alloy::primitives::U256) {
    warden_deployer::existing::transfer_ether(&rpc_url.parse().unwrap(), to, wei)
        .await
        .unwrap();
}
