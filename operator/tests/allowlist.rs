//! An operator signs only for agents whose verifier passes its allowlist: with the verifier's
//! runtime code pinned to other code, the node refuses the task (counted as `other_verifier`)
//! and records nothing; pinned to the verifier's real code, it signs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{B256, keccak256};
use alloy::providers::{Provider, ProviderBuilder};
use warden_bindings::WardenTaskManager;
use warden_devnet::{Devnet, DevnetConfig};
use warden_store::Store;
use warden_store::operator::SlashingProtection;
use warden_store::testing::TestDatabase;
use warden_testkit::{free_port, wait_for};

/// Runs operator 0 with `verifier_code_hashes` pinned, opens a task, and returns whether the
/// node signed it, once it has decided.
async fn signs_with_pinned_code(devnet: &Devnet, pinned: B256) -> bool {
    let db = TestDatabase::sqlite();
    let handle = devnet.deployment().operators()[0].clone();
    let chain = ProviderBuilder::new().connect_http(devnet.deployment().endpoint_url());
    let nowhere = format!("http://127.0.0.1:{}", free_port().unwrap())
        .parse()
        .unwrap();
    let start_block = chain.get_block_number().await.unwrap();
    let mut config = devnet
        .deployment()
        .operator_config(&handle, &nowhere, start_block)
        .unwrap();
    config.database.url = db.url().to_string();
    config.operator.allowlist.verifier_code_hashes = vec![pinned];
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = warden_operator::launch::start(
        &config,
        Arc::new(handle.keys().unwrap()),
        devnet.deployment().shared_agent(),
        stopped,
    )
    .await
    .unwrap();

    let keeper = warden_txm::signing_provider(
        devnet.deployment().endpoint_url(),
        devnet.deployment().dev_key(3).unwrap(),
    );
    let task_manager =
        WardenTaskManager::new(devnet.summary().deployment.app.task_manager, &keeper);
    let task_id = task_manager
        .openTask(devnet.summary().deployment.app.agent_id)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .decoded_log::<WardenTaskManager::TaskOpened>()
        .unwrap()
        .taskId;

    let protection = SlashingProtection::new(
        Store::open(db.url()).await.unwrap(),
        handle.operator_id.into(),
    );
    let metrics_url = running.endpoints.metrics_url();
    let counted = |outcome: &'static str| {
        let metrics_url = metrics_url.clone();
        async move {
            warden_testkit::ops::metrics_text(&metrics_url)
                .await
                .unwrap_or_default()
                .lines()
                .any(|line| {
                    line.starts_with(&format!(
                        "warden_operator_tasks_total{{outcome=\"{outcome}\"}}"
                    )) && !line.ends_with(" 0")
                })
        }
    };
    let decided = wait_for(Duration::from_secs(30), || async {
        counted("signed").await || counted("other_verifier").await
    })
    .await;
    assert!(decided, "the node decided about task {task_id}");
    let signed = !protection.for_task(task_id).await.unwrap().is_empty();
    assert_eq!(
        signed,
        counted("signed").await,
        "the record agrees with the metric"
    );

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running.tasks.wait())
        .await
        .expect("every task stops on shutdown")
        .expect("no task failed");
    signed
}

#[tokio::test]
async fn the_operator_signs_only_for_verifiers_with_pinned_code() {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let chain = ProviderBuilder::new().connect_http(devnet.deployment().endpoint_url());
    let verifier = devnet.summary().deployment.app.verifier;
    let real_code = keccak256(chain.get_code_at(verifier).await.unwrap());

    assert!(
        !signs_with_pinned_code(&devnet, B256::repeat_byte(0xc0)).await,
        "a verifier whose code is not pinned is not signed for"
    );
    // The first task was left open; the next may open once it can no longer progress.
    let task_manager = WardenTaskManager::new(devnet.summary().deployment.app.task_manager, &chain);
    let agent_id = devnet.summary().deployment.app.agent_id;
    let latest = task_manager
        .agentStatus(agent_id)
        .call()
        .await
        .unwrap()
        .latestTaskId;
    let free = task_manager.lastLiveBlock(latest).call().await.unwrap();
    let now = chain.get_block_number().await.unwrap();
    let wait = free.to::<u64>().saturating_sub(now) + 1;
    alloy::providers::ext::AnvilApi::anvil_mine(&chain, Some(wait), None)
        .await
        .unwrap();
    assert!(
        signs_with_pinned_code(&devnet, real_code).await,
        "the verifier's real code is signed for"
    );
}
