//! The challenger watchtower against a devnet, driven step by step in this process: one that was
//! down while a wrong output was committed catches up from the cursor in its database after
//! restarting, still challenges before the deadline and drives the slashing to completion; one
//! whose own agent is wrong never challenges a correct output, and keeps its bond.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use warden_agent::Agent;
use warden_bindings::{WardenChallenges, WardenTaskManager};
use warden_challenger::watchtower::follower_name;
use warden_challenger::{ChallengerConfig, Watchtower, WatchtowerConfig, launch};
use warden_devnet::byzantine::ThievingAgent;
use warden_devnet::ticks::THIEF;
use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig};
use warden_keys::KeysConfig;
use warden_protocol::TaskState;
use warden_runtime::config::{ChainConfig, DatabaseConfig, OpsConfig};
use warden_runtime::node_api::SyncProgress;
use warden_runtime::service::ServiceRuntime;
use warden_store::challenger::ClaimState;
use warden_store::cursor::ChainCursor;
use warden_testkit::{only_event, wait_until};

/// The development account the watchtower under test signs with: no devnet role uses it.
const CHALLENGER_ACCOUNT: usize = 5;

/// Waits until the devnet's first task is committed: the moment a watchtower has to judge.
async fn wait_until_first_task_committed<P: alloy::providers::Provider>(
    task_manager: &WardenTaskManager::WardenTaskManagerInstance<P>,
    what: &str,
) {
    wait_until(what, Duration::from_secs(120), || async {
        task_manager.taskCount().call().await.unwrap() >= 1
            && TaskState::try_from(task_manager.getTask(1).call().await.unwrap().state)
                == Ok(TaskState::Committed)
    })
    .await
    .unwrap();
}

/// Runs the agent loop without the devnet's own challenger until one task is final, in the
/// background, with `byzantine` operators signing thefts.
fn run_one_tick(
    mut devnet: Devnet,
    byzantine: Vec<usize>,
) -> tokio::task::JoinHandle<(Devnet, Result<(), warden_devnet::DevnetError>)> {
    let mut ticks = TickConfig::new(1);
    ticks.byzantine_operators = byzantine;
    ticks.challenger = false;
    ticks.timeout = Duration::from_secs(240);
    tokio::spawn(async move {
        let result = devnet.run_ticks(ticks, |line| eprintln!("{line}")).await;
        (devnet, result)
    })
}

/// A configuration watching `devnet` from its current block, with its state in a SQLite file
/// of the devnet's data directory.
async fn challenger_config(devnet: &Devnet) -> ChallengerConfig {
    let keystore = devnet
        .deployment()
        .dev_keystore(CHALLENGER_ACCOUNT)
        .await
        .unwrap();
    let chain = ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let any_port = ([127, 0, 0, 1], 0).into();
    ChallengerConfig {
        chain: ChainConfig {
            rpc_url: devnet.deployment().rpc_url().parse().unwrap(),
            fallback_rpc_urls: Vec::new(),
            task_manager: devnet.summary().deployment.app.task_manager,
            poll_interval_ms: 100,
            rpc_attempts: 5,
            deployment: None,
            deployed_at_block: 0,
        },
        challenger: WatchtowerConfig {
            start_block: chain.get_block_number().await.unwrap(),
            ..WatchtowerConfig::default()
        },
        agent: warden_runtime::config::AgentSection::reference(
            devnet.summary().deployment.market.router,
        ),
        database: DatabaseConfig {
            url: devnet
                .deployment()
                .data_dir()
                .join("watchtower.db")
                .display()
                .to_string(),
        },
        ops: OpsConfig {
            metrics_listen: any_port,
            node_api_listen: any_port,
            node_name: None,
        },
        keys: KeysConfig {
            ecdsa_keystore: keystore.keystore,
            bls_keystore: None,
            password_file: Some(keystore.password_file),
        },
        transactions: Default::default(),
    }
}

/// Both tests' challenge window, in blocks: long enough that a watchtower restarted, or looking
/// late, is still inside it.
const CHALLENGE_WINDOW: u32 = 150;

/// What both tests start from: a devnet of four operators with a [`CHALLENGE_WINDOW`] window,
/// where its contracts are, and the watchtower's key and configuration.
struct Setup {
    devnet: Devnet,
    rpc_url: alloy::transports::http::reqwest::Url,
    task_manager_address: Address,
    challenges_address: Address,
    challenger_key: PrivateKeySigner,
    config: ChallengerConfig,
}

async fn start_devnet() -> Setup {
    let mut config = DevnetConfig::new(4);
    config.deployment.app.challenge_window = CHALLENGE_WINDOW;
    let devnet = Devnet::start(config).await.unwrap();
    let app = &devnet.summary().deployment.app;
    Setup {
        rpc_url: devnet.deployment().rpc_url().parse().unwrap(),
        task_manager_address: app.task_manager,
        challenges_address: app.challenges,
        challenger_key: devnet.deployment().dev_key(CHALLENGER_ACCOUNT).unwrap(),
        config: challenger_config(&devnet).await,
        devnet,
    }
}

