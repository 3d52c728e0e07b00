//! The real `warden-challenger` binary as a child process, killed with SIGKILL and started again,
//! on SQLite and on PostgreSQL:
//!
//! - down for most of a challenge window while a theft is committed, it catches up after the
//!   restart, challenges before the deadline, and drives the slashing of the signers to the end;
//! - killed right after its challenge transaction was recorded and broadcast, while it is still
//!   unmined (the test turns anvil's automine off), it finds the transaction through its intent
//!   after the restart and waits for it: one challenge transaction, one bond, paid back with the
//!   bounty (it committed to the challenge a block before), and the slashing fees; then it clears
//!   each signer's slash to the restitution contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use alloy::consensus::Transaction as _;
use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::sol_types::SolCall;
use common::{Challenger, Committer, slashing_done, wait_for};
use warden_agent::Agent;
use warden_bindings::{WardenChallenges, WardenRestitution, WardenTaskManager};
use warden_challenger::watchtower::{FAILPOINT_AFTER_CHALLENGE_SENT, follower_name};
use warden_devnet::byzantine::ThievingAgent;
use warden_devnet::ticks::{THIEF, TickConfig};
use warden_devnet::{Devnet, DevnetConfig, DevnetError};
use warden_protocol::TaskState;
use warden_store::challenger::{ClaimState, ClaimStore};
use warden_store::cursor::ChainCursor;
use warden_store::testing::TestDatabase;
use warden_store::transactions::{TransactionLog, TxRecord, TxStatus};
use warden_testkit::only_event;
use warden_txm::Intent;

warden_store::on_both_backends!(
    a_challenger_down_for_most_of_a_window_challenges_in_time_after_a_restart,
    a_challenger_killed_after_sending_its_challenge_pays_one_bond,
);

/// Runs the agent loop without the devnet's own challenger until one task is final, in the
/// background, with operators 0, 1 and 2 (3 of 4, above the 2/3 threshold) signing a theft.
fn thieves_commit(
    mut devnet: Devnet,
    block_interval: Duration,
) -> tokio::task::JoinHandle<(Devnet, Result<(), DevnetError>)> {
    let mut ticks = TickConfig::new(1);
    ticks.byzantine_operators = vec![0, 1, 2];
    ticks.challenger = false;
    ticks.block_interval = block_interval;
    ticks.timeout = Duration::from_secs(300);
    tokio::spawn(async move {
        let result = devnet.run_ticks(ticks, |line| eprintln!("{line}")).await;
        (devnet, result)
    })
}

