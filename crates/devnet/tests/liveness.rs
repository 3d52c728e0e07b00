//! Liveness end to end, with 4 equal operators and a 2/3 threshold: no key-less attacker and no
//! aggregator failure stops tasks from committing.
//! - Three threads post forged signatures for every operator as each task opens (the honest
//!   output with a bad signature, and another output): every task still commits.
//! - The aggregator is down for 25 seconds while a task is open: the operators keep sending until
//!   it is back, and the task commits.
//! - The main aggregator stops for good: the standby aggregator opens, commits and executes the
//!   next three tasks.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::transports::http::reqwest::{self, Url};
use tokio::sync::watch;
use warden_agent::{Agent, AgentInput};
use warden_bindings::WardenTaskManager;
use warden_bls::SecretKey;
use warden_devnet::ticks::{STANDBY_AGGREGATOR_ACCOUNT, TickConfig};
use warden_devnet::{Devnet, DevnetConfig};
use warden_protocol::TaskState;
use warden_protocol::api::{SIGNATURES_PATH, SignatureSubmission};
use warden_testkit::ports::free_port;
use warden_testkit::wait::wait_until;

/// What a forging thread got back, by HTTP status.
type Answers = Arc<std::sync::Mutex<BTreeMap<u16, u64>>>;

/// Posts forged entries for every operator while any task is open: each operator's honest
/// output under a signature that is not theirs (which once replaced their genuine one), and
/// another output (which once made their genuine one a `409 conflicting_output`).
#[allow(clippy::too_many_arguments)]
async fn forge(
    rpc: Url,
    aggregator: Url,
    task_manager: Address,
    operators: Vec<B256>,
    agent: Arc<dyn Agent>,
    seed: u8,
    answers: Answers,
    mut stop: watch::Receiver<bool>,
) {
    let provider = ProviderBuilder::new().connect_http(rpc);
    let tasks = WardenTaskManager::new(task_manager, &provider);
    let http = reqwest::Client::new();
    let url = aggregator.join(SIGNATURES_PATH).unwrap();
    let forger = SecretKey::from_ikm(&[seed; 32]).unwrap();
    let mut outputs: BTreeMap<u64, Bytes> = BTreeMap::new();
    while !*stop.borrow() {
        let count = tasks.taskCount().call().await.unwrap_or_default();
        for task_id in count.saturating_sub(1).max(1)..=count {
            let Ok(task) = tasks.getTask(task_id).call().await else {
                continue;
            };
            if TaskState::try_from(task.state) != Ok(TaskState::Open) {
                continue;
            }
            if let std::collections::btree_map::Entry::Vacant(entry) = outputs.entry(task_id) {
                let Ok(input) = warden_bindings::task_facts::task_input(
                    &provider,
                    task_manager,
                    task_id,
                    task.openedAt,
                )
                .await
                else {
                    continue;
                };
                let action = agent.decide(&AgentInput::decode(&input).unwrap()).unwrap();
                entry.insert(action.encode());
            }
            let honest = outputs[&task_id].clone();
            let other = Bytes::from([honest.as_ref(), &[seed]].concat());
            for operator_id in &operators {
                for output in [&honest, &other] {
                    let forged = SignatureSubmission {
                        task_id,
                        operator_id: *operator_id,
                        output: output.clone(),
                        signature: Bytes::copy_from_slice(
                            &forger.sign(&[seed, task_id as u8]).to_compressed(),
                        ),
                        trace: Vec::new(),
                    };
                    if let Ok(response) = http.post(url.clone()).json(&forged).send().await {
                        *answers
                            .lock()
                            .unwrap()
                            .entry(response.status().as_u16())
                            .or_default() += 1;
                    }
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = stop.changed() => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_submissions_from_three_threads_do_not_stop_five_tasks() {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let port = free_port().unwrap();
    let mut config = TickConfig::new(5);
    config.challenger = false;
    config.pay_operators = false;
    config.aggregator_listen = SocketAddr::from(([127, 0, 0, 1], port));
    config.timeout = Duration::from_secs(300);
    let aggregator: Url = format!("http://127.0.0.1:{port}").parse().unwrap();
    let operators: Vec<B256> = devnet
        .deployment()
        .operators()
        .iter()
        .map(|operator| operator.operator_id)
        .collect();
    let (stop, stopped) = watch::channel(false);
    let answers = Answers::default();
    let forgers: Vec<_> = (1..=3u8)
        .map(|seed| {
            tokio::spawn(forge(
                devnet.deployment().endpoint_url(),
                aggregator.clone(),
                devnet.summary().deployment.app.task_manager,
                operators.clone(),
                devnet.deployment().shared_agent(),
                seed,
                Arc::clone(&answers),
                stopped.clone(),
            ))
        })
        .collect();
    let result = devnet.run_ticks(config, |line| eprintln!("{line}")).await;
    stop.send(true).unwrap();
    for forger in forgers {
        forger.await.unwrap();
    }
    result.unwrap();

    let answers = answers.lock().unwrap().clone();
    eprintln!("forgers' answers by status: {answers:?}");
    assert!(
        answers.get(&400).copied().unwrap_or_default() > 0,
        "the forgeries must have reached the aggregator and been refused: {answers:?}"
    );
    assert_eq!(
        answers.get(&202).copied().unwrap_or_default(),
        0,
        "no forgery may be taken: {answers:?}"
    );
    let summary = devnet.summary();
    assert_eq!(summary.tasks.len(), 5);
    for task in &summary.tasks {
        assert_eq!(task.state, "executed", "{task:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_opened_during_a_25_second_aggregator_outage_commits() {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let port = free_port().unwrap();
    let listen = SocketAddr::from(([127, 0, 0, 1], port));
    let agent_id = devnet.summary().deployment.app.agent_id;
    let task_manager = devnet.summary().deployment.app.task_manager;
    let mut config = TickConfig::new(1);
    config.challenger = false;
    config.pay_operators = false;
    // About two blocks a second, so that the 60-block response window outlasts the outage.
    config.block_interval = Duration::from_millis(600);
    config.timeout = Duration::from_secs(240);
    config.external_aggregator = Some(format!("http://{listen}").parse().unwrap());
    let progress = |line: &str| eprintln!("{line}");
    let mut run = devnet.start_services(&config, &progress).await.unwrap();

    let scenario = async {
        let rpc = devnet.deployment().endpoint_url();
        let reader = ProviderBuilder::new().connect_http(rpc.clone());
        let tasks = WardenTaskManager::new(task_manager, &reader);
        // Nobody keeps the agent while the aggregator is down: anyone may open its task.
        wait_until(
            "the agent can open a task",
            Duration::from_secs(60),
            || async {
                tasks
                    .canOpenTask(agent_id)
                    .call()
                    .await
                    .is_ok_and(|open| open.check == 0)
            },
        )
        .await
        .unwrap();
        let opener = warden_txm::signing_provider(rpc, devnet.deployment().dev_key(0).unwrap());
        let receipt = WardenTaskManager::new(task_manager, &opener)
            .openTask(agent_id)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
        let task_id = receipt
            .decoded_log::<WardenTaskManager::TaskOpened>()
            .unwrap()
            .taskId;
        let opened_at = receipt.block_number.unwrap();
        eprintln!("task opened in block {opened_at} while the aggregator is down");
        // The outage itself, not a wait for a condition: the fault lasts 25 seconds.
        tokio::time::sleep(Duration::from_secs(25)).await;
        let head = reader.get_block_number().await.unwrap();
        let last_live: u64 = tasks
            .lastLiveBlock(task_id)
            .call()
            .await
            .unwrap()
            .try_into()
            .unwrap();
        assert!(
            head < last_live,
            "the outage must end inside the response window (head {head}, last block {last_live})"
        );
        eprintln!(
            "the aggregator comes back in block {head}; the task can commit until {last_live}"
        );
        let aggregator_config = devnet
            .deployment()
            .aggregator_config(listen, vec![agent_id]);
        let (stop, stopped) = watch::channel(false);
        let running = warden_aggregator::launch::start(
            &aggregator_config,
            devnet.deployment().dev_key(3).unwrap(),
            stopped,
        )
        .await
        .unwrap();
        (stop, running)
    };
    let ((stop, running), ticked) =
        tokio::join!(scenario, devnet.tick(&mut run, &config, &progress));
    let final_tasks = ticked.unwrap();
    stop.send(true).unwrap();
    running.tasks.wait().await.unwrap();
    devnet.finish(run, Some(final_tasks)).await.unwrap();
    let summary = devnet.summary();
    assert_eq!(summary.tasks.len(), 1);
    assert_eq!(summary.tasks[0].state, "executed", "{:?}", summary.tasks[0]);
    assert_eq!(
        summary.tasks[0].committed_by,
        Some(devnet.deployment().dev_key(3).unwrap().address())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_main_aggregator_is_lost_for_good_the_standby_commits_the_next_three_tasks() {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let mut config = TickConfig::new(4);
    config.challenger = false;
    config.pay_operators = false;
    config.aggregator_fails_at = Some(2);
    config.timeout = Duration::from_secs(300);
    devnet
        .run_ticks(config, |line| eprintln!("{line}"))
        .await
        .unwrap();
    let main = devnet.deployment().dev_key(3).unwrap().address();
    let standby = devnet
        .deployment()
        .dev_key(STANDBY_AGGREGATOR_ACCOUNT)
        .unwrap()
        .address();
    let summary = devnet.summary();
    assert_eq!(summary.tasks.len(), 4);
    for task in &summary.tasks {
        assert_eq!(task.state, "executed", "{task:?}");
    }
    assert_eq!(
        summary.tasks[0].committed_by,
        Some(main),
        "{:?}",
        summary.tasks[0]
    );
    for task in &summary.tasks[1..] {
        assert_eq!(task.committed_by, Some(standby), "{task:?}");
        // Within the fallback delay (plus the standby's margin for opening the task).
        let blocks = task.open_to_commit_blocks.unwrap();
        assert!(
            blocks <= 20,
            "task {} took {blocks} blocks to commit",
            task.id
        );
    }
}