/// A watchtower for `config`, as the service builds it, to be stepped by the test.
async fn watchtower(
    config: &ChallengerConfig,
    key: PrivateKeySigner,
    agent: Arc<dyn Agent>,
) -> (ServiceRuntime, Watchtower) {
    launch::build(config, key, agent, Arc::new(SyncProgress::default()))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_restarted_challenger_catches_up_and_challenges_before_the_deadline() {
    // The window is long enough that the restart below happens well inside it.
    let setup = start_devnet().await;
    let agent: Arc<dyn Agent> = setup.devnet.deployment().shared_agent();
    let challenger = setup.challenger_key.address();

    // First life: the watchtower judges everything up to now, keeps its cursor and goes down.
    let provider = ProviderBuilder::new().connect_http(setup.rpc_url.clone());
    let (runtime, first) =
        watchtower(&setup.config, setup.challenger_key.clone(), agent.clone()).await;
    first.sync().await.unwrap();
    let cursor = ChainCursor::new(runtime.store.clone(), follower_name(challenger));
    let down_at = cursor.last().await.unwrap().unwrap().number;
    drop(first);
    runtime.store.close().await;
    drop(runtime);

    // While it is down, three byzantine operators commit a theft.
    let loop_handle = run_one_tick(setup.devnet, vec![0, 1, 2]);
    let task_manager = WardenTaskManager::new(setup.task_manager_address, &provider);
    wait_until_first_task_committed(&task_manager, "the theft to be committed").await;
    let task = task_manager.getTask(1).call().await.unwrap();
    let commit_block = u64::from(task.deadline) - u64::from(CHALLENGE_WINDOW);
    assert!(
        commit_block > down_at,
        "the commitment must happen while the watchtower is down"
    );

    // Second life: a new watchtower on the same database resumes from the cursor.
    let (runtime, second) = watchtower(&setup.config, setup.challenger_key, agent).await;
    let cursor = ChainCursor::new(runtime.store.clone(), follower_name(challenger));
    assert_eq!(cursor.last().await.unwrap().unwrap().number, down_at);
    second.sync().await.unwrap();
    wait_until("the challenge", Duration::from_secs(60), || async {
        second.sync().await.unwrap();
        TaskState::try_from(task_manager.getTask(1).call().await.unwrap().state)
            == Ok(TaskState::Fraudulent)
    })
    .await
    .unwrap();
    let challenges = WardenChallenges::new(setup.challenges_address, &provider);
    let (event, log) = only_event(&challenges.ChallengeUpheld_filter().from_block(commit_block))
        .await
        .unwrap();
    assert_eq!(event.challenger, challenger);
    assert!(log.block_number.unwrap() <= u64::from(task.deadline));

    // It keeps going until every signer is slashed, recording its progress in the claim.
    wait_until("slashing to complete", Duration::from_secs(60), || async {
        second.sync().await.unwrap();
        second.claims().get(1).await.unwrap().unwrap().state == ClaimState::Slashed
    })
    .await
    .unwrap();
    assert!(challenges.slashingProgress(1).call().await.unwrap().done);
    assert!(second.claims().unfinished().await.unwrap().is_empty());
    assert!(provider.get_block_number().await.unwrap() > commit_block);

    let (devnet, result) = loop_handle.await.unwrap();
    result.unwrap();
    assert_eq!(devnet.summary().tasks[0].state, "fraudulent");
}

#[tokio::test]
async fn a_watchtower_whose_agent_is_wrong_never_challenges_a_correct_output() {
    // The window is long enough that the output is still challengeable when the watchtower
    // looks at it.
    let setup = start_devnet().await;
    // A watchtower running a broken agent: it claims the honest agent's hash but decides
    // differently, so it disagrees with every honest output.
    let broken: Arc<dyn Agent> = Arc::new(ThievingAgent::new(
        setup.devnet.deployment().shared_agent(),
        setup.devnet.summary().deployment.market.router,
        THIEF,
        U256::MAX,
    ));
    let challenger = setup.challenger_key.address();
    let (runtime, watchtower) = watchtower(&setup.config, setup.challenger_key, broken).await;

    let loop_handle = run_one_tick(setup.devnet, Vec::new());
    let provider = ProviderBuilder::new().connect_http(setup.rpc_url);
    let task_manager = WardenTaskManager::new(setup.task_manager_address, &provider);
    wait_until_first_task_committed(&task_manager, "the honest output to be committed").await;
    let balance_before = provider.get_balance(challenger).await.unwrap();

    watchtower.sync().await.unwrap();

    // It judged the commitment (its cursor is past it) and found it wrong, but sent nothing: the
    // simulated challenge would have been rejected, so the bond was never put up.
    let task = task_manager.getTask(1).call().await.unwrap();
    let commit_block = u64::from(task.deadline) - u64::from(CHALLENGE_WINDOW);
    let cursor = ChainCursor::new(runtime.store.clone(), follower_name(challenger));
    assert!(cursor.last().await.unwrap().unwrap().number >= commit_block);
    let claim = watchtower.claims().get(1).await.unwrap().unwrap();
    assert_eq!(claim.state, ClaimState::Closed, "{claim:?}");
    assert!(claim.detail.starts_with("withheld"), "{claim:?}");
    assert_eq!(TaskState::try_from(task.state), Ok(TaskState::Committed));
    assert_eq!(
        provider.get_balance(challenger).await.unwrap(),
        balance_before
    );
    assert_eq!(
        provider.get_transaction_count(challenger).await.unwrap(),
        0,
        "no transaction was sent"
    );
    let rejected = WardenChallenges::new(setup.challenges_address, &provider)
        .ChallengeRejected_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");

    let (devnet, result) = loop_handle.await.unwrap();
    result.unwrap();
    assert_eq!(devnet.summary().tasks[0].state, "executed");
    assert_eq!(
        provider.get_transaction_count(challenger).await.unwrap(),
        0,
        "no transaction was sent"
    );
}