async fn a_challenger_down_for_most_of_a_window_challenges_in_time_after_a_restart(
    db: &TestDatabase,
) {
    const WINDOW: u32 = 120;
    let mut config = DevnetConfig::new(4);
    config.deployment.app.challenge_window = WINDOW;
    let devnet = Devnet::start(config).await.unwrap();
    let challenger = Challenger::configure(&devnet, db).await;
    let chain = ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let task_manager = WardenTaskManager::new(devnet.summary().deployment.app.task_manager, &chain);
    let challenges = WardenChallenges::new(devnet.summary().deployment.app.challenges, &chain);
    let thieves: Vec<Address> = devnet.summary().deployment.operators[..3]
        .iter()
        .map(|operator| operator.address)
        .collect();

    // First life: it judges everything up to now, records its cursor, and is killed.
    let first = challenger.spawn_caught_up(None).await;
    let cursor = ChainCursor::new(challenger.store().await, follower_name(challenger.address));
    let down_at = cursor.last().await.unwrap().unwrap().number;
    first.kill().await.unwrap();

    // While it is down, the thieves commit; most of the challenge window passes.
    let ticking = thieves_commit(devnet, Duration::from_millis(200));
    wait_for(
        "the theft to be committed",
        Duration::from_secs(180),
        || async {
            task_manager.taskCount().call().await.unwrap() >= 1
                && TaskState::try_from(task_manager.getTask(1).call().await.unwrap().state)
                    == Ok(TaskState::Committed)
        },
    )
    .await;
    let task = task_manager.getTask(1).call().await.unwrap();
    let deadline = u64::from(task.deadline);
    let commit_block = deadline - u64::from(WINDOW);
    assert!(
        commit_block > down_at,
        "committed while the challenger was down"
    );
    let restart_at = commit_block + u64::from(WINDOW) * 2 / 3;
    wait_for(
        "two thirds of the challenge window to pass",
        Duration::from_secs(180),
        || async { chain.get_block_number().await.unwrap() >= restart_at },
    )
    .await;
    assert_eq!(
        TaskState::try_from(task_manager.getTask(1).call().await.unwrap().state),
        Ok(TaskState::Committed),
        "nobody challenged the theft while the challenger was down"
    );
    assert_eq!(challenger.claim(1).await, None);

    // Second life: it catches up from its cursor and challenges in time.
    let _second = challenger.spawn(None, &[]);
    wait_for(
        "the theft to be challenged",
        Duration::from_secs(120),
        || async {
            // anvil may answer for the new block's state before its logs: wait for both.
            TaskState::try_from(task_manager.getTask(1).call().await.unwrap().state)
                == Ok(TaskState::Fraudulent)
                && !challenges
                    .ChallengeUpheld_filter()
                    .from_block(commit_block)
                    .query()
                    .await
                    .unwrap()
                    .is_empty()
        },
    )
    .await;
    let (event, log) = only_event(&challenges.ChallengeUpheld_filter().from_block(commit_block))
        .await
        .unwrap();
    assert_eq!(event.taskId, 1);
    assert_eq!(event.challenger, challenger.address);
    let challenged_at = log.block_number.unwrap();
    assert!(
        (restart_at..=deadline).contains(&challenged_at),
        "challenged in block {challenged_at}: after the restart at {restart_at}, by the deadline {deadline}"
    );

    // It drives the slashing of exactly the three signers and records the claim as slashed.
    challenger
        .wait_for_claim(1, ClaimState::Slashed, Duration::from_secs(120))
        .await;
    assert!(slashing_done(&challenges, 1).await);
    let mut slashed: Vec<Address> = challenges
        .SignerSlashed_filter()
        .from_block(commit_block)
        .query()
        .await
        .unwrap()
        .into_iter()
        .map(|(event, _)| event.operator)
        .collect();
    slashed.sort();
    let mut expected = thieves.clone();
    expected.sort();
    assert_eq!(slashed, expected);

    // Its metrics and its node API say so too: caught up, the commitment follower is healthy.
    wait_for(
        "the commitment follower to report itself healthy",
        Duration::from_secs(30),
        || async { challenger.service_health("commitment-follower").await == Some(200) },
    )
    .await;
    // It committed to its challenge first, so it earned the bounty (AppParams::default():
    // 0.5 ETH), and a slashing fee (0.01 ETH) for each of the three signers.
    for (series, value) in [
        ("warden_challenger_challenges_total{result=\"upheld\"}", 1.0),
        ("warden_challenger_operators_slashed_total", 3.0),
        (
            "warden_challenger_earned_gwei_total{source=\"bounty\"}",
            500_000_000.0,
        ),
        (
            "warden_challenger_earned_gwei_total{source=\"slashing_fee\"}",
            30_000_000.0,
        ),
        ("warden_challenger_bounty_pool_covers_bounty", 1.0),
        ("eigen_performance_score", 100.0),
    ] {
        assert_eq!(challenger.metric(series).await, Some(value), "{series}");
    }

    let (devnet, result) = ticking.await.unwrap();
    result.unwrap();
    assert_eq!(devnet.summary().tasks[0].state, "fraudulent");

    // Without its RPC endpoint the watchtower reports itself unhealthy.
    drop(devnet);
    assert_eq!(challenger.service_health("ethereum-rpc").await, Some(503));
    let health = challenger.node_api_url.clone() + "/health";
    assert_eq!(reqwest::get(&health).await.unwrap().status().as_u16(), 503);
}

