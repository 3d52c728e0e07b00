//! A challenger that was down while a wrong output was committed catches up from its saved
//! cursor after restarting, and still challenges before the deadline; then it drives the
//! slashing to completion.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use alloy::providers::{Provider, ProviderBuilder};
use warden_bindings::WardenTaskManager;
use warden_bindings::task_manager::task_state;
use warden_challenger::{CursorFile, Watchtower, WatchtowerConfig};
use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig};

/// Polls `check` until it holds, failing the test after `timeout`.
async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_restarted_challenger_catches_up_and_challenges_before_the_deadline() {
    let mut config = DevnetConfig::new(4);
    // A window long enough that the restart below happens well inside it.
    config.app.challenge_window = 150;
    let devnet = Devnet::start(config).await.unwrap();
    let rpc_url: alloy::transports::http::reqwest::Url = devnet.rpc_url().parse().unwrap();
    let task_manager_address = devnet.summary().app.task_manager;
    let agent = Arc::new(devnet.agent().clone());
    let state_path = devnet.data_dir().join("watchtower.json");
    // A development account no devnet role uses.
    let challenger_key = devnet.dev_key(5).unwrap();
    let watch_config = || {
        let mut config =
            WatchtowerConfig::new(rpc_url.clone(), task_manager_address, state_path.clone());
        config.poll_interval = Duration::from_millis(100);
        config
    };

    // First life: the watchtower judges everything up to now, saves its cursor and goes down.
    let provider = ProviderBuilder::new().connect_http(rpc_url.clone());
    let first = Watchtower::new(watch_config(), challenger_key.clone(), agent.clone());
    let mut state = CursorFile::new(&state_path)
        .load()
        .unwrap()
        .unwrap_or_default();
    first.round(&mut state).await.unwrap();
    let down_at = CursorFile::new(&state_path)
        .load()
        .unwrap()
        .unwrap()
        .judged_through;
    drop(first);

    // While it is down, three byzantine operators commit a theft.
    let mut ticks = TickConfig::new(1);
    ticks.byzantine_operators = vec![0, 1, 2];
    ticks.challenger = false;
    ticks.timeout = Duration::from_secs(240);
    let mut devnet = devnet;
    let loop_handle = tokio::spawn(async move {
        let result = devnet.run_ticks(ticks, |line| eprintln!("{line}")).await;
        (devnet, result)
    });
    let task_manager = WardenTaskManager::new(task_manager_address, &provider);
    wait_for(
        "the theft to be committed",
        Duration::from_secs(120),
        || async {
            task_manager.taskCount().call().await.unwrap() >= 1
                && task_manager.getTask(1).call().await.unwrap().state == task_state::COMMITTED
        },
    )
    .await;
    let task = task_manager.getTask(1).call().await.unwrap();
    let commit_block = u64::from(task.deadline) - 150;
    assert!(
        commit_block > down_at,
        "the commitment must happen while the watchtower is down"
    );

    // Second life: a new process, resuming from the saved cursor.
    let second = Watchtower::new(watch_config(), challenger_key, agent);
    let mut state = CursorFile::new(&state_path).load().unwrap().unwrap();
    assert_eq!(state.judged_through, down_at);
    second.round(&mut state).await.unwrap();
    let challenged = task_manager.getTask(1).call().await.unwrap();
    assert_eq!(challenged.state, task_state::FRAUDULENT);
    let upheld = task_manager
        .ChallengeUpheld_filter()
        .from_block(commit_block)
        .query()
        .await
        .unwrap();
    let (_, log) = upheld.first().unwrap();
    assert!(log.block_number.unwrap() <= u64::from(task.deadline));

    // It keeps going until every signer is slashed, saving its progress as it goes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !state.slashing.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for slashing to complete"
        );
        second.round(&mut state).await.unwrap();
    }
    assert!(task_manager.slashingProgress(1).call().await.unwrap().done);
    assert!(
        CursorFile::new(&state_path)
            .load()
            .unwrap()
            .unwrap()
            .slashing
            .is_empty()
    );
    assert!(provider.get_block_number().await.unwrap() > commit_block);

    let (devnet, result) = loop_handle.await.unwrap();
    result.unwrap();
    assert_eq!(devnet.summary().tasks[0].state, "fraudulent");
}
