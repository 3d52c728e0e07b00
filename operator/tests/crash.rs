//! An operator killed with SIGKILL right after signing — the signature on record, not yet sent —
//! and started again: it sends the signature it recorded, never signs the task a second time,
//! and the task is committed with it. On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use alloy::providers::{Provider, ProviderBuilder};
use warden_bindings::WardenTaskManager;
use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig, task_state};
use warden_operator::node::FAILPOINT_AFTER_SIGNING;
use warden_protocol::TaskState;
use warden_store::Store;
use warden_store::operator::SlashingProtection;
use warden_store::testing::TestDatabase;
use warden_testkit::crash::{ConfigFile, ServiceBinary, failpoint_reached};
use warden_testkit::ops::{check_serving, health_status};
use warden_testkit::{free_port, wait_for};

warden_store::on_both_backends!(an_operator_killed_after_signing_sends_what_it_signed);

const BINARY: &str = env!("CARGO_BIN_EXE_warden-operator");

async fn an_operator_killed_after_signing_sends_what_it_signed(db: &TestDatabase) {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let operator = devnet.deployment().operators()[0].clone();
    let stopped = devnet.deployment().operators()[1].address;
    let aggregator_port = free_port().unwrap();
    let aggregator_url = format!("http://127.0.0.1:{aggregator_port}")
        .parse()
        .unwrap();
    let chain = ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let start_block = chain.get_block_number().await.unwrap();
    let mut config = devnet
        .deployment()
        .operator_config(&operator, &aggregator_url, start_block)
        .unwrap();
    config.database.url = db.url().to_string();
    let config_file = ConfigFile::write("operator.toml", &config).unwrap();
    let node = ServiceBinary::new("operator-0", BINARY, config_file.path());
    let task_manager = devnet.summary().deployment.app.task_manager;

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
        let mut first = node.start(Some(FAILPOINT_AFTER_SIGNING), &[]).unwrap();
        first
            .wait_for(
                &failpoint_reached(FAILPOINT_AFTER_SIGNING),
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

        assert_eq!(
            task_state(&chain, task_manager, record.attestation.task_id)
                .await
                .unwrap(),
            TaskState::Open,
            "without operator 0's signature there is no quorum yet"
        );

        let (mut second, started) = node
            .restart("operator node started", Duration::from_secs(60))
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
    // The task keeps only its commitment hash: the events it binds carry the output.
    let committed = warden_bindings::task_facts::committed(
        &chain,
        task_manager,
        task.id,
        on_chain.openedAt,
        on_chain.commitmentHash,
    )
    .await
    .unwrap();
    assert_eq!(committed.hashes.output_hash, record.output_hash);
    // One signature on record for the task, the one made before the kill, byte for byte.
    let records = protection.for_task(task.id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].signature, record.signature);
    assert_eq!(records[0].output, record.output);

    // The binary's operations endpoints: metrics in exposition format with the accepted
    // submission counted, a healthy node, and an unhealthy one once the chain is gone.
    let node_api = check_serving(
        &started,
        "warden_operator_submissions_total",
        ("result", "accepted"),
    )
    .await
    .unwrap();
    drop(devnet);
    assert_eq!(health_status(&node_api).await, Some(503));
    drop(second);
}
