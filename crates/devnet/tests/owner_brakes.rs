//! The vault owner's brakes through the whole system: a veto during the challenge window
//! cancels a committed action, a paused vault never acts (its pending swap expires), and an
//! action over the owner's spending caps is refused by the vault itself, once: the keeper does
//! not retry it every block, and its task expires.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use alloy::providers::ProviderBuilder;
use warden_bindings::WardenVault;
use warden_devnet::ticks::{OwnerAction, TickConfig};
use warden_devnet::{Devnet, DevnetConfig};
use warden_testkit::ops::scrape_counter;
use warden_testkit::wait::wait_for;

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

#[tokio::test]
async fn an_action_over_the_owners_caps_is_refused_once_and_its_task_expires() {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    // Three byzantine operators sign a swap every tick (the thieving agent always trades), and
    // no challenger cancels it: only the vault's own policy stands in the way.
    let mut config = TickConfig::new(1);
    config.timeout = std::time::Duration::from_secs(240);
    config.byzantine_operators = vec![0, 1, 2];
    config.challenger = false;
    config.owner_actions.insert(1, OwnerAction::ForbidOutflow);
    let progress = |line: &str| eprintln!("{line}");
    let mut run = devnet.start_services(&config, &progress).await.unwrap();
    let final_tasks = devnet.tick(&mut run, &config, &progress).await.unwrap();
    let aggregator = devnet
        .summary()
        .metrics_url("aggregator")
        .unwrap()
        .to_string();
    // One refusal, although the execution window spans many keeper rounds.
    let refusals = scrape_counter(
        &aggregator,
        "warden_execute_refusals_total",
        ("error", "PerActionCapExceeded"),
    )
    .await;
    // The task is final on chain before the aggregator has necessarily counted its expiry: wait
    // for the count rather than read it at once.
    let counted = wait_for(Duration::from_secs(30), || async {
        scrape_counter(
            &aggregator,
            "warden_task_events_total",
            ("event", "expired"),
        )
        .await
            == Some(1.0)
    })
    .await;
    devnet.finish(run, Some(final_tasks)).await.unwrap();

    let summary = devnet.summary().clone();
    assert_eq!(summary.tasks.len(), 1, "{:?}", summary.tasks);
    let task = &summary.tasks[0];
    assert_ne!(task.action.as_deref(), Some("hold"), "{task:?}");
    assert_eq!(task.state, "expired", "{task:?}");
    assert_eq!(task.execute_gas, None, "{task:?}");
    assert_eq!(refusals, Some(1.0));
    assert!(counted, "the aggregator counted the expiry");
    let vault = summary.vault.clone().unwrap();
    assert_eq!(vault.balances_before, vault.balances_after, "{vault:?}");
}
