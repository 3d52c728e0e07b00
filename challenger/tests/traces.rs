//! The watchtower against a large agent (issue 14), in this process, on a devnet: a small
//! generated network registered beside the devnet's reference agent, with its own verifier (the
//! factory's `deployNetworkVerifier`) and vault. The test commits its outputs and activation
//! traces itself, signed with the devnet operators' BLS keys, so it decides exactly which run each
//! commitment claims; the watchtower is built as the service builds it and stepped with `sync`.
//!
//! - A corrupt quorum commits a run with one hidden neuron changed and carried through: the
//!   watchtower reads the trace from the `commitOutput` calldata, finds the chunk where the run
//!   departs, commits to the challenge, proves that one step in one `challengeTrace` transaction
//!   (earning the bounty: its seal covered the step) and slashes the three signers.
//! - A watchtower restarted between committing to that challenge and revealing it proves the lie
//!   from its claim (and the trace kept with it) alone.
//! - A commitment without a trace is too short a run for a large agent: proved by its length.
//! - An honest traced commitment is left alone: no claim, no transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::Transaction as _;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolCall;
use common::wait_for;
use warden_agent::features::{PRICE_MATRIX_WIDTH, price_matrix};
use warden_agent::network::{Network, chunk_hash, output_chunk};
use warden_agent::{Agent, AgentInput, FraudStep, NUM_ACTIONS, NetworkAgent, Params};
use warden_bindings::task_manager::WardenTaskManager::AgentConfig;
use warden_bindings::tx::confirm;
use warden_bindings::{
    MlpVerifierFactory, UniswapV2InputSource, WardenChallenges, WardenTaskManager, WardenVault,
};
use warden_challenger::trace::{sealed_step, trace_step};
use warden_challenger::{Verdict, Watchtower, launch};
use warden_deployer::app::deploy_verifier;
use warden_deployer::market::{self, NoiseTrader};
use warden_devnet::{Devnet, DevnetConfig};
use warden_keys::OperatorKeys;
use warden_protocol::{NO_TRACE, OutputAttestation, TaskState, trace_hash};
use warden_runtime::node_api::SyncProgress;
use warden_runtime::service::ServiceRuntime;
use warden_store::challenger::ClaimState;
use warden_store::testing::TestDatabase;
use warden_testkit::only_event;
use warden_txm::Intent;

warden_store::on_both_backends!(
    a_traced_lie_is_proved_by_one_challenge_trace_and_its_signers_slashed
);

/// The development account the watchtower signs with: no devnet role uses it.
const CHALLENGER_ACCOUNT: usize = 5;
/// The development account owning the large agent's vault.
const VAULT_OWNER_ACCOUNT: usize = 6;
/// The development account moving the price between the large agent's observations.
const TRADER_ACCOUNT: usize = 7;

/// A devnet with a large agent registered beside its reference agent.
struct LargeAgentDevnet {
    devnet: Devnet,
    deployer: DynProvider,
    agent: Arc<NetworkAgent>,
    agent_id: u64,
    verifier: Address,
    keys: Vec<OperatorKeys>,
}