async fn a_challenger_killed_after_sending_its_challenge_pays_one_bond(db: &TestDatabase) {
    // The test commits the theft itself and decides when blocks are mined, so that the challenge
    // is still unmined when the challenger is killed and restarted.
    let devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let challenger = Challenger::configure(&devnet, db).await;
    let challenges_address = devnet.summary().deployment.app.challenges;
    let restitution_address = devnet.summary().deployment.app.restitution;
    let thief = ThievingAgent::new(
        devnet.deployment().shared_agent(),
        devnet.summary().deployment.market.router,
        THIEF,
        U256::MAX,
    );
    let mut committer = Committer::new(devnet);
    let chain = committer.chain.clone();
    let challenges = WardenChallenges::new(challenges_address, chain.clone());
    let bond = challenges.challengeBond().call().await.unwrap();
    let bounty = challenges.challengeBounty().call().await.unwrap();
    let slash_fee = challenges.slashFee().call().await.unwrap();
    let from_block = chain.get_block_number().await.unwrap();
    let balance_before = chain.get_balance(challenger.address).await.unwrap();
    let task = committer.open_task().await;
    let theft = thief.decide_encoded(&task.input).unwrap().encode();

    let mut first = challenger
        .spawn_caught_up(Some(FAILPOINT_AFTER_CHALLENGE_SENT))
        .await;
    chain.anvil_set_auto_mine(false).await.unwrap();
    committer.manual_mining = true;
    committer.commit(&task, &theft, &[0, 1, 2]).await;
    // It commits to its challenge first; one block mines the commitment, and the challenge
    // follows in a later block.
    first
        .wait_for("challenge commitment sent", Duration::from_secs(60))
        .await
        .unwrap();
    chain.anvil_mine(Some(1), None).await.unwrap();
    Challenger::wait_for_failpoint(&mut first, FAILPOINT_AFTER_CHALLENGE_SENT).await;

    // Killed with the claim and the challenge transaction on record, broadcast but not mined.
    let store = challenger.store().await;
    let claim = ClaimStore::new(store.clone())
        .get(task.taskId)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.state, ClaimState::Challenging);
    let chain_id = chain.get_chain_id().await.unwrap();
    let log = TransactionLog::new(store.clone(), chain_id, challenger.address).unwrap();
    let recorded = challenge_on_record(&log, task.taskId, 0)
        .await
        .expect("the challenge is on record before it is broadcast");
    assert_eq!(recorded.status, TxStatus::Pending);
    first.kill().await.unwrap();
    assert!(
        chain
            .get_transaction_receipt(recorded.tx_hash)
            .await
            .unwrap()
            .is_none(),
        "the challenge is still unmined"
    );

    // Restarted, it resumes its unfinished claim, finds the challenge on record and catches up
    // (its cursor is past the commitment: the challenge was sent after the commitment to it was
    // mined); only then are blocks mined again. A challenger that sent a second challenge would
    // have it mined beside the first.
    let mut second = challenger.spawn(None, &[]);
    second
        .wait_for("caught up with the chain", Duration::from_secs(60))
        .await
        .unwrap();
    chain.anvil_set_auto_mine(true).await.unwrap();
    chain.anvil_mine(Some(1), None).await.unwrap();
    challenger
        .wait_for_claim(task.taskId, ClaimState::Slashed, Duration::from_secs(60))
        .await;
    let settled = challenge_on_record(&log, task.taskId, 0).await.unwrap();
    assert_eq!(settled.status, TxStatus::Mined);
    assert_eq!(settled.tx_hash, recorded.tx_hash);
    assert_eq!(
        challenge_on_record(&log, task.taskId, 1).await,
        None,
        "no second attempt"
    );

    // Every transaction the challenger sent, read from the blocks: one challenge, one bond, and
    // after the slashing one clearing of each signer's slash to the restitution contract.
    let mut challenge_calls = Vec::new();
    let mut clearings = 0;
    let mut fees = U256::ZERO;
    let mut sent_value = U256::ZERO;
    let sent = warden_testkit::inspect::sent_transactions(&chain, challenger.address, from_block)
        .await
        .unwrap();
    for (tx, receipt) in sent {
        if tx.to() == Some(restitution_address) {
            assert!(
                tx.input()
                    .starts_with(&WardenRestitution::clearSlashCall::SELECTOR)
            );
            clearings += 1;
        } else {
            assert_eq!(tx.to(), Some(challenges_address));
        }
        fees += U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
        sent_value += tx.value();
        if tx
            .input()
            .starts_with(&WardenChallenges::challengeCall::SELECTOR)
        {
            let call = WardenChallenges::challengeCall::abi_decode(tx.input()).unwrap();
            challenge_calls.push((call.taskId, *tx.inner.hash(), tx.value()));
        }
    }
    assert_eq!(
        challenge_calls,
        vec![(task.taskId, recorded.tx_hash, bond)],
        "exactly one challenge, the one recorded before the kill, with one bond"
    );
    assert_eq!(sent_value, bond);
    assert_eq!(clearings, 3, "one clearing per slashed signer");
    only_event(&challenges.ChallengeUpheld_filter().from_block(from_block))
        .await
        .unwrap();
    assert!(slashing_done(&challenges, task.taskId).await);
    // The bond came back with the bounty, and each slashed signer earned the slashing fee; only
    // gas was spent.
    let fees_paid = challenges
        .SlashingFeePaid_filter()
        .from_block(from_block)
        .query()
        .await
        .unwrap()
        .into_iter()
        .filter(|(event, _)| event.caller == challenger.address)
        .fold(U256::ZERO, |sum, (event, _)| sum + event.amount);
    assert_eq!(
        fees_paid,
        U256::from(3) * slash_fee,
        "a fee per slashed signer"
    );
    assert_eq!(
        chain.get_balance(challenger.address).await.unwrap(),
        balance_before - fees + bounty + fees_paid
    );
    drop(second);
}

/// The transaction of the challenge of `task_id` (`attempt` 0 first) as the challenger's log
/// records it, if it does.
async fn challenge_on_record(log: &TransactionLog, task_id: u64, attempt: u32) -> Option<TxRecord> {
    log.by_intent(&Intent::Challenge { task_id, attempt }.to_string())
        .await
        .unwrap()
}
