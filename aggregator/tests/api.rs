//! The HTTP intake refuses bad requests with a status and a machine-readable body, before any
//! of them can touch a task; the refusals show in the metrics, and the node API reports the
//! aggregator unhealthy once its RPC endpoint is gone.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use alloy::primitives::{B256, Bytes};
use warden_devnet::{Devnet, DevnetConfig};
use warden_protocol::api::{ApiError, MAX_SUBMISSION_BYTES, SIGNATURES_PATH, SignatureSubmission};
use warden_store::testing::TestDatabase;

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let db = TestDatabase::sqlite();
    let mut config = devnet
        .deployment()
        .aggregator_config(SocketAddr::from(([127, 0, 0, 1], 0)), Vec::new());
    config.database.url = db.url().to_string();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running =
        warden_aggregator::launch::start(&config, devnet.deployment().deployer().clone(), stopped)
            .await
            .unwrap();
    let url = format!("http://{}{SIGNATURES_PATH}", running.api);
    let http = reqwest::Client::new();

    // Unknown task: 404 with a code.
    let submission = SignatureSubmission {
        task_id: 999,
        operator_id: B256::repeat_byte(1),
        output: Bytes::from_static(b"\x00"),
        signature: Bytes::from(vec![0u8; 96]),
        trace: Vec::new(),
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
    let error: ApiError = response.json().await.unwrap();
    assert_eq!(error.code, "request_too_large", "{error:?}");

    // Not JSON, and JSON of the wrong shape.
    let response = http
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Before: the framework's plain-text refusal. Now the documented `{code, message}`.
    let error: ApiError = response.json().await.unwrap();
    assert_eq!(error.code, "bad_request", "{error:?}");
    assert!(error.message.contains("JSON"), "{error:?}");
    let response = http
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"task_id": 1, "unexpected": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let error: ApiError = response.json().await.unwrap();
    assert_eq!(error.code, "invalid_request", "{error:?}");
    // No such path: JSON too.
    let response = http
        .get(format!("http://{}/nowhere", running.api))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let error: ApiError = response.json().await.unwrap();
    assert_eq!(error.code, "not_found", "{error:?}");

    // The refusal is counted by reason; the node is healthy.
    let metrics = warden_testkit::ops::metrics_text(&running.endpoints.metrics_url())
        .await
        .expect("the metrics are served");
    let scrape =
        prometheus_parse::Scrape::parse(metrics.lines().map(|l| Ok(l.to_string()))).unwrap();
    let unknown_task = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "warden_signatures_rejected_total"
                && s.labels.get("reason") == Some("unknown_task")
        })
        .expect("refusals are counted by reason");
    assert!(matches!(
        unknown_task.value,
        prometheus_parse::Value::Counter(v) if v == 1.0
    ));
    // Every error answer is counted by its code, the framework's refusals included.
    for code in [
        "unknown_task",
        "request_too_large",
        "bad_request",
        "invalid_request",
        "not_found",
    ] {
        assert!(
            scrape
                .samples
                .iter()
                .any(|s| s.metric == "warden_http_errors_total"
                    && s.labels.get("server") == Some("api")
                    && s.labels.get("code") == Some(code)
                    && matches!(s.value, prometheus_parse::Value::Counter(v) if v == 1.0)),
            "warden_http_errors_total{{server=\"api\",code=\"{code}\"}} is 1"
        );
    }
    for metric in [
        "eigen_performance_score",
        "eigen_rpc_request_total",
        "warden_tasks",
    ] {
        assert!(
            scrape.samples.iter().any(|s| s.metric == metric),
            "{metric} missing"
        );
    }
    let health = format!("http://{}/eigen/node/health", running.endpoints.node_api);
    let healthy = warden_testkit::wait_for(Duration::from_secs(10), || async {
        http.get(&health).send().await.unwrap().status() == 200
    })
    .await;
    assert!(
        healthy,
        "the keeper's first round makes the aggregator healthy"
    );

    // The chain goes away: unhealthy.
    drop(devnet);
    assert_eq!(http.get(&health).send().await.unwrap().status(), 503);

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running.tasks.wait())
        .await
        .expect("every task stops on shutdown")
        .expect("no task failed");
}