impl LargeAgentDevnet {
    /// Four operators, and the large agent: 256 → 8 → 8 (residual) → 3 in chunks of four
    /// neurons (five chunk hashes), with 17 observations of a moving price behind it.
    async fn start() -> Self {
        let devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
        let deployment = devnet.deployment();
        let summary = deployment.summary().clone();
        let rpc_url = deployment.endpoint_url();
        let deployer = warden_txm::signing_provider(rpc_url.clone(), deployment.deployer().clone());

        let network = Network::generate(PRICE_MATRIX_WIDTH, &[8, 8, 3], &[1], 4, 14).unwrap();
        let params = Params::reference(summary.market.router);
        let agent = Arc::new(NetworkAgent::new(network, params).unwrap());

        let factory = MlpVerifierFactory::new(summary.app.verifier_factory, &deployer);
        let verifier = deploy_verifier(&factory, agent.as_ref(), summary.market.router)
            .await
            .unwrap();
        assert_ne!(verifier, Address::ZERO);

        // Its own vault: the task manager runs one agent per vault, registered by its owner.
        let owner_key = deployment.dev_key(VAULT_OWNER_ACCOUNT).unwrap();
        let owner_address = owner_key.address();
        let owner = warden_txm::signing_provider(rpc_url.clone(), owner_key);
        let task_manager = summary.app.task_manager;
        let vault = WardenVault::deploy(owner.clone(), owner_address, task_manager, 4_000)
            .await
            .unwrap();
        let app = DevnetConfig::new(4).deployment.app;
        let receipt = confirm(
            "registerAgent",
            WardenTaskManager::new(task_manager, &owner)
                .registerAgent(AgentConfig {
                    agentHash: agent.agent_hash(),
                    verifier,
                    vault: *vault.address(),
                    inputSource: summary.app.input_source,
                    tokenBase: summary.market.weth,
                    tokenQuote: summary.market.dollar,
                    thresholdBps: app.threshold_bps,
                    responseWindow: app.response_window,
                    challengeWindow: app.challenge_window,
                    tickInterval: app.tick_interval,
                    taskFee: alloy::primitives::Uint::ZERO,
                })
                .send()
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        let agent_id = receipt
            .decoded_log::<WardenTaskManager::AgentRegistered>()
            .unwrap()
            .agentId;

        // A snapshot needs 17 observations; trades in between give the network a price history
        // with something in it.
        let mut trader = NoiseTrader::new(
            rpc_url,
            deployment.dev_key(TRADER_ACCOUNT).unwrap(),
            summary.market,
            7,
        );
        market::fund(
            &deployer,
            &summary.market,
            trader.address(),
            market::whole(50),
            market::whole(150_000),
        )
        .await
        .unwrap();
        trader.approve().await.unwrap();
        let input_source = UniswapV2InputSource::new(summary.app.input_source, &deployer);
        for _ in 0..=warden_agent::HISTORY_LEN {
            trader.trade().await.unwrap();
            confirm(
                "observe",
                input_source.observe(agent_id).send().await.unwrap(),
            )
            .await
            .unwrap();
        }
        let keys = deployment.operator_keys().unwrap();
        Self {
            devnet,
            deployer,
            agent,
            agent_id,
            verifier,
            keys,
        }
    }

    fn task_manager(&self) -> WardenTaskManager::WardenTaskManagerInstance<&DynProvider> {
        WardenTaskManager::new(
            self.devnet.summary().deployment.app.task_manager,
            &self.deployer,
        )
    }

    fn challenges(&self) -> WardenChallenges::WardenChallengesInstance<&DynProvider> {
        WardenChallenges::new(
            self.devnet.summary().deployment.app.challenges,
            &self.deployer,
        )
    }

    /// A watchtower running the large agent, judging from the current block, with its state in
    /// `db`, as the service builds it.
    async fn watchtower(&self, db: &TestDatabase) -> (ServiceRuntime, Watchtower) {
        let head = self.deployer.get_block_number().await.unwrap();
        let mut config = self.devnet.deployment().challenger_config(head);
        config.database.url = db.url().to_string();
        config.chain.poll_interval_ms = 100;
        config.transactions.poll_interval_ms = 100;
        let key = self
            .devnet
            .deployment()
            .dev_key(CHALLENGER_ACCOUNT)
            .unwrap();
        let agent: Arc<dyn Agent> = self.agent.clone();
        launch::build(&config, key, agent, Arc::new(SyncProgress::default()))
            .await
            .unwrap()
    }

    async fn open_task(&self) -> (WardenTaskManager::TaskOpened, AgentInput) {
        let receipt = confirm(
            "openTask",
            self.task_manager()
                .openTask(self.agent_id)
                .send()
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        let task = receipt
            .decoded_log::<WardenTaskManager::TaskOpened>()
            .unwrap()
            .data;
        let input = AgentInput::decode(&task.input).unwrap();
        (task, input)
    }

    /// Commits `output` with `trace` for `task`, signed by the operators `signers` over both
    /// hashes, as a quorum's aggregator would (a direct `commitOutput` call); returns its block.
    async fn commit(
        &self,
        task: &WardenTaskManager::TaskOpened,
        output: &Bytes,
        trace: &[B256],
        signers: &[usize],
    ) -> u64 {
        let summary = self.devnet.summary();
        let digest = OutputAttestation {
            chain_id: summary.deployment.chain_id,
            task_manager: summary.deployment.app.task_manager,
            task_id: task.taskId,
            agent_id: self.agent_id,
            agent_hash: self.agent.agent_hash(),
            verifier: self.verifier,
            input_hash: task.inputHash,
            output_hash: keccak256(output),
            trace_hash: trace_hash(trace),
            reference_block: task.referenceBlock,
        }
        .digest();
        let (non_signers, aggregate) = common::quorum_signature(&self.keys, signers, digest);
        let receipt = confirm(
            "commitOutput",
            self.task_manager()
                .commitOutput(
                    task.taskId,
                    output.clone(),
                    trace.to_vec(),
                    non_signers,
                    aggregate,
                )
                .send()
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        receipt.block_number.unwrap()
    }

    async fn state(&self, task_id: u64) -> TaskState {
        TaskState::try_from(
            self.task_manager()
                .getTask(task_id)
                .call()
                .await
                .unwrap()
                .state,
        )
        .unwrap()
    }
}

/// A run of the large agent on `input` with neuron `neuron` of hidden layer `layer` changed and
/// every later layer computed from the change, as the network computes it: the output it decodes
/// to and its trace. Its trace departs from the honest one first at the changed neuron's chunk.
fn carried_through(
    agent: &NetworkAgent,
    input: &AgentInput,
    layer: usize,
    neuron: usize,
) -> (Bytes, Vec<B256>) {
    let network = agent.network();
    let features = price_matrix(input).unwrap();
    let mut hidden = network.evaluate(&features).unwrap().hidden;
    hidden[layer][neuron] = if hidden[layer][neuron] == 0 { 90 } else { 0 };
    let rows = network.chunk_rows();
    let shapes = network.layers();
    let mut trace = Vec::new();
    let mut logits = [0i32; NUM_ACTIONS];
    for (index, shape) in shapes.iter().enumerate() {
        let last = index + 1 == shapes.len();
        let values: Vec<u8> = if index <= layer {
            hidden[index].iter().map(|&v| v as u8).collect()
        } else {
            let layer_input = hidden[index - 1].clone();
            let step = network.step(index).unwrap();
            (0..shape.chunks(rows))
                .flat_map(|chunk| {
                    let weights = network.weight_chunk(index, chunk).unwrap();
                    output_chunk(&step, chunk * rows, &layer_input, weights).unwrap()
                })
                .collect()
        };
        let width = if last { 4 } else { 1 };
        for (chunk, slice) in values.chunks(rows * width).enumerate() {
            trace.push(chunk_hash(index as u16, chunk as u32, slice));
        }
        if last {
            for (logit, bytes) in logits.iter_mut().zip(values.chunks(4)) {
                *logit = i32::from_be_bytes(bytes.try_into().unwrap());
            }
        } else {
            hidden[index] = values.iter().map(|&v| v as i8).collect();
        }
    }
    let output = agent.decode(logits, input).encode();
    (Bytes::from(output.to_vec()), trace)
}

/// Steps `watchtower` until `task_id` is in `state`.
async fn sync_until(
    setup: &LargeAgentDevnet,
    watchtower: &Watchtower,
    task_id: u64,
    state: TaskState,
) {
    wait_for(
        &format!("task {task_id} to be {state:?}"),
        Duration::from_secs(120),
        || async {
            watchtower.sync().await.unwrap();
            setup.state(task_id).await == state
        },
    )
    .await;
}

/// Steps `watchtower` until its claim on `task_id` is slashed: every signer slashed and their
/// slashes cleared to the restitution contract.
async fn sync_until_slashed(watchtower: &Watchtower, task_id: u64) {
    wait_for(
        "the signers to be slashed",
        Duration::from_secs(120),
        || async {
            watchtower.sync().await.unwrap();
            watchtower
                .claims()
                .get(task_id)
                .await
                .unwrap()
                .is_some_and(|claim| claim.state == ClaimState::Slashed)
        },
    )
    .await;
}

/// The `challengeTrace` call the transaction `tx_hash` made, read back from the chain.
async fn challenge_trace_call(
    setup: &LargeAgentDevnet,
    tx_hash: alloy::primitives::B256,
) -> WardenChallenges::challengeTraceCall {
    let sent = setup
        .deployer
        .get_transaction_by_hash(tx_hash)
        .await
        .unwrap()
        .expect("the challenge transaction");
    WardenChallenges::challengeTraceCall::abi_decode(sent.input()).unwrap()
}

/// The one challenge the watchtower sent for `task_id`: its first attempt, successful on chain,
/// and no second; with the transaction's receipt.
async fn the_only_challenge(
    setup: &LargeAgentDevnet,
    watchtower: &Watchtower,
    task_id: u64,
) -> (warden_txm::TxRecord, TransactionReceipt) {
    let txm = watchtower.transactions();
    let first = txm
        .lookup(&Intent::Challenge {
            task_id,
            attempt: 0,
        })
        .await
        .unwrap()
        .expect("a challenge on record");
    // The chain's word: the record is marked mined when its waiter next looks.
    let receipt = setup
        .deployer
        .get_transaction_receipt(first.tx_hash)
        .await
        .unwrap()
        .expect("the challenge is mined");
    assert!(receipt.status(), "{receipt:?}");
    assert!(
        txm.lookup(&Intent::Challenge {
            task_id,
            attempt: 1
        })
        .await
        .unwrap()
        .is_none(),
        "one challenge transaction"
    );
    (first, receipt)
}

async fn a_traced_lie_is_proved_by_one_challenge_trace_and_its_signers_slashed(db: &TestDatabase) {
    let setup = LargeAgentDevnet::start().await;
    let (runtime, watchtower) = setup.watchtower(db).await;
    watchtower.sync().await.unwrap();
    let challenges = setup.challenges();

    // Three of four operators (above the 2/3 threshold) sign a run with the first neuron of the
    // second hidden layer changed and carried through to the logits.
    let (task, input) = setup.open_task().await;
    let honest = setup.agent.decide_traced(&input).unwrap();
    let (lie, lie_trace) = carried_through(&setup.agent, &input, 1, 0);
    assert_eq!(lie_trace.len(), honest.trace.len());
    assert_eq!(
        lie_trace[..2],
        honest.trace[..2],
        "layer 0 is the honest one"
    );
    assert_ne!(lie_trace[2], honest.trace[2]);
    let step = setup
        .agent
        .find_fraud(&input, &lie, &lie_trace)
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            step,
            FraudStep::OutputChunk {
                layer: 1,
                chunk: 0,
                ..
            }
        ),
        "{step:?}"
    );
    let shown = trace_step(&step).unwrap();
    let commit_block = setup.commit(&task, &lie, &lie_trace, &[0, 1, 2]).await;

    sync_until(&setup, &watchtower, task.taskId, TaskState::Fraudulent).await;

    // One challengeTrace transaction, showing the first chunk the lie departs at, upheld; the
    // bounty was paid: the watchtower committed to the challenge first, sealing the step.
    let (challenge, receipt) = the_only_challenge(&setup, &watchtower, task.taskId).await;
    let call = challenge_trace_call(&setup, challenge.tx_hash).await;
    assert_eq!(call.taskId, task.taskId);
    assert_eq!(call.trace, lie_trace);
    assert_eq!(call.step, shown);
    assert_eq!(call.step.layerInput.len(), 8, "layer 0's whole output");
    let (upheld, log) = only_event(&challenges.ChallengeUpheld_filter().from_block(commit_block))
        .await
        .unwrap();
    assert_eq!(log.transaction_hash, Some(challenge.tx_hash));
    assert_eq!(upheld.challenger, watchtower.address());
    assert_eq!(upheld.expectedOutputHash, sealed_step(&shown));
    let bond = challenges.challengeBond().call().await.unwrap();
    let bounty = challenges.challengeBounty().call().await.unwrap();
    assert_eq!(upheld.payout, bond + bounty, "the bounty was earned");
    eprintln!(
        "challengeTrace of a {}-hash trace, {} step (layer {}, chunk {}, {} weight bytes, {} siblings): {} gas",
        call.trace.len(),
        warden_challenger::trace::step_kind(&step),
        call.step.layer,
        call.step.chunk,
        call.step.weights.len(),
        call.step.siblings.len(),
        receipt.gas_used
    );

    let claim = watchtower.claims().get(task.taskId).await.unwrap().unwrap();
    assert_eq!(claim.committed_output_hash, keccak256(&lie));
    assert_eq!(claim.expected_output_hash, sealed_step(&shown));
    assert_eq!(
        watchtower.claims().trace(task.taskId).await.unwrap(),
        Some(lie_trace.clone()),
        "the claim keeps the committed trace"
    );

    // Then it slashes the three signers and clears their slashes.
    sync_until_slashed(&watchtower, task.taskId).await;
    assert!(
        challenges
            .slashingProgress(task.taskId)
            .call()
            .await
            .unwrap()
            .done
    );
    let slashed = challenges
        .SignerSlashed_filter()
        .topic1(U256::from(task.taskId))
        .from_block(commit_block)
        .query()
        .await
        .unwrap();
    let mut slashed: Vec<Address> = slashed.iter().map(|(event, _)| event.operator).collect();
    slashed.sort();
    let mut signers: Vec<Address> = setup.devnet.summary().deployment.operators[..3]
        .iter()
        .map(|operator| operator.address)
        .collect();
    signers.sort();
    assert_eq!(slashed, signers);

    let metrics = runtime.telemetry.encode();
    for line in [
        "warden_challenger_trace_frauds_total{step=\"output_chunk\"} 1",
        "warden_challenger_commitments_total{verdict=\"wrong\"} 1",
        "warden_challenger_challenges_total{result=\"upheld\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

/// The claim is on record, with its trace, before anything is sent: a watchtower that stopped
/// after it committed to the challenge and before revealing it is replaced by one that never
/// judges the commitment (it starts after it). The new one rebuilds the evidence from the task's
/// events and the claim's trace, recomputes the same step, and reveals it: the bounty is paid, so
/// its step is the one the first life sealed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_watchtower_proves_a_traced_lie_from_its_claim() {
    let db = TestDatabase::sqlite();
    let setup = LargeAgentDevnet::start().await;
    let (task, input) = setup.open_task().await;
    let (lie, lie_trace) = carried_through(&setup.agent, &input, 0, 5);
    let step = setup
        .agent
        .find_fraud(&input, &lie, &lie_trace)
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            step,
            FraudStep::OutputChunk {
                layer: 0,
                chunk: 1,
                ..
            }
        ),
        "{step:?}"
    );
    let shown = trace_step(&step).unwrap();

