//! The node API tells the truth about the aggregator's work loops: while its keeper cannot get a
//! transaction mined (its key has no ETH left), `/eigen/node/health` answers 503 naming the
//! stalled loop and why; once the fault is gone it answers 200 again and the next task commits.
//! Against the real aggregator on a devnet.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig};
use warden_store::testing::TestDatabase;
use warden_testkit::free_port;
use warden_testkit::ops::{scrape, scrape_counter};
use warden_testkit::wait::wait_until;

/// The stall bound of this test: far below the devnet's own, so the test is quick.
const STALL_BLOCKS: u64 = 10;

/// A devnet of 4 operators and the configuration of an aggregator keeping its agent, on a port
/// of its own with its own SQLite database (kept alive by the returned handle).
async fn devnet_and_aggregator() -> (
    Devnet,
    warden_aggregator::config::AggregatorConfig,
    TestDatabase,
    u16,
) {
    let devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let agent_id = devnet.summary().deployment.app.agent_id;
    let db = TestDatabase::sqlite();
    let port = free_port().unwrap();
    let mut config = devnet
        .deployment()
        .aggregator_config(SocketAddr::from(([127, 0, 0, 1], port)), vec![agent_id]);
    config.database.url = db.url().to_string();
    (devnet, config, db, port)
}

/// `/eigen/node/health`'s code and body.
async fn health(http: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let response = http.get(url).send().await.unwrap();
    let code = response.status().as_u16();
    (code, response.json().await.unwrap_or_default())
}

/// `warden_loop_last_progress_block{loop}`, if the loop ever progressed.
async fn last_progress(metrics: &str, which: &str) -> Option<f64> {
    let scrape = scrape(metrics).await?;
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "warden_loop_last_progress_block" && s.labels.get("loop") == Some(which)
        })
        .and_then(|s| match s.value {
            prometheus_parse::Value::Gauge(v) => Some(v),
            _ => None,
        })
}

/// Before: the keeper's every transaction failed, round after round, and health said 200
/// throughout. Now: 503 with the stalled loop and its failure in the body once work has been
/// pending more than `stall_blocks` blocks; 200 again once the key is funded, and the next task
/// commits and executes.
#[tokio::test]
async fn a_keeper_whose_key_has_no_eth_is_unhealthy_until_funded_and_the_next_task_commits() {
    let (mut devnet, mut config, _db, port) = devnet_and_aggregator().await;
    config.aggregator.stall_blocks = STALL_BLOCKS;
    let signer = devnet.deployment().dev_key(3).unwrap();
    let key = signer.address();
    let chain = ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());

    // The fault: the aggregator's key has no ETH left.
    let funds = chain.get_balance(key).await.unwrap();
    assert!(funds > U256::ZERO);
    chain.anvil_set_balance(key, U256::ZERO).await.unwrap();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = warden_aggregator::launch::start(&config, signer, stopped)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let health_url = format!("http://{}/eigen/node/health", running.endpoints.node_api);
    let metrics = running.endpoints.metrics_url();

    // Blocks go by; the keeper tries to open the agent's task and cannot get it mined.
    // (A condition polled with a deadline; each poll mines a block so the stall can age.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let stuck = loop {
        chain.evm_mine(None).await.unwrap();
        let (code, body) = health(&http, &health_url).await;
        if code == 503 && body.to_string().contains("keeper-loop") {
            break body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health never said the keeper is stuck: {code} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let services = stuck["services"].as_array().cloned().unwrap_or_default();
    let keeper = services
        .iter()
        .find(|s| s["id"] == "keeper-loop")
        .unwrap_or_else(|| panic!("the keeper loop named in {stuck}"));
    let reason = keeper["reason"].as_str().unwrap();
    assert_eq!(keeper["status"], "Down", "{stuck}");
    assert!(
        reason.starts_with("keeper: no progress for") && reason.contains("openTask"),
        "{reason}"
    );
    assert!(
        reason.to_lowercase().contains("insufficient funds"),
        "{reason}"
    );
    assert_eq!(stuck["status"], 503);
    assert_eq!(
        last_progress(&metrics, "keeper").await,
        None,
        "never progressed"
    );

    // The fault is removed: the keeper's opening is mined, health is 200 again.
    chain.anvil_set_balance(key, funds).await.unwrap();
    // (No blocks mined here: the task it opens must stay open for the operators.)
    wait_until(
        "health 200 once funded",
        Duration::from_secs(90),
        || async { health(&http, &health_url).await.0 == 200 },
    )
    .await
    .unwrap();
    let progressed = last_progress(&metrics, "keeper")
        .await
        .expect("keeper progress");
    assert!(progressed > 0.0);

    // The next task commits (and executes), with operators signing for it.
    let mut ticks = TickConfig::new(1);
    ticks.external_aggregator = Some(format!("http://127.0.0.1:{port}").parse().unwrap());
    ticks.challenger = false;
    ticks.timeout = Duration::from_secs(180);
    devnet
        .run_ticks(ticks, |line| eprintln!("{line}"))
        .await
        .unwrap();
    let tasks = &devnet.summary().tasks;
    assert!(!tasks.is_empty());
    assert!(
        tasks
            .iter()
            .any(|task| task.state == "executed" && task.commit_gas.is_some()),
        "{tasks:?}"
    );
    assert!(
        last_progress(&metrics, "committer")
            .await
            .is_some_and(|block| block > progressed)
    );
    assert_eq!(health(&http, &health_url).await.0, 200);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running.tasks.wait())
        .await
        .expect("every task stops on shutdown")
        .expect("no task failed");
}

