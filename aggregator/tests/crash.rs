//! The aggregator killed with SIGKILL at the two dangerous moments of a commitment — the quorum
//! on record but no transaction yet, and the transaction broadcast but its receipt not yet seen —
//! and started again: the output is committed exactly once (one `commitOutput` transaction from
//! the aggregator's key for the task, none reverted), and the task runs to execution. On SQLite
//! and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use alloy::consensus::Transaction as _;
use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::sol_types::SolCall;
use warden_aggregator::service::{FAILPOINT_AFTER_QUORUM, FAILPOINT_DURING_SUBMISSION};
use warden_bindings::task_manager::WardenTaskManager::commitOutputCall;
use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig, task_state};
use warden_protocol::TaskState;
use warden_store::Store;
use warden_store::aggregator::{AggregatorStore, SubmissionStatus, TaskState as RecordState};
use warden_store::testing::TestDatabase;
use warden_store::transactions::{TransactionLog, TxStatus};
use warden_testkit::crash::{ConfigFile, ServiceBinary, failpoint_reached};
use warden_testkit::free_port;
use warden_testkit::inspect::sent_transactions;
use warden_testkit::ops::{check_serving, health_status};

warden_store::on_both_backends!(
    killed_after_the_quorum_commits_exactly_once,
    killed_during_the_submission_commits_exactly_once,
);

const BINARY: &str = env!("CARGO_BIN_EXE_warden-aggregator");

async fn killed_after_the_quorum_commits_exactly_once(db: &TestDatabase) {
    crash_at(FAILPOINT_AFTER_QUORUM, db).await;
}

async fn killed_during_the_submission_commits_exactly_once(db: &TestDatabase) {
    crash_at(FAILPOINT_DURING_SUBMISSION, db).await;
}

async fn crash_at(failpoint: &str, db: &TestDatabase) {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let key = devnet.deployment().dev_keystore(3).await.unwrap();
    let port = free_port().unwrap();
    let agent_id = devnet.summary().deployment.app.agent_id;
    let task_manager = devnet.summary().deployment.app.task_manager;
    let mut config = devnet
        .deployment()
        .aggregator_config(([127, 0, 0, 1], port).into(), vec![agent_id]);
    config.database.url = db.url().to_string();
    let config_file = ConfigFile::write("aggregator.toml", &config).unwrap();
    let aggregator = ServiceBinary::new("aggregator", BINARY, config_file.path());
    let chain = ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let start_block = chain.get_block_number().await.unwrap();

    let mut ticks = TickConfig::new(1);
    ticks.external_aggregator = Some(format!("http://127.0.0.1:{port}").parse().unwrap());
    ticks.challenger = false;
    // Slow blocks leave the task's response window long enough for a kill and a restart.
    ticks.block_interval = Duration::from_millis(300);
    ticks.timeout = Duration::from_secs(240);

    let crash_and_restart = async {
        let mut first = aggregator.start(Some(failpoint), &[]).unwrap();
        first
            .wait_for(&failpoint_reached(failpoint), Duration::from_secs(120))
            .await
            .unwrap();
        let store = Store::open(db.url()).await.unwrap();
        let records = AggregatorStore::new(store.clone());
        let committing = records.live_tasks().await.unwrap();
        assert_eq!(committing.len(), 1, "{committing:?}");
        assert_eq!(committing[0].state, RecordState::Committing);
        let task_id = committing[0].task_id;
        let submission = records.prepared_submission(task_id).await.unwrap().unwrap();
        let log = TransactionLog::new(store, 31337, key.address).unwrap();
        let on_record = log.by_intent(&submission.intent).await.unwrap();
        if failpoint == FAILPOINT_AFTER_QUORUM {
            assert!(on_record.is_none(), "no transaction exists yet");
        } else {
            assert_eq!(on_record.unwrap().status, TxStatus::Pending);
        }
        first.kill().await.unwrap();
        if failpoint == FAILPOINT_AFTER_QUORUM {
            assert_eq!(
                task_state(&chain, task_manager, task_id).await.unwrap(),
                TaskState::Open,
                "killed before anything was sent"
            );
        }
        let (second, started) = aggregator
            .restart("aggregator started", Duration::from_secs(60))
            .await
            .unwrap();
        (task_id, submission.intent, log, records, second, started)
    };
    let (ticked, (task_id, intent, log, records, second, started)) = tokio::join!(
        devnet.run_ticks(ticks, |line| eprintln!("{line}")),
        crash_and_restart
    );
    ticked.unwrap();

    assert_eq!(
        task_state(&chain, task_manager, task_id).await.unwrap(),
        TaskState::Executed
    );
    let commits =
        commit_transactions(&chain, key.address, task_manager, start_block, task_id).await;
    assert_eq!(
        commits.len(),
        1,
        "exactly one commitOutput for task {task_id}: {commits:?}"
    );
    assert!(commits[0].1, "and it succeeded");
    let sent = log.by_intent(&intent).await.unwrap().unwrap();
    assert_eq!((sent.status, sent.tx_hash), (TxStatus::Mined, commits[0].0));
    let submissions = records.submissions(task_id).await.unwrap();
    assert_eq!(submissions.len(), 1, "{submissions:?}");
    assert_eq!(submissions[0].status, SubmissionStatus::Confirmed);

    // The restarted binary's operations endpoints: the execution it made is counted in a parsed
    // scrape, the node is healthy, and unhealthy once the chain is gone.
    let node_api = check_serving(&started, "warden_task_events_total", ("event", "executed"))
        .await
        .unwrap();
    drop(devnet);
    assert_eq!(health_status(&node_api).await, Some(503));
    drop(second);
}

/// Every `commitOutput` transaction `sender` sent for `task_id` since `from`, with whether it
/// succeeded.
async fn commit_transactions<P: Provider>(
    chain: &P,
    sender: Address,
    task_manager: Address,
    from: u64,
    task_id: u64,
) -> Vec<(alloy::primitives::B256, bool)> {
    sent_transactions(chain, sender, from)
        .await
        .unwrap()
        .into_iter()
        .filter(|(tx, _)| tx.to() == Some(task_manager))
        .filter(|(tx, _)| {
            commitOutputCall::abi_decode(tx.input()).is_ok_and(|call| call.taskId == task_id)
        })
        .map(|(tx, receipt)| (*tx.inner.tx_hash(), receipt.status()))
        .collect()
}
