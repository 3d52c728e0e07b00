//! An operator killed with SIGKILL right after signing — the signature on record, not yet sent —
//! and started again: it sends the signature it recorded, never signs the task a second time,
//! and the task is committed with it. On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use alloy::providers::{Provider, ProviderBuilder};
use warden_bindings::WardenTaskManager;
use warden_bindings::task_manager::task_state;
use warden_devnet::process::{
    ServiceProcess, free_port, health_status, ops_urls, scrape_counter, wait_for,
};
use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig};
use warden_operator::node::FAILPOINT_AFTER_SIGNING;
use warden_store::Store;
use warden_store::operator::SlashingProtection;
use warden_store::testing::TestDatabase;

warden_store::on_both_backends!(an_operator_killed_after_signing_sends_what_it_signed);

const BINARY: &str = env!("CARGO_BIN_EXE_warden-operator");

async fn an_operator_killed_after_signing_sends_what_it_signed(db: &TestDatabase) {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let operator = devnet.operators()[0].clone();
    let stopped = devnet.operators()[1].address;
    let aggregator_port = free_port().unwrap();
    let aggregator_url = format!("http://127.0.0.1:{aggregator_port}")
        .parse()
        .unwrap();
    let chain = ProviderBuilder::new().connect_http(devnet.rpc_url().parse().unwrap());
    let start_block = chain.get_block_number().await.unwrap();
    let mut config = devnet
        .operator_config(&operator, &aggregator_url, start_block)
        .unwrap();
    config.database.url = db.url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("operator.toml");
    std::fs::write(&config_path, toml::to_string(&config).unwrap()).unwrap();
    let task_manager = devnet.summary().app.task_manager;

    // Operator 1 is down and operator 0 runs as its own process: the quorum needs operator 0.
    let mut ticks = TickConfig::new(1);
    ticks.external_operators = vec![0];
    ticks.stopped_operators = vec![1];
    ticks.challenger = false;
    ticks.aggregator_listen = ([127, 0, 0, 1], aggregator_port).into();
    // Slow blocks leave the task's response window long enough for a kill and a restart.
    ticks.block_interval = Duration::from_millis(300);
    ticks.timeout = Duration::from_secs(240);

    let crash_and_restart = async {
        let mut first = spawn(&config_path, Some(FAILPOINT_AFTER_SIGNING));
        first
            .wait_for(
                &format!("failpoint {FAILPOINT_AFTER_SIGNING} reached"),
                Duration::from_secs(120),
            )
            .await
            .unwrap();
        let store = Store::open(db.url()).await.unwrap();
        let protection = SlashingProtection::new(store.clone(), operator.operator_id.into());
        let on_record = protection.undelivered().await.unwrap();
        assert_eq!(
            on_record.len(),
            1,
            "the signature is on record before it is sent"
        );
        let record = on_record[0].clone();
        first.kill().await.unwrap();

        let task = WardenTaskManager::new(task_manager, &chain)
            .getTask(record.attestation.task_id)
            .call()
            .await
            .unwrap();
        assert_eq!(
            task.state,
            task_state::OPEN,
            "without operator 0's signature there is no quorum yet"
        );

        let mut second = spawn(&config_path, None);
        let started = second
            .wait_for("operator node started", Duration::from_secs(60))
            .await
            .unwrap();
        second
            .wait_for("re-sending a signature", Duration::from_secs(60))
            .await
            .unwrap();
        let delivered = wait_for(Duration::from_secs(60), || async {
            protection
                .find(record.signing_root())
                .await
                .unwrap()
                .is_some_and(|r| r.delivered)
        })
        .await;
        assert!(
            delivered,
            "the aggregator never acknowledged the re-sent signature"
        );
        (record, protection, second, started)
    };
    let (ticked, (record, protection, second, started)) = tokio::join!(
        devnet.run_ticks(ticks, |line| eprintln!("{line}")),
        crash_and_restart
    );
    ticked.unwrap();

    let summary = devnet.summary();
    let task = &summary.tasks[0];
    assert_eq!(task.id, record.attestation.task_id);
    assert_eq!(
        task.non_signers,
        vec![stopped],
        "operator 0 signed: {task:?}"
    );
    let on_chain = WardenTaskManager::new(task_manager, &chain)
        .getTask(task.id)
        .call()
        .await
        .unwrap();
    assert_eq!(on_chain.outputHash, record.output_hash);
    // One signature on record for the task, the one made before the kill, byte for byte.
    let records = protection.for_task(task.id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].signature, record.signature);
    assert_eq!(records[0].output, record.output);

    // The binary's operations endpoints: metrics in exposition format with the accepted
    // submission counted, a healthy node, and an unhealthy one once the chain is gone.
    let (metrics, node_api) = ops_urls(&started).expect("the start line names its endpoints");
    let counted = scrape_counter(
        &metrics,
        "warden_operator_submissions_total",
        ("result", "accepted"),
    )
    .await;
    assert!(counted.is_some_and(|value| value >= 1.0), "{counted:?}");
    let status = health_status(&node_api).await;
    assert!(matches!(status, Some(200 | 206)), "health {status:?}");
    drop(devnet);
    assert_eq!(health_status(&node_api).await, Some(503));
    drop(second);
}

fn spawn(config: &Path, failpoint: Option<&str>) -> ServiceProcess {
    let mut envs = vec![("RUST_LOG", "info")];
    if let Some(failpoint) = failpoint {
        envs.push(("WARDEN_FAILPOINT", failpoint));
    }
    ServiceProcess::spawn(
        "operator-0",
        Path::new(BINARY),
        &["run", "--config", config.to_str().unwrap()],
        &envs,
    )
    .unwrap()
}
