//! The aggregator service: the HTTP intake ([`api`], [`admission`]), the committer that
//! submits `commitOutput` when an output reaches the threshold ([`committer`]), and the keeper
//! that opens tasks every tick and executes them once their challenge window has passed
//! ([`keeper`]), after picking up what a previous run left ([`recovery`]).
//!
//! Nothing it learns lives only in memory. A task is on record before its first signature is
//! acknowledged; a signature is on record before the operator hears `202 Accepted`; a quorum is
//! on record (with the transaction intent that will carry it) before anything is sent; and every
//! transaction goes through the transaction manager, which records it before broadcasting. A
//! restarted aggregator rebuilds its intake from the records, resumes the submission in flight
//! under the same intent (so it is never sent twice) and keeps the tasks it was keeping.

mod admission;
mod api;
mod committer;
mod keeper;
mod recovery;
mod rewards;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::sol_types::SolCall;
use tokio::sync::Mutex;
use warden_bindings::task_facts;
use warden_bindings::task_manager::WardenTaskManager::{AgentConfig, getTaskCall};
use warden_bindings::{WardenRegistry, WardenTaskManager};
use warden_protocol::api::MAX_SUBMISSION_BYTES;
use warden_protocol::{TaskState, UnknownTaskState};
use warden_runtime::allowlist::{AgentAllowlist, VerifierCheck};
use warden_runtime::node_api::SyncProgress;
use warden_runtime::service::ServiceRuntime;
use warden_store::StoreError;
use warden_store::aggregator::{AggregatorStore, SubmissionRecord};
use warden_txm::{TxError, TxManager};

use crate::OperatorSet;
use crate::intake::Intake;
use crate::metrics::AggregatorMetrics;
use crate::verifier::Verifier;

/// The failpoint after a quorum is on record, before its transaction exists.
pub const FAILPOINT_AFTER_QUORUM: &str = "aggregator-after-quorum";
/// The failpoint after the commitment's transaction is broadcast, before its receipt.
pub const FAILPOINT_DURING_SUBMISSION: &str = "aggregator-during-submission";

/// The most signatures verified in one batch: a forged one among them costs a bisection, so
/// batches stay small enough that a flood of forgeries cannot make one verdict wait long.
const MAX_VERIFICATION_BATCH: usize = 256;

/// Operator sets are kept for reference blocks this far behind the newest one asked for: well
/// beyond any task's response window.
const KEPT_SET_BLOCKS: u32 = 10_000;

/// How the aggregator runs.
#[derive(Debug, Clone)]
pub struct AggregatorSettings {
    pub task_manager: Address,
    /// Where the HTTP intake listens.
    pub listen: SocketAddr,
    /// Agents to keep: open their tasks every tick and execute them when final.
    pub keeper_agents: Vec<u64>,
    /// Blocks a keeper duty may be overdue before this aggregator does it (a standby's margin).
    pub standby_blocks: u64,
    /// The agents served (see [`crate::config::AggregatorSection::allowlist`]).
    pub allowlist: AgentAllowlist,
    pub poll_interval: Duration,
    /// The API's header-read timeout and connection cap.
    pub http: warden_runtime::http::HttpLimits,
    /// How long a reached quorum waits for late signers.
    pub quorum_grace: QuorumGrace,
}

/// How long a quorum that reached the threshold waits for the operators still signing: until
/// `wait` has passed or `blocks` new blocks were mined, whichever comes first (or until every
/// operator signed), and never when the response window is about to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumGrace {
    pub wait: Duration,
    pub blocks: u64,
}

/// A quorum on record, with the output it commits (`None`: to be read from the signatures on
/// record).
#[derive(Debug, Clone)]
struct Pending {
    submission: SubmissionRecord,
    /// What it commits, when at hand; read back from the signatures on record otherwise.
    run: Option<SignedRun>,
}

/// The output and activation trace a quorum signed: what `commitOutput` sends.
#[derive(Debug, Clone)]
struct SignedRun {
    output: Bytes,
    trace: Vec<B256>,
}

/// A task as the task manager stores it (`getTask`).
type OnChainTask = <getTaskCall as SolCall>::Return;

/// The record of a task the aggregator starts following, read from the chain, with its input hash
/// (the task's own while it is open; a committed task keeps only its commitment hash, and the input
/// hash comes from its `TaskOpened`).
fn collecting(
    task_id: u64,
    task: &OnChainTask,
    input_hash: B256,
) -> warden_store::aggregator::TaskRecord {
    warden_store::aggregator::TaskRecord {
        task_id,
        agent_id: task.agentId,
        input_hash,
        reference_block: u64::from(task.referenceBlock),
        state: warden_store::aggregator::TaskState::Collecting,
        output_hash: None,
    }
}

