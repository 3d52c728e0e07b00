//! The chain follower against a real anvil: it resumes from its cursor, and after a reorg it
//! rewinds to the last block both branches share and follows the new branch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use alloy::network::TransactionBuilder;
use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use warden_runtime::follow::{ChainFollower, Step};
use warden_runtime::metrics::{RpcMetrics, Telemetry};
use warden_runtime::node_api::SyncProgress;
use warden_runtime::rpc::{self, RetryPolicy};
use warden_store::cursor::ChainCursor;
use warden_store::testing::TestDatabase;

/// Follows until caught up; returns every range processed.
async fn catch_up(follower: &ChainFollower) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    for _ in 0..100 {
        match follower.next().await.unwrap() {
            step @ Step::Range { from, to, .. } => {
                ranges.push((from, to));
                follower.done(step).await.unwrap();
            }
            Step::CaughtUp { .. } => return ranges,
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("never caught up");
}

#[tokio::test]
async fn the_follower_resumes_and_undoes_a_reorg() {
    let anvil = Anvil::at(warden_testkit::default_anvil_path()).spawn();
    let chain = ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(
            alloy::signers::local::PrivateKeySigner::from(anvil.keys()[0].clone()),
        ))
        .connect_http(anvil.endpoint_url());
    chain.anvil_mine(Some(10), None).await.unwrap();

    let db = TestDatabase::sqlite();
    let store = db.open().await;
    let metrics = RpcMetrics::register(&Telemetry::new()).unwrap();
    let provider = rpc::connect(anvil.endpoint_url(), metrics, RetryPolicy::default());
    let follower = |start: u64| {
        ChainFollower::new(
            provider.clone(),
            ChainCursor::new(store.clone(), "test"),
            start,
            4,
            Arc::new(SyncProgress::default()),
        )
    };

    let first = follower(3);
    assert_eq!(catch_up(&first).await, vec![(3, 6), (7, 10)]);
    assert_eq!(first.progress().get(), Some((10, 10)));

    // A restarted follower continues after its cursor, whatever its start block says.
    chain.anvil_mine(Some(2), None).await.unwrap();
    let restarted = follower(0);
    assert_eq!(catch_up(&restarted).await, vec![(11, 12)]);

    // Blocks 11 and 12 are replaced by a branch whose block 11 holds a transaction.
    let old_11 = chain
        .get_block_by_number(11.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .hash;
    chain.anvil_rollback(Some(2)).await.unwrap();
    let transfer = TransactionRequest::default()
        .with_to(Address::repeat_byte(0x42))
        .with_value(U256::from(1u64));
    chain
        .send_transaction(transfer)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    chain.anvil_mine(Some(2), None).await.unwrap();
    let new_11 = chain
        .get_block_by_number(11.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .hash;
    assert_ne!(old_11, new_11, "the reorg replaced block 11");

    match restarted.next().await.unwrap() {
        Step::Reorged {
            abandoned,
            resume_from,
        } => {
            assert_eq!(abandoned, 12);
            assert_eq!(
                resume_from, 11,
                "block 10 is the last one both branches share"
            );
        }
        other => panic!("the reorg went unnoticed: {other:?}"),
    }
    assert_eq!(catch_up(&restarted).await, vec![(11, 13)]);
}
