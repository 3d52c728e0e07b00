//! A reorg removes the task an operator signed, and the new branch opens a task with the same id
//! at another block: the node notices, follows the canonical chain and signs the new task — a
//! different attestation, so signing it is not equivocation — while its record keeps what it
//! signed on the abandoned branch. On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use warden_bindings::WardenTaskManager;
use warden_devnet::{Devnet, DevnetConfig};
use warden_store::Store;
use warden_store::cursor::ChainCursor;
use warden_store::operator::SlashingProtection;
use warden_store::testing::TestDatabase;
use warden_testkit::{free_port, wait_for};

warden_store::on_both_backends!(the_operator_follows_a_reorg_that_replaces_its_task);

async fn the_operator_follows_a_reorg_that_replaces_its_task(db: &TestDatabase) {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let handle = devnet.deployment().operators()[0].clone();
    let chain = ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let keeper = warden_txm::signing_provider(
        devnet.deployment().rpc_url().parse().unwrap(),
        devnet.deployment().dev_key(3).unwrap(),
    );
    let task_manager =
        WardenTaskManager::new(devnet.summary().deployment.app.task_manager, &keeper);
    let agent_id = devnet.summary().deployment.app.agent_id;

    // No aggregator listens there: the node's record is what this test watches.
    let nowhere = format!("http://127.0.0.1:{}", free_port().unwrap())
        .parse()
        .unwrap();
    let start_block = chain.get_block_number().await.unwrap();
    let mut config = devnet
        .deployment()
        .operator_config(&handle, &nowhere, start_block)
        .unwrap();
    config.database.url = db.url().to_string();
    let keys = handle.keys().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = warden_operator::launch::start(
        &config,
        Arc::new(keys),
        devnet.deployment().shared_agent(),
        stopped,
    )
    .await
    .unwrap();
    let protection = SlashingProtection::new(
        Store::open(db.url()).await.unwrap(),
        handle.operator_id.into(),
    );

    // Branch A: task 1 opens and the operator signs it.
    let snapshot = chain.anvil_snapshot().await.unwrap();
    let opened = task_manager.openTask(agent_id).send().await.unwrap();
    opened.get_receipt().await.unwrap();
    let signed_once = wait_for(Duration::from_secs(30), || async {
        protection.for_task(1).await.unwrap().len() == 1
    })
    .await;
    assert!(
        signed_once,
        "the operator signed task 1 on the first branch"
    );
    let first = protection.for_task(1).await.unwrap().remove(0);
    // The follower records blocks of branch A past the task: what the reorg must undo.
    chain.anvil_mine(Some(2), None).await.unwrap();
    let head_a = chain.get_block_number().await.unwrap();
    let cursor = ChainCursor::new(
        Store::open(db.url()).await.unwrap(),
        format!("operator:{}", handle.operator_id),
    );
    let followed = wait_for(Duration::from_secs(30), || async {
        cursor
            .last()
            .await
            .unwrap()
            .is_some_and(|stop| stop.number >= head_a)
    })
    .await;
    assert!(followed, "the follower reached the head of branch A");

    // Branch B replaces branch A from before the task: a few empty blocks, then task 1 again,
    // at another reference block.
    assert!(chain.anvil_revert(snapshot).await.unwrap());
    chain.anvil_mine(Some(5), None).await.unwrap();
    // Polled, not watched: right after a revert alloy's receipt watcher can read the node's
    // "no receipt yet" as an error (NullResp) before anvil has mined the transaction.
    let reopened = *task_manager
        .openTask(agent_id)
        .send()
        .await
        .unwrap()
        .tx_hash();
    let mined = wait_for(Duration::from_secs(30), || async {
        chain
            .get_transaction_receipt(reopened)
            .await
            .is_ok_and(|receipt| receipt.is_some())
    })
    .await;
    assert!(mined, "task 1 reopened on branch B");
    let canonical = task_manager.getTask(1).call().await.unwrap();
    assert_ne!(
        canonical.referenceBlock, first.attestation.reference_block,
        "the new branch's task 1 is another attestation"
    );
    let signed_again = wait_for(Duration::from_secs(30), || async {
        protection.for_task(1).await.unwrap().len() == 2
    })
    .await;
    assert!(
        signed_again,
        "the operator followed the reorg and signed the new task 1"
    );
    let records = protection.for_task(1).await.unwrap();
    let second = records
        .iter()
        .find(|record| record.signing_root() != first.signing_root())
        .unwrap();
    assert_eq!(second.attestation.input_hash, canonical.inputHash);
    assert_eq!(second.attestation.reference_block, canonical.referenceBlock);

    let metrics = warden_testkit::ops::metrics_text(&running.endpoints.metrics_url())
        .await
        .expect("the metrics are served");
    let reorgs = metrics
        .lines()
        .find(|line| line.starts_with("warden_chain_reorgs_total{"))
        .expect("the reorg is counted");
    assert!(!reorgs.ends_with(" 0"), "{reorgs}");

    // The node API answers; with the chain gone the node is unhealthy.
    let health = format!("http://{}/eigen/node/health", running.endpoints.node_api);
    let status = reqwest::get(&health).await.unwrap().status().as_u16();
    assert!(matches!(status, 200 | 206), "health {status}");
    drop(devnet);
    assert_eq!(reqwest::get(&health).await.unwrap().status().as_u16(), 503);

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running.tasks.wait())
        .await
        .unwrap()
        .unwrap();
}