/// What the aggregator learnt about a task from its own transactions (the input from the
/// `TaskOpened` of its `openTask`, the output and non-signers from its `commitOutput`), so that
/// executing it does not read them back from the chain's logs. A task it did not open or commit
/// itself (or one from before a restart) has them read from the logs once, then kept here too.
/// They are checked against the task's commitment hash before use.
#[derive(Debug, Clone, Default)]
struct KeptFacts {
    input: Option<Bytes>,
    output: Option<Bytes>,
    /// The commitment's trace hash (`warden_protocol::trace_hash`).
    trace_hash: Option<B256>,
    /// The commitment's non-signer hash (`warden_protocol::non_signer_hash`).
    non_signer_hash: Option<B256>,
    /// The vault refused the committed action by its owner's policy: not tried again.
    refused: Option<keeper::VaultRefusal>,
}

/// Shared state of the service.
#[derive(Debug)]
pub struct Aggregator {
    settings: AggregatorSettings,
    chain_id: u64,
    provider: DynProvider,
    registry: Address,
    txm: TxManager,
    records: AggregatorStore,
    metrics: AggregatorMetrics,
    intake: Arc<Mutex<Intake>>,
    /// Verifies each submission's signature and records it in the intake if it holds.
    verifier: Verifier,
    /// When each task's first signature arrived, for the quorum latency.
    first_signature: Mutex<HashMap<u64, Instant>>,
    /// Operator sets by reference block: every task of one block shares one, and the first
    /// submissions of a task, arriving together, share one read of it.
    sets: Mutex<HashMap<u32, Arc<tokio::sync::OnceCell<Arc<OperatorSet>>>>>,
    /// Tasks being set up from the chain, so that concurrent first submissions share one set-up.
    setups: Mutex<HashMap<u64, Arc<tokio::sync::OnceCell<()>>>>,
    /// What never changes about each registered operator, read once.
    identities: crate::operator_set::Identities,
    /// Quorums waiting for the keeper loop, which sends every transaction of this aggregator.
    ready: Mutex<Vec<Pending>>,
    wake: tokio::sync::Notify,
    /// Agent configurations never change once registered: read each from the chain once.
    agents: Mutex<HashMap<u64, AgentConfig>>,
    /// The allowlist's verifier code check, with what it has read.
    verifiers: VerifierCheck,
    /// The task manager's `commitFee` (immutable), read once.
    commit_fee: tokio::sync::OnceCell<U256>,
    /// Each kept agent's latest task the keeper has looked at for adoption (never held across an
    /// await).
    adopted: std::sync::Mutex<HashMap<u64, u64>>,
    /// Tasks the keeper follows until they are final.
    tracked: Mutex<BTreeSet<u64>>,
    /// Inputs and outputs of the tracked tasks, each read at most once.
    kept: Mutex<HashMap<u64, KeptFacts>>,
    /// The keeper's progress, for the node API.
    progress: Arc<SyncProgress>,
    /// The registry's rewards distributor, once it has one.
    rewards: tokio::sync::OnceCell<Address>,
    /// EigenLayer's calculation interval (immutable), read once.
    calculation_interval: tokio::sync::OnceCell<u64>,
    /// The task manager's fraud-proof window (immutable), read once.
    fraud_proof_window: tokio::sync::OnceCell<u32>,
    /// The first task whose fee may still need accruing.
    rewards_cursor: Mutex<u64>,
    /// What the keeper last logged about each refused transaction (never held across an await).
    refusals: std::sync::Mutex<keeper::RefusalLog>,
    /// Whether the keeper and the committer get their work done, for the node API.
    loops: crate::liveness::LoopHealth,
}