/// The fault: the chain rolled back under the aggregator, past transactions of its key
/// on record as mined. Before: the keeper's next opening was the intent on record, whose receipt
/// was gone, and every round failed on `ReceiptUnavailable`: no task opened again. Now the
/// transaction manager sends the lost transactions again, the keeper carries on without a
/// restart, health is 200 once it has, and the next task commits and executes.
#[tokio::test]
async fn a_rollback_of_20_blocks_under_the_aggregator_is_repaired_and_the_next_task_commits() {
    let (mut devnet, config, _db, port) = devnet_and_aggregator().await;
    let signer = devnet.deployment().dev_key(3).unwrap();
    let key = signer.address();
    let chain = ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let snapshot = chain.anvil_snapshot().await.unwrap();
    let before = chain.get_block_number().await.unwrap();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = warden_aggregator::launch::start(&config, signer, stopped)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let health_url = format!("http://{}/eigen/node/health", running.endpoints.node_api);
    let metrics = running.endpoints.metrics_url();

    // The keeper opens the agent's first task (and refreshes the weights): mined, on record.
    wait_until(
        "the keeper's first opening",
        Duration::from_secs(60),
        || async {
            scrape_counter(&metrics, "warden_task_events_total", ("event", "opened"))
                .await
                .is_some_and(|opened| opened >= 1.0)
        },
    )
    .await
    .unwrap();
    let sent = chain.get_transaction_count(key).await.unwrap();
    assert!(sent >= 1);
    // 20 blocks later the chain rolls back to before all of it.
    for _ in 0..20 {
        chain.evm_mine(None).await.unwrap();
    }
    let head = chain.get_block_number().await.unwrap();
    assert!(chain.anvil_revert(snapshot).await.unwrap());
    assert!(head - chain.get_block_number().await.unwrap() >= 20);
    assert_eq!(chain.get_block_number().await.unwrap(), before);
    assert_eq!(chain.get_transaction_count(key).await.unwrap(), 0);

    // Without a restart, the keeper's transactions are mined again (the lost ones first).
    wait_until(
        "the aggregator's lost transactions mined again",
        Duration::from_secs(60),
        || async { chain.get_transaction_count(key).await.unwrap() >= sent },
    )
    .await
    .unwrap();

    // The next task commits and executes, with operators signing: also a task the rollback
    // replaced (the keeper's lost `openTask` mined again opens the same id on another reference
    // block), which the intake collects afresh.
    let mut ticks = TickConfig::new(1);
    ticks.external_aggregator = Some(format!("http://127.0.0.1:{port}").parse().unwrap());
    ticks.challenger = false;
    ticks.timeout = Duration::from_secs(180);
    devnet
        .run_ticks(ticks, |line| eprintln!("{line}"))
        .await
        .unwrap();
    let tasks = &devnet.summary().tasks;
    assert!(
        !tasks.is_empty()
            && tasks
                .iter()
                .all(|task| task.state == "executed" && task.commit_gas.is_some()),
        "{tasks:?}"
    );
    wait_until("health 200", Duration::from_secs(30), || async {
        health(&http, &health_url).await.0 == 200
    })
    .await
    .unwrap();
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running.tasks.wait())
        .await
        .expect("every task stops on shutdown")
        .expect("no task failed");
}

/// Before: when the quorum's last signature could not be written (the issue's `database is
/// locked`, here a table gone under the running aggregator), the operator heard 503, the
/// quorum the intake had just handed out was dropped with the error, and the operators' resent
/// signatures were duplicates that never completed it again: the task expired. Now the quorum is
/// committed whatever became of the write.
#[tokio::test]
async fn a_signature_that_cannot_be_written_does_not_drop_the_quorum_it_completed() {
    let (mut devnet, config, db, port) = devnet_and_aggregator().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running =
        warden_aggregator::launch::start(&config, devnet.deployment().dev_key(3).unwrap(), stopped)
            .await
            .unwrap();
    db.execute("DROP TABLE aggregator_signatures").await;

    let mut ticks = TickConfig::new(1);
    ticks.external_aggregator = Some(format!("http://127.0.0.1:{port}").parse().unwrap());
    ticks.challenger = false;
    ticks.pay_operators = false;
    ticks.timeout = Duration::from_secs(180);
    devnet
        .run_ticks(ticks, |line| eprintln!("{line}"))
        .await
        .unwrap();
    let tasks = &devnet.summary().tasks;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state, "executed", "{tasks:?}");
    let failed_writes = scrape(&running.endpoints.metrics_url())
        .await
        .unwrap()
        .samples
        .iter()
        .filter(|s| {
            s.metric == "warden_database_errors_total"
                && s.labels.get("operation") == Some("save_signature")
        })
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) => v,
            _ => 0.0,
        })
        .sum::<f64>();
    assert!(failed_writes >= 1.0, "the writes must have failed");
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running.tasks.wait())
        .await
        .expect("every task stops on shutdown")
        .expect("no task failed");
}
