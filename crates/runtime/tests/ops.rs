//! The operations endpoints against a real anvil and a real database: metrics scraped and parsed
//! as Prometheus exposition format, node API health following the RPC endpoint's fate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::node_bindings::Anvil;
use alloy::providers::Provider;
use reqwest::StatusCode;
use warden_runtime::metrics::{NodeMetrics, RpcMetrics, Telemetry};
use warden_runtime::node_api::{DatabaseProbe, NodeApi, Probe, RpcProbe, SyncProbe, SyncProgress};
use warden_runtime::rpc::{self, RetryPolicy};
use warden_store::testing::TestDatabase;
use warden_testkit::ops::sample_value;

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn scrape_metrics(url: &str) -> prometheus_parse::Scrape {
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    prometheus_parse::Scrape::parse(body.lines().map(|line| Ok(line.to_string())))
        .unwrap_or_else(|error| panic!("not Prometheus exposition format: {error}\n{body}"))
}

async fn get_json(http: &reqwest::Client, url: &str) -> serde_json::Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn metrics_and_node_api_follow_the_rpc_endpoint() {
    let anvil = Anvil::at(warden_testkit::default_anvil_path()).spawn();
    let db = TestDatabase::sqlite();
    let store = db.open().await;

    let telemetry = Telemetry::new();
    let rpc_metrics = RpcMetrics::register(&telemetry).unwrap();
    let node_metrics = NodeMetrics::register(&telemetry).unwrap();
    node_metrics.performance_score.set(100.0);
    let provider = rpc::connect(
        anvil.endpoint_url(),
        rpc_metrics.clone(),
        RetryPolicy::default(),
    );
    rpc::observe_client_version(&provider, &rpc_metrics).await;
    provider.get_block_number().await.unwrap();
    provider.get_block_number().await.unwrap();

    let progress = Arc::new(SyncProgress::default());
    let probes: Vec<Arc<dyn Probe>> = vec![
        Arc::new(RpcProbe {
            provider: rpc::connect(
                anvil.endpoint_url(),
                rpc_metrics.clone(),
                RetryPolicy::none(),
            ),
            timeout: Duration::from_secs(2),
        }),
        Arc::new(DatabaseProbe {
            store: store.clone(),
            timeout: Duration::from_secs(2),
        }),
        Arc::new(SyncProbe {
            id: "task-follower".into(),
            name: "Task follower".into(),
            description: "Follows TaskOpened events".into(),
            progress: Arc::clone(&progress),
            max_lag: 5,
        }),
    ];
    let api = NodeApi::new("warden-test", probes);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (endpoints, handles) = warden_runtime::ops::serve(
        telemetry.clone(),
        node_metrics.http_errors.clone(),
        api,
        loopback(),
        loopback(),
        stopped,
    )
    .await
    .unwrap();
    assert_ne!(endpoints.metrics, endpoints.node_api);

    // Metrics: the spec's names and labels, parsed.
    let scrape = scrape_metrics(&endpoints.metrics_url()).await;
    let version = rpc_metrics.client_version();
    assert!(version.starts_with("anvil"), "client version {version:?}");
    let calls = sample_value(
        &scrape,
        "eigen_rpc_request_total",
        ("method", "eth_blockNumber"),
    )
    .expect("eigen_rpc_request_total{method=eth_blockNumber}");
    assert_eq!(calls, 2.0);
    let duration = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "eigen_rpc_request_duration_seconds"
                && s.labels.get("method") == Some("eth_blockNumber")
        })
        .expect("the RPC duration histogram");
    assert_eq!(
        duration.labels.get("client_version"),
        Some(version.as_str())
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "eigen_performance_score")
    );

    let http = reqwest::Client::new();
    let node = format!("http://{}", endpoints.node_api);
    let info = get_json(&http, &format!("{node}/eigen/node")).await;
    assert_eq!(info["node_name"], "warden-test");
    assert_eq!(info["spec_version"], "v0.0.1");
    assert!(info["node_version"].as_str().unwrap().starts_with('v'));

    let health = |path: &'static str| {
        let http = http.clone();
        let url = format!("{node}{path}");
        async move { http.get(url).send().await.unwrap().status() }
    };
    // Nothing processed yet: the follower is initializing, the node partially healthy.
    assert_eq!(
        health("/eigen/node/health").await,
        StatusCode::PARTIAL_CONTENT
    );
    progress.update(10, 20);
    assert_eq!(
        health("/eigen/node/health").await,
        StatusCode::PARTIAL_CONTENT,
        "10 blocks behind is syncing"
    );
    progress.update(20, 20);
    assert_eq!(health("/eigen/node/health").await, StatusCode::OK);
    assert_eq!(
        health("/eigen/node/services/database/health").await,
        StatusCode::OK
    );
    assert_eq!(
        health("/eigen/node/services/no-such-service/health").await,
        StatusCode::NOT_FOUND
    );
    let services = get_json(&http, &format!("{node}/eigen/node/services")).await;
    let ids: Vec<&str> = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ethereum-rpc", "database", "task-follower"]);
    assert!(
        services["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "Up")
    );

    // The RPC endpoint goes away: the node is unhealthy, the RPC service down, the failures
    // counted.
    drop(anvil);
    assert_eq!(
        health("/eigen/node/health").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        health("/eigen/node/services/ethereum-rpc/health").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let services = get_json(&http, &format!("{node}/eigen/node/services")).await;
    assert_eq!(services["services"][0]["status"], "Down");
    let scrape = scrape_metrics(&endpoints.metrics_url()).await;
    let failures = sample_value(
        &scrape,
        "warden_rpc_errors_total",
        ("method", "eth_blockNumber"),
    )
    .expect("RPC failures counted");
    assert!(failures >= 1.0);

    stop.send(true).unwrap();
    for handle in handles {
        tokio::time::timeout(Duration::from_secs(10), handle)
            .await
            .expect("the servers stop on shutdown")
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn an_unanswered_request_is_retried_then_reported() {
    let telemetry = Telemetry::new();
    let metrics = RpcMetrics::register(&telemetry).unwrap();
    // Nothing listens on port 1.
    let provider = rpc::connect(
        "http://127.0.0.1:1".parse().unwrap(),
        metrics.clone(),
        RetryPolicy {
            attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
        },
    );
    provider.get_block_number().await.unwrap_err();
    let label = ["eth_blockNumber"];
    assert_eq!(metrics.retries.with_label_values(&label).get(), 2);
    assert_eq!(
        metrics
            .errors
            .with_label_values(&["eth_blockNumber", "transport"])
            .get(),
        3
    );
}

/// An endpoint that gives no answer is skipped for the next one, which then stays in use; a
/// JSON-RPC error response is an answer and is not failed over.
#[tokio::test]
async fn a_dead_endpoint_fails_over_to_the_next() {
    let anvil = Anvil::at(warden_testkit::default_anvil_path()).spawn();
    let telemetry = Telemetry::new();
    let metrics = RpcMetrics::register(&telemetry).unwrap();
    let dead: alloy::transports::http::reqwest::Url =
        format!("http://127.0.0.1:{}", warden_testkit::free_port().unwrap())
            .parse()
            .unwrap();
    let once = RetryPolicy {
        attempts: 1,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
    };
    let provider =
        rpc::connect_endpoints(&[dead.clone(), anvil.endpoint_url()], metrics.clone(), once);
    assert_eq!(provider.get_chain_id().await.unwrap(), anvil.chain_id());
    // No retry was spent: the failover answered the first attempt.
    assert_eq!(
        metrics
            .errors
            .with_label_values(&["eth_chainId", "transport"])
            .get(),
        0
    );
    // An error response (an unknown method) comes back as the answer it is.
    let refused: Result<String, _> = provider.raw_request("warden_noSuchMethod".into(), ()).await;
    assert!(refused.unwrap_err().is_error_resp());
    // With the dead endpoint alone, nothing answers.
    let alone = rpc::connect_endpoints(&[dead], metrics, once);
    assert!(alone.get_chain_id().await.is_err());
}

#[tokio::test]
async fn the_same_address_serves_metrics_and_the_node_api() {
    let telemetry = Telemetry::new();
    let node_metrics = NodeMetrics::register(&telemetry).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let addr = SocketAddr::from(([127, 0, 0, 1], warden_testkit::free_port().unwrap()));
    let (endpoints, _handles) = warden_runtime::ops::serve(
        telemetry,
        node_metrics.http_errors,
        NodeApi::new("warden-test", Vec::new()),
        addr,
        addr,
        stopped,
    )
    .await
    .unwrap();
    assert_eq!(endpoints.metrics, endpoints.node_api);
    scrape_metrics(&endpoints.metrics_url()).await;
    let status = reqwest::get(format!("http://{}/eigen/node/health", endpoints.node_api))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    stop.send(true).unwrap();
}
