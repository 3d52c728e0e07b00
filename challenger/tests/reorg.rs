//! The real `warden-challenger` binary through chain reorganisations, on SQLite and PostgreSQL.
//! The test commits outputs itself (signed with the devnet operators' BLS keys), so it decides
//! exactly what each branch holds; anvil's `evm_snapshot`/`evm_revert` replaces blocks.
//!
//! 1. A theft is committed; the challenger finds it, records its claim and is killed before it
//!    sends anything (failpoint). A reorg takes the theft away, and the new branch commits the
//!    honest output instead. Restarted, the challenger never challenges the vanished theft: the
//!    claim is closed as reorged out, the honest commitment is judged correct, nothing is sent.
//! 2. A second reorg replaces the blocks the challenger has already judged (its cursor points
//!    into the abandoned branch) with a branch that commits the theft again. The challenger
//!    notices, rewinds to the last block both branches share, judges the new branch, challenges
//!    the theft, and drives the slashing to the end.
//!
//! Before all that, a challenger configured to react more slowly than the challenge window
//! refuses to start and says why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use alloy::primitives::{Bytes, U256, keccak256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use common::{Challenger, Committer, slashing_done, wait_for};
use warden_agent::Agent;
use warden_bindings::tx::confirm;
use warden_challenger::CloseReason;
use warden_challenger::watchtower::{FAILPOINT_AFTER_CLAIM, follower_name};
use warden_devnet::byzantine::ThievingAgent;
use warden_devnet::ticks::THIEF;
use warden_devnet::{Devnet, DevnetConfig};
use warden_protocol::TaskState;
use warden_store::challenger::ClaimState;
use warden_store::cursor::ChainCursor;
use warden_store::testing::TestDatabase;
use warden_testkit::ProcessError;
use warden_testkit::only_event;

warden_store::on_both_backends!(
    a_challenger_follows_reorgs_and_challenges_only_the_canonical_chain
);

