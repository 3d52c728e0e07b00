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

/// What a funder outside Warden does: anvil's development account 5 sends `wei` to `to`.
pub async fn transfer(rpc_url: &str, to: alloy::primitives::Address, wei: alloy::primitives::U256) {
    use alloy::network::TransactionBuilder;
    use alloy::providers::Provider;
    let funder = warden_txm::signing_provider(
        rpc_url.parse().unwrap(),
        warden_deployer::accounts::dev_key(5).unwrap(),
    );
    let transfer = alloy::rpc::types::TransactionRequest::default()
        .with_to(to)
        .with_value(wei);
    funder
        .send_transaction(transfer)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
}
