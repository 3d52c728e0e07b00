//! The challenger watchtower against a devnet: one that was down while a wrong output was
//! committed catches up from its saved cursor after restarting, still challenges before the
//! deadline and drives the slashing to completion; one whose own agent is wrong never challenges
//! a correct output, and keeps its bond.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use warden_bindings::WardenTaskManager;
use warden_bindings::task_manager::task_state;
use warden_challenger::{CursorFile, WatchState, Watchtower, WatchtowerConfig};
use warden_devnet::byzantine::ThievingAgent;
use warden_devnet::ticks::THIEF;
use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig};

/// Polls `check` until it holds, failing the test after `timeout`.
async fn wait_for<F, Fut>(what: &str, timeout: Duration, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    assert!(
        warden_devnet::process::wait_for(timeout, check).await,
        "timed out waiting for {what}"
    );
}

/// Waits until the devnet's first task is committed: the moment a watchtower has to judge.
async fn wait_until_first_task_committed<P: alloy::providers::Provider>(
    task_manager: &WardenTaskManager::WardenTaskManagerInstance<P>,
    what: &str,
) {
    wait_for(what, Duration::from_secs(120), || async {
        task_manager.taskCount().call().await.unwrap() >= 1
            && task_manager.getTask(1).call().await.unwrap().state == task_state::COMMITTED
    })
    .await;
}

/// Runs the agent loop without the devnet's own challenger until one task is final, in the
/// background, with `byzantine` operators signing thefts.
fn run_one_tick(
    mut devnet: Devnet,
    byzantine: Vec<usize>,
) -> tokio::task::JoinHandle<(Devnet, Result<(), warden_devnet::DevnetError>)> {
    let mut ticks = TickConfig::new(1);
    ticks.byzantine_operators = byzantine;
    ticks.challenger = false;
    ticks.timeout = Duration::from_secs(240);
    tokio::spawn(async move {
        let result = devnet.run_ticks(ticks, |line| eprintln!("{line}")).await;
        (devnet, result)
    })
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
    let loop_handle = run_one_tick(devnet, vec![0, 1, 2]);
    let task_manager = WardenTaskManager::new(task_manager_address, &provider);
    wait_until_first_task_committed(&task_manager, "the theft to be committed").await;
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

#[tokio::test]
async fn a_watchtower_whose_agent_is_wrong_never_challenges_a_correct_output() {
    let mut config = DevnetConfig::new(4);
    // Long enough that the output is still challengeable when the watchtower looks at it.
    config.app.challenge_window = 150;
    let devnet = Devnet::start(config).await.unwrap();
    let rpc_url: alloy::transports::http::reqwest::Url = devnet.rpc_url().parse().unwrap();
    let task_manager_address = devnet.summary().app.task_manager;
    // A watchtower running a broken agent: it claims the honest agent's hash but decides
    // differently, so it disagrees with every honest output.
    let broken = Arc::new(ThievingAgent::new(
        Arc::new(devnet.agent().clone()),
        THIEF,
        U256::MAX,
    ));
    let challenger_key = devnet.dev_key(5).unwrap();
    let challenger = challenger_key.address();
    let watchtower = Watchtower::new(
        WatchtowerConfig::new(
            rpc_url.clone(),
            task_manager_address,
            devnet.data_dir().join("watchtower.json"),
        ),
        challenger_key,
        broken,
    );

    let loop_handle = run_one_tick(devnet, Vec::new());
    let provider = ProviderBuilder::new().connect_http(rpc_url);
    let task_manager = WardenTaskManager::new(task_manager_address, &provider);
    wait_until_first_task_committed(&task_manager, "the honest output to be committed").await;
    let balance_before = provider.get_balance(challenger).await.unwrap();

    let mut state = WatchState::default();
    watchtower.round(&mut state).await.unwrap();

    // It judged the commitment (its cursor is past it) but sent nothing: the simulated challenge
    // would have been rejected, so the bond was never put up.
    let task = task_manager.getTask(1).call().await.unwrap();
    let commit_block = u64::from(task.deadline) - 150;
    assert!(state.judged_through >= commit_block, "{state:?}");
    assert!(state.slashing.is_empty(), "{state:?}");
    assert_eq!(task.state, task_state::COMMITTED);
    assert_eq!(
        provider.get_balance(challenger).await.unwrap(),
        balance_before
    );
    let rejected = task_manager
        .ChallengeRejected_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");

    let (devnet, result) = loop_handle.await.unwrap();
    result.unwrap();
    assert_eq!(devnet.summary().tasks[0].state, "executed");
}