    // First life: it judges the lie, records the claim and commits to its challenge.
    let (runtime, first) = setup.watchtower(&db).await;
    setup.commit(&task, &lie, &lie_trace, &[0, 1, 2]).await;
    let (committed, log) = warden_bindings::task_facts::committed_event(
        &setup.deployer,
        setup.devnet.summary().deployment.app.task_manager,
        task.taskId,
        task.referenceBlock + 1,
    )
    .await
    .unwrap();
    assert_eq!(
        first.judge(&committed, &log).await.unwrap(),
        Verdict::WrongRun("output_chunk (layer 0, chunk 1)".into())
    );
    let txm = first.transactions();
    let commitment = txm
        .lookup(&Intent::CommitChallenge {
            task_id: task.taskId,
            attempt: 0,
        })
        .await
        .unwrap()
        .expect("the challenge committed to");
    assert!(
        txm.lookup(&Intent::Challenge {
            task_id: task.taskId,
            attempt: 0
        })
        .await
        .unwrap()
        .is_none(),
        "not revealed yet"
    );
    drop(first);
    runtime.store.close().await;
    drop(runtime);

    // Second life, from a block after the commitment: only the claim tells it about the lie.
    wait_for(
        "the commitment to be mined",
        Duration::from_secs(30),
        || async {
            setup
                .deployer
                .get_transaction_receipt(commitment.tx_hash)
                .await
                .unwrap()
                .is_some()
        },
    )
    .await;
    let (_runtime, second) = setup.watchtower(&db).await;
    sync_until(&setup, &second, task.taskId, TaskState::Fraudulent).await;
    let (challenge, _) = the_only_challenge(&setup, &second, task.taskId).await;
    let call = challenge_trace_call(&setup, challenge.tx_hash).await;
    assert_eq!(call.step, shown);
    let challenges = setup.challenges();
    let (upheld, _) = only_event(&challenges.ChallengeUpheld_filter().from_block(0))
        .await
        .unwrap();
    let bond = challenges.challengeBond().call().await.unwrap();
    let bounty = challenges.challengeBounty().call().await.unwrap();
    assert_eq!(
        upheld.payout,
        bond + bounty,
        "revealed what the first life committed to"
    );
    sync_until_slashed(&second, task.taskId).await;
}