async fn a_challenger_follows_reorgs_and_challenges_only_the_canonical_chain(db: &TestDatabase) {
    // The default 20-block challenge window: nothing mines blocks here but the test.
    let devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let challenger = Challenger::configure(&devnet, db).await;

    // Lagging 20 blocks, it could not react within a 20-block window: it refuses to start.
    let mut slow = challenger.spawn(
        None,
        &[("WARDEN_CHALLENGER_CHALLENGER__MAX_LAG_BLOCKS", "20")],
    );
    let refusal = slow
        .wait_for("refusing to start", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        refusal.contains("challenge window is 20 blocks"),
        "{refusal}"
    );
    match slow
        .wait_for("never printed", Duration::from_secs(30))
        .await
    {
        Err(ProcessError::Exited { status, .. }) => assert!(!status.success()),
        other => panic!("the challenger should have exited: {other:?}"),
    }

    let committer = Committer::new(devnet);
    let chain = committer.chain.clone();
    let task_manager = committer.task_manager();
    let challenges = committer.challenges();
    let task = committer.open_task().await;
    let honest: Bytes = committer
        .devnet
        .deployment()
        .agent()
        .decide_encoded(&task.input)
        .unwrap()
        .encode();
    let thief = ThievingAgent::new(
        committer.devnet.deployment().shared_agent(),
        committer.devnet.summary().deployment.market.router,
        THIEF,
        U256::MAX,
    );
    let theft: Bytes = thief.decide_encoded(&task.input).unwrap().encode();
    assert_ne!(keccak256(&honest), keccak256(&theft));

    // 1. The challenger finds the theft, records its claim, and is killed before sending.
    let mut first = challenger
        .spawn_caught_up(Some(FAILPOINT_AFTER_CLAIM))
        .await;
    let before_theft = chain.anvil_snapshot().await.unwrap();
    let theft_block = committer.commit(&task, &theft, &[0, 1, 2]).await;
    Challenger::wait_for_failpoint(&mut first, FAILPOINT_AFTER_CLAIM).await;
    let claim = challenger.claim(task.taskId).await.unwrap();
    assert_eq!(claim.state, ClaimState::Challenging);
    assert_eq!(claim.committed_output_hash, keccak256(&theft));
    first.kill().await.unwrap();

    // The theft's block is replaced by a branch that commits the honest output.
    assert!(chain.anvil_revert(before_theft).await.unwrap());
    let before_honest = chain.anvil_snapshot().await.unwrap();
    let honest_block = committer.commit(&task, &honest, &[0, 1, 2, 3]).await;
    assert_eq!(
        honest_block, theft_block,
        "the same height on another branch"
    );
    chain.anvil_mine(Some(3), None).await.unwrap();
    let judged_through = committer.head().await;

    let mut second = challenger.spawn(None, &[]);
    let cursor = ChainCursor::new(challenger.store().await, follower_name(challenger.address));
    wait_for(
        "the new branch to be judged",
        Duration::from_secs(60),
        || async {
            cursor
                .last()
                .await
                .unwrap()
                .is_some_and(|stop| stop.number >= judged_through)
                && challenger
                    .claim(task.taskId)
                    .await
                    .is_some_and(|claim| claim.state == ClaimState::Closed)
        },
    )
    .await;
    let claim = challenger.claim(task.taskId).await.unwrap();
    assert!(CloseReason::reopens(&claim.detail), "{claim:?}");
    assert_eq!(
        challenger
            .metric("warden_challenger_commitments_total{verdict=\"correct\"}")
            .await,
        Some(1.0)
    );
    assert_eq!(
        chain
            .get_transaction_count(challenger.address)
            .await
            .unwrap(),
        0,
        "the vanished theft was not challenged: nothing was sent"
    );
    let on_chain = task_manager.getTask(task.taskId).call().await.unwrap();
    assert_eq!(
        TaskState::try_from(on_chain.state),
        Ok(TaskState::Committed)
    );
    // The task keeps only its commitment hash: the events it binds carry the honest output.
    let committed = warden_bindings::task_facts::committed(
        task_manager.provider(),
        *task_manager.address(),
        task.taskId,
        on_chain.openedAt,
        on_chain.commitmentHash,
    )
    .await
    .unwrap();
    assert_eq!(committed.output, honest);

    // 2. Blocks it judged are replaced by a branch that commits the theft.
    assert!(chain.anvil_revert(before_honest).await.unwrap());
    // A transfer first, so that the theft's commitment is not byte for byte the transaction the
    // first reorg dropped (same nonce, same fees): anvil remembers that one's hash.
    confirm(
        "transfer",
        chain
            .send_transaction(
                alloy::rpc::types::TransactionRequest::default()
                    .to(committer.devnet.deployment().deployer().address())
                    .value(U256::from(1)),
            )
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let theft_again = committer.commit(&task, &theft, &[0, 1, 2]).await;
    chain.anvil_mine(Some(5), None).await.unwrap();
    let deadline = u64::from(
        task_manager
            .getTask(task.taskId)
            .call()
            .await
            .unwrap()
            .deadline,
    );
    second
        .wait_for(
            "a reorg replaced blocks already judged",
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    challenger
        .wait_for_claim(task.taskId, ClaimState::Slashed, Duration::from_secs(60))
        .await;
    let on_chain = task_manager.getTask(task.taskId).call().await.unwrap();
    assert_eq!(
        TaskState::try_from(on_chain.state),
        Ok(TaskState::Fraudulent)
    );
    assert!(slashing_done(&challenges, task.taskId).await);
    let (event, log) = only_event(&challenges.ChallengeUpheld_filter().from_block(theft_again))
        .await
        .unwrap();
    assert_eq!(event.challenger, challenger.address);
    assert!(log.block_number.unwrap() <= deadline);
    assert!(
        challenger
            .metric("warden_chain_reorgs_total{follower=\"challenger\"}")
            .await
            .is_some_and(|reorgs| reorgs >= 1.0)
    );
    drop(second);
}
