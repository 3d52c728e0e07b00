//! The vault owner's brakes through the whole system: a veto during the challenge window
//! cancels a committed action, and a paused vault never acts (its pending swap expires).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::providers::ProviderBuilder;
use warden_bindings::WardenVault;
use warden_devnet::ticks::{OwnerAction, TickConfig};
use warden_devnet::{Devnet, DevnetConfig};

#[tokio::test]
async fn a_vetoed_action_never_executes_and_a_paused_vault_never_acts() {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let mut config = TickConfig::new(3);
    config.timeout = std::time::Duration::from_secs(240);
    config.owner_actions.insert(2, OwnerAction::Veto);
    config.owner_actions.insert(3, OwnerAction::Pause);
    devnet
        .run_ticks(config, |line| eprintln!("{line}"))
        .await
        .unwrap();

    let summary = devnet.summary().clone();
    let tasks = &summary.tasks;
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    assert_eq!(tasks[0].state, "executed", "{:?}", tasks[0]);
    assert_eq!(tasks[1].state, "vetoed", "{:?}", tasks[1]);
    assert_eq!(tasks[1].execute_gas, None, "a vetoed task has no execution");
    let third_is_swap = tasks[2].action.as_deref() != Some("hold");
    let expected = if third_is_swap { "expired" } else { "executed" };
    assert_eq!(tasks[2].state, expected, "{:?}", tasks[2]);

    // Only the first task may have moved funds: the vault's balances changed iff it traded.
    let vault = summary.vault.clone().unwrap();
    let first_traded = tasks[0].action.as_deref() != Some("hold");
    let moved = vault.balances_before != vault.balances_after;
    assert_eq!(moved, first_traded, "{vault:?}");

    let provider =
        ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let paused = WardenVault::new(summary.deployment.app.vault, &provider)
        .paused()
        .call()
        .await
        .unwrap();
    assert!(!paused, "the owner unpaused after the task settled");
}