/// A commitment of a large agent that binds no trace (as a reference agent's would) is a run of
/// the wrong length: `find_fraud` says so, and `challengeTrace` proves it with the step of kind
/// `TRACE_LENGTH`, whatever the output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traceless_commitment_of_a_large_agent_is_proved_by_its_length() {
    let db = TestDatabase::sqlite();
    let setup = LargeAgentDevnet::start().await;
    let (runtime, watchtower) = setup.watchtower(&db).await;
    watchtower.sync().await.unwrap();

    let (task, input) = setup.open_task().await;
    let honest = setup.agent.decide_traced(&input).unwrap();
    let output = Bytes::from(honest.action.encode().to_vec());
    setup.commit(&task, &output, &[], &[0, 1, 2]).await;
    sync_until(&setup, &watchtower, task.taskId, TaskState::Fraudulent).await;

    let (challenge, _) = the_only_challenge(&setup, &watchtower, task.taskId).await;
    let call = challenge_trace_call(&setup, challenge.tx_hash).await;
    assert!(call.trace.is_empty());
    assert_eq!(call.step.kind, 0, "TRACE_LENGTH");
    let metrics = runtime.telemetry.encode();
    let line = "warden_challenger_trace_frauds_total{step=\"trace_length\"} 1";
    assert!(metrics.contains(line), "{line} in {metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_traced_commitment_is_left_alone() {
    let db = TestDatabase::sqlite();
    let setup = LargeAgentDevnet::start().await;
    let (runtime, watchtower) = setup.watchtower(&db).await;
    watchtower.sync().await.unwrap();

    let (task, input) = setup.open_task().await;
    let honest = setup.agent.decide_traced(&input).unwrap();
    assert_eq!(honest.trace.len(), 5);
    assert_ne!(trace_hash(&honest.trace), NO_TRACE);
    let output = Bytes::from(honest.action.encode().to_vec());
    setup
        .commit(&task, &output, &honest.trace, &[0, 1, 2, 3])
        .await;

    // Judged through the commitment's block: its trace read from the calldata and found to be
    // the agent's own run.
    let (committed, log) = warden_bindings::task_facts::committed_event(
        &setup.deployer,
        setup.devnet.summary().deployment.app.task_manager,
        task.taskId,
        task.referenceBlock + 1,
    )
    .await
    .unwrap();
    assert_eq!(committed.traceHash, trace_hash(&honest.trace));
    assert_eq!(
        watchtower.judge(&committed, &log).await.unwrap(),
        Verdict::Correct
    );
    watchtower.sync().await.unwrap();

    assert_eq!(watchtower.claims().get(task.taskId).await.unwrap(), None);
    assert_eq!(setup.state(task.taskId).await, TaskState::Committed);
    assert_eq!(
        setup
            .deployer
            .get_transaction_count(watchtower.address())
            .await
            .unwrap(),
        0,
        "nothing was sent"
    );
    let metrics = runtime.telemetry.encode();
    for line in [
        "warden_challenger_commitments_total{verdict=\"correct\"} 1",
        "warden_challenger_trace_frauds_total{step=\"output_chunk\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}
