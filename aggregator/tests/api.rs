//! The HTTP intake refuses bad requests with a status and a machine-readable body, before any
//! of them can touch a task.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use alloy::primitives::{B256, Bytes};
use warden_aggregator::service::{Aggregator, AggregatorConfig};
use warden_devnet::{Devnet, DevnetConfig};
use warden_protocol::api::{ApiError, MAX_SUBMISSION_BYTES, SIGNATURES_PATH, SignatureSubmission};

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let aggregator = Aggregator::connect(
        AggregatorConfig {
            rpc_url: devnet.rpc_url().parse().unwrap(),
            task_manager: devnet.summary().app.task_manager,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            keeper_agents: Vec::new(),
            poll_interval: Duration::from_millis(200),
        },
        devnet.deployer().clone(),
    )
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(aggregator.serve(stopped, bound_tx));
    let url = format!("http://{}{SIGNATURES_PATH}", bound_rx.await.unwrap());
    let http = reqwest::Client::new();

    // Unknown task: 404 with a code.
    let submission = SignatureSubmission {
        task_id: 999,
        operator_id: B256::repeat_byte(1),
        output: Bytes::from_static(b"\x00"),
        signature: Bytes::from(vec![0u8; 96]),
    };
    let response = http.post(&url).json(&submission).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let error: ApiError = response.json().await.unwrap();
    assert_eq!(error.code, "unknown_task");
    assert!(error.message.contains("999"), "{error:?}");

    // Oversized body: refused before it is parsed.
    let huge = vec![b' '; MAX_SUBMISSION_BYTES + 1];
    let response = http
        .post(&url)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // Not JSON, and JSON of the wrong shape.
    let response = http
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = http
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"task_id": 1, "unexpected": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    stop.send(true).unwrap();
    server.await.unwrap().unwrap();
}
