//! The aggregator serves only agents it chose and that pay (issue 10, item 5: fake agents grief
//! the aggregator). Signatures for any other agent's task are refused with 403
//! `agent_not_served` before anything about the task is recorded, so a flood of fake agents costs
//! the aggregator one chain read per task and no gas.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use alloy::primitives::{B256, Bytes};
use warden_bindings::WardenTaskManager;
use warden_bindings::tx::confirm;
use warden_devnet::{Devnet, DevnetConfig};
use warden_protocol::api::{ApiError, SIGNATURES_PATH, SignatureSubmission};
use warden_runtime::allowlist::AgentAllowlist;
use warden_store::testing::TestDatabase;

/// Submits a signature for `task_id` to an aggregator started with `allowlist`, keeping no
/// agent; returns the API's error (every submission here is refused for one reason or another).
async fn refusal(devnet: &Devnet, allowlist: AgentAllowlist, task_id: u64) -> (u16, ApiError) {
    let db = TestDatabase::sqlite();
    let mut config = devnet
        .deployment()
        .aggregator_config(SocketAddr::from(([127, 0, 0, 1], 0)), Vec::new());
    config.database.url = db.url().to_string();
    config.aggregator.allowlist = allowlist;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running =
        warden_aggregator::launch::start(&config, devnet.deployment().deployer().clone(), stopped)
            .await
            .unwrap();
    let submission = SignatureSubmission {
        task_id,
        // Zero bytes are no signature: a served task gets as far as the signature check.
        operator_id: B256::repeat_byte(1),
        output: Bytes::from_static(b"\x00"),
        signature: Bytes::from(vec![0u8; 96]),
        trace: Vec::new(),
    };
    let response = reqwest::Client::new()
        .post(format!("http://{}{SIGNATURES_PATH}", running.api))
        .json(&submission)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let error: ApiError = response.json().await.unwrap();
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running.tasks.wait())
        .await
        .expect("every task stops on shutdown")
        .expect("no task failed");
    (status, error)
}

#[tokio::test]
async fn attack_fake_agents_grief_the_aggregator() {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let summary = devnet.summary().clone();
    let agent_id = summary.deployment.app.agent_id;
    let provider = warden_txm::signing_provider(
        devnet.deployment().endpoint_url(),
        devnet.deployment().deployer().clone(),
    );
    let task_manager = WardenTaskManager::new(summary.deployment.app.task_manager, &provider);
    let genuine = task_manager
        .getAgent(agent_id)
        .call()
        .await
        .unwrap()
        .agentHash;
    let receipt = confirm(
        "openTask",
        task_manager.openTask(agent_id).send().await.unwrap(),
    )
    .await
    .unwrap();
    let task_id = receipt
        .decoded_log::<WardenTaskManager::TaskOpened>()
        .unwrap()
        .taskId;

    // An agent that is neither kept nor listed: refused.
    let (status, error) = refusal(&devnet, AgentAllowlist::default(), task_id).await;
    assert_eq!((status, error.code.as_str()), (403, "agent_not_served"));
    assert!(error.message.contains("allowlist"), "{error:?}");

    // Listed and funded: served (refused only further on, for the malformed signature).
    let listed = AgentAllowlist {
        agent_hashes: vec![genuine],
        verifier_code_hashes: Vec::new(),
    };
    let (status, error) = refusal(&devnet, listed.clone(), task_id).await;
    assert_eq!((status, error.code.as_str()), (400, "malformed_signature"));

    // A verifier whose code is not the pinned one: refused.
    let pinned = AgentAllowlist {
        agent_hashes: vec![genuine],
        verifier_code_hashes: vec![B256::repeat_byte(0xc0)],
    };
    let (status, error) = refusal(&devnet, pinned, task_id).await;
    assert_eq!((status, error.code.as_str()), (403, "agent_not_served"));
    assert!(error.message.contains("verifier"), "{error:?}");

    // The owner takes the service balance back: the agent no longer pays, and is refused.
    let owner = warden_txm::signing_provider(
        devnet.deployment().endpoint_url(),
        devnet.deployment().dev_key(2).unwrap(),
    );
    let as_owner = WardenTaskManager::new(summary.deployment.app.task_manager, &owner);
    let balance = as_owner.serviceBalance(agent_id).call().await.unwrap();
    assert!(!balance.is_zero(), "the devnet prepays its agent");
    confirm(
        "reclaimService",
        as_owner
            .reclaimService(agent_id, balance, summary.deployment.app.vault_owner)
            .send()
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let (status, error) = refusal(&devnet, listed, task_id).await;
    assert_eq!((status, error.code.as_str()), (403, "agent_not_served"));
    assert!(error.message.contains("commit fee"), "{error:?}");
}