/// Errors of the service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("contract call failed: {0}")]
    Contract(Box<alloy::contract::Error>),
    /// The API cannot listen on `aggregator.listen` (one message, naming the key to change).
    #[error(transparent)]
    Bind(warden_runtime::ops::OpsError),
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
    #[error("reading the operator set: {0}")]
    OperatorSet(#[from] crate::OperatorSetError),
    #[error("the task manager reports task {task_id} in an {state}")]
    TaskState {
        task_id: u64,
        #[source]
        state: UnknownTaskState,
    },
    #[error(transparent)]
    Transaction(#[from] TxError),
    #[error(transparent)]
    TaskFacts(#[from] task_facts::TaskFactsError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Metrics(#[from] warden_runtime::metrics::MetricsError),
}

warden_runtime::boxed_contract_error!(ServiceError, Contract);

impl ServiceError {
    /// The API could not listen on `addr` (configured as `aggregator.listen`).
    pub(crate) fn bind(addr: SocketAddr, error: std::io::Error) -> Self {
        Self::Bind(warden_runtime::ops::OpsError {
            what: "the aggregator API",
            addr,
            key: "aggregator.listen",
            error,
        })
    }
}

impl Aggregator {
    /// Connects to the chain through `runtime`, sending its transactions with `txm`.
    pub async fn connect(
        settings: AggregatorSettings,
        txm: TxManager,
        runtime: &ServiceRuntime,
        progress: Arc<SyncProgress>,
    ) -> Result<Arc<Self>, ServiceError> {
        let provider = runtime.provider.clone();
        let chain_id = provider.get_chain_id().await?;
        let registry = WardenTaskManager::new(settings.task_manager, &provider)
            .registry()
            .call()
            .await?;
        let metrics =
            AggregatorMetrics::register(&runtime.telemetry, runtime.node_metrics.clone())?;
        let intake = Arc::new(Mutex::new(Intake::new(MAX_SUBMISSION_BYTES)));
        Ok(Arc::new(Self {
            verifiers: VerifierCheck::new(settings.allowlist.clone()),
            settings,
            chain_id,
            provider,
            registry,
            txm,
            records: AggregatorStore::new(runtime.store.clone()),
            metrics,
            verifier: Verifier::start(MAX_VERIFICATION_BATCH, Arc::clone(&intake)),
            intake,
            first_signature: Mutex::new(HashMap::new()),
            sets: Mutex::new(HashMap::new()),
            identities: crate::operator_set::Identities::default(),
            setups: Mutex::new(HashMap::new()),
            ready: Mutex::new(Vec::new()),
            wake: tokio::sync::Notify::new(),
            agents: Mutex::new(HashMap::new()),
            commit_fee: tokio::sync::OnceCell::new(),
            adopted: std::sync::Mutex::new(HashMap::new()),
            tracked: Mutex::new(BTreeSet::new()),
            kept: Mutex::new(HashMap::new()),
            progress,
            rewards: tokio::sync::OnceCell::new(),
            calculation_interval: tokio::sync::OnceCell::new(),
            fraud_proof_window: tokio::sync::OnceCell::new(),
            rewards_cursor: Mutex::new(1),
            refusals: std::sync::Mutex::new(keeper::RefusalLog::default()),
            loops: crate::liveness::LoopHealth::register(&runtime.telemetry)?,
        }))
    }

    /// The key that pays for commitments and keeper transactions.
    pub fn address(&self) -> Address {
        self.txm.address()
    }

    fn task_manager(&self) -> WardenTaskManager::WardenTaskManagerInstance<&DynProvider> {
        WardenTaskManager::new(self.settings.task_manager, &self.provider)
    }

    /// The task as the task manager stores it, with its state: the one place the chain's state
    /// number becomes a [`TaskState`].
    async fn task(&self, task_id: u64) -> Result<(TaskState, OnChainTask), ServiceError> {
        let task = self.task_manager().getTask(task_id).call().await?;
        let state = TaskState::try_from(task.state)
            .map_err(|state| ServiceError::TaskState { task_id, state })?;
        Ok((state, task))
    }

    fn count_database_error(&self, operation: &'static str, error: &StoreError) {
        self.metrics
            .node
            .database_errors
            .with_label_values(&[operation])
            .inc();
        tracing::error!(operation, %error, "database operation failed");
    }

    async fn agent(&self, agent_id: u64) -> Result<AgentConfig, alloy::contract::Error> {
        if let Some(agent) = self.agents.lock().await.get(&agent_id) {
            return Ok(agent.clone());
        }
        let agent = self.task_manager().getAgent(agent_id).call().await?;
        self.agents.lock().await.insert(agent_id, agent.clone());
        Ok(agent)
    }

    async fn commit_fee(&self) -> Result<U256, alloy::contract::Error> {
        self.commit_fee
            .get_or_try_init(|| async { self.task_manager().commitFee().call().await })
            .await
            .copied()
    }

    async fn operator_set(&self, block: u32) -> Result<Arc<OperatorSet>, ServiceError> {
        let (cell, earlier) = {
            let mut sets = self.sets.lock().await;
            // Sets of blocks long past serve no open task any more.
            sets.retain(|kept, _| kept.saturating_add(KEPT_SET_BLOCKS) >= block);
            let earlier = sets
                .iter()
                .filter(|(kept, _)| **kept < block)
                .filter_map(|(_, cell)| cell.get().cloned())
                .max_by_key(|set| set.block);
            (Arc::clone(sets.entry(block).or_default()), earlier)
        };
        let set = cell
            .get_or_try_init(|| async {
                if let Some(earlier) = earlier {
                    self.metrics.operator_set_calls.inc();
                    if let Some(same) = self.unchanged_since(&earlier, block).await {
                        self.metrics
                            .operator_set_reads
                            .with_label_values(&["unchanged"])
                            .inc();
                        return Ok(Arc::new(same));
                    }
                }
                let registry = WardenRegistry::new(self.registry, &self.provider);
                // One eth_call: the registry's operatorSetAt.
                self.metrics.operator_set_calls.inc();
                let set = OperatorSet::read(&registry, u64::from(block), &self.identities).await?;
                self.metrics
                    .operator_set_reads
                    .with_label_values(&["registry"])
                    .inc();
                Ok::<_, ServiceError>(Arc::new(set))
            })
            .await?;
        Ok(Arc::clone(set))
    }

    /// The set at `block`, if it is `earlier`'s: the registry reports the last block its set or
    /// a weight changed, and while that is the same the set holds.
    async fn unchanged_since(&self, earlier: &OperatorSet, block: u32) -> Option<OperatorSet> {
        let registry = WardenRegistry::new(self.registry, &self.provider);
        match earlier.holds_at(&registry, block).await {
            Ok(true) => Some(OperatorSet {
                block,
                ..earlier.clone()
            }),
            Ok(false) => None,
            Err(error) => {
                tracing::debug!(%error, block, "could not ask the registry whether the operator set changed; reading it afresh");
                None
            }
        }
    }
}
