//! The aggregator service: the HTTP intake, the committer that submits `commitOutput` when an
//! output reaches the threshold, and the keeper that opens tasks every tick and executes them
//! once their challenge window has passed.
//!
//! Nothing it learns lives only in memory. A task is on record before its first signature is
//! acknowledged; a signature is on record before the operator hears `202 Accepted`; a quorum is
//! on record (with the transaction intent that will carry it) before anything is sent; and every
//! transaction goes through the transaction manager, which records it before broadcasting. A
//! restarted aggregator rebuilds its intake from the records, resumes the submission in flight
//! under the same intent (so it is never sent twice) and keeps the tasks it was keeping.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tokio::sync::{Mutex, watch};
use warden_bindings::task_facts;
use warden_bindings::task_manager::BLS as TmBLS;
use warden_bindings::task_manager::WardenTaskManager::{
    AgentConfig, commitOutputCall, executeCall, expireCall, openTaskCall,
};
use warden_bindings::task_manager::task_state;
use warden_bindings::{WardenRegistry, WardenTaskManager};
use warden_protocol::OutputAttestation;
use warden_protocol::api::{
    ApiError, MAX_SUBMISSION_BYTES, SIGNATURES_PATH, SignatureSubmission, SubmissionReceipt,
    SubmissionStatus,
};
use warden_runtime::node_api::SyncProgress;
use warden_runtime::service::ServiceRuntime;
use warden_store::StoreError;
use warden_store::aggregator::{
    AggregatorStore, StoredSignature, SubmissionRecord, SubmissionStatus as Stored, TaskRecord,
    TaskState,
};
use warden_txm::{Sent, TxError, TxManager, TxOutcome};

use crate::intake::{Intake, IntakeError, ReadyQuorum, TaskContext};
use crate::metrics::{AggregatorMetrics, reason};
use crate::{OperatorSet, Threshold};

/// The failpoint after a quorum is on record, before its transaction exists.
pub const FAILPOINT_AFTER_QUORUM: &str = "aggregator-after-quorum";
/// The failpoint after the commitment's transaction is broadcast, before its receipt.
pub const FAILPOINT_DURING_SUBMISSION: &str = "aggregator-during-submission";

/// How the aggregator runs.
#[derive(Debug, Clone)]
pub struct AggregatorSettings {
    pub task_manager: Address,
    /// Where the HTTP intake listens.
    pub listen: SocketAddr,
    /// Agents to keep: open their tasks every tick and execute them when final.
    pub keeper_agents: Vec<u64>,
    pub poll_interval: Duration,
}

/// A quorum on record, with the output it commits (`None`: to be read from the signatures on
/// record).
#[derive(Debug, Clone)]
struct Pending {
    submission: SubmissionRecord,
    output: Option<Bytes>,
}

/// What became of a keeper transaction.
#[derive(Debug)]
enum KeeperOutcome {
    Succeeded(Box<Sent>),
    /// It would revert now: not due yet, or already done by someone else.
    NotNow,
    /// Sent and reverted, or not settled: tried again next round.
    Failed,
}

impl KeeperOutcome {
    fn succeeded(self) -> Option<Sent> {
        match self {
            KeeperOutcome::Succeeded(sent) => Some(*sent),
            KeeperOutcome::NotNow | KeeperOutcome::Failed => None,
        }
    }
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
    intake: Mutex<Intake>,
    /// When each task's first signature arrived, for the quorum latency.
    first_signature: Mutex<HashMap<u64, Instant>>,
    /// Operator sets by reference block: every task of one block shares one.
    sets: Mutex<HashMap<u32, Arc<OperatorSet>>>,
    /// Quorums waiting for the keeper loop, which sends every transaction of this aggregator.
    ready: Mutex<Vec<Pending>>,
    wake: tokio::sync::Notify,
    /// Agent configurations never change once registered: read each from the chain once.
    agents: Mutex<HashMap<u64, AgentConfig>>,
    /// Tasks the keeper follows until they are final.
    tracked: Mutex<BTreeSet<u64>>,
    /// The keeper's progress, for the node API.
    progress: Arc<SyncProgress>,
}

/// Errors of the service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("contract call failed: {0}")]
    Contract(Box<alloy::contract::Error>),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
    #[error("reading the operator set: {0}")]
    OperatorSet(#[from] crate::OperatorSetError),
    #[error(transparent)]
    Transaction(#[from] TxError),
    #[error(transparent)]
    TaskFacts(#[from] task_facts::TaskFactsError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Metrics(#[from] warden_runtime::metrics::MetricsError),
}

impl From<alloy::contract::Error> for ServiceError {
    fn from(error: alloy::contract::Error) -> Self {
        Self::Contract(Box::new(error))
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
        Ok(Arc::new(Self {
            settings,
            chain_id,
            provider,
            registry,
            txm,
            records: AggregatorStore::new(runtime.store.clone()),
            metrics,
            intake: Mutex::new(Intake::new(MAX_SUBMISSION_BYTES)),
            first_signature: Mutex::new(HashMap::new()),
            sets: Mutex::new(HashMap::new()),
            ready: Mutex::new(Vec::new()),
            wake: tokio::sync::Notify::new(),
            agents: Mutex::new(HashMap::new()),
            tracked: Mutex::new(BTreeSet::new()),
            progress,
        }))
    }

    /// The key that pays for commitments and keeper transactions.
    pub fn address(&self) -> Address {
        self.txm.address()
    }

    /// The HTTP API.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(SIGNATURES_PATH, post(submit_signature))
            .layer(DefaultBodyLimit::max(MAX_SUBMISSION_BYTES))
            .with_state(Arc::clone(self))
    }

    /// Serves the API on the configured address until `shutdown`; returns the bound address
    /// through `bound` as soon as it listens.
    pub async fn serve(
        self: Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
        bound: tokio::sync::oneshot::Sender<SocketAddr>,
    ) -> Result<(), ServiceError> {
        let addr = self.settings.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServiceError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| ServiceError::Bind { addr, source })?;
        let _ = bound.send(local);
        tracing::info!(%local, "aggregator API listening");
        axum::serve(listener, self.router())
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
            .map_err(ServiceError::Serve)
    }

    /// Picks up where a previous run stopped: transactions still pending are waited for, every
    /// task on record is checked against the chain, open ones get their signatures back into
    /// the intake, and a quorum on record is committed under its original intent.
    pub async fn recover(&self) -> Result<(), ServiceError> {
        let settled = self.txm.resume().await?;
        for sent in &settled {
            tracing::info!(intent = %sent.intent, tx = %sent.tx_hash, status = ?sent.status, "transaction from before the restart settled");
        }
        let task_manager = WardenTaskManager::new(self.settings.task_manager, &self.provider);
        for record in self.records.live_tasks().await? {
            let task_id = record.task_id;
            let task = task_manager.getTask(task_id).call().await?;
            let prepared = self.records.prepared_submission(task_id).await?;
            match task.state {
                task_state::OPEN => {
                    if let Err(error) = self.ensure_task(task_id).await {
                        tracing::warn!(task_id, %error, "could not resume the task");
                        continue;
                    }
                    let signatures = self.records.signatures(task_id).await?;
                    let mut intake = self.intake.lock().await;
                    for stored in &signatures {
                        // Signatures on record were accepted before; the intake checks them
                        // again all the same.
                        if let Err(error) = intake.submit(&SignatureSubmission {
                            task_id,
                            operator_id: stored.operator_id,
                            output: stored.output.clone(),
                            signature: stored.signature.clone(),
                        }) {
                            tracing::warn!(task_id, operator_id = %stored.operator_id, %error, "a signature on record no longer holds");
                        }
                    }
                    match prepared {
                        Some(submission) => {
                            intake.committing(task_id);
                            drop(intake);
                            let output = signatures
                                .iter()
                                .find(|s| s.output_hash == submission.output_hash)
                                .map(|s| s.output.clone());
                            match output {
                                Some(output) => {
                                    tracing::info!(task_id, intent = %submission.intent, "resuming the commitment in flight");
                                    self.ready.lock().await.push(Pending {
                                        submission,
                                        output: Some(output),
                                    });
                                }
                                None => {
                                    self.records
                                        .settle_submission(
                                            task_id,
                                            submission.attempt,
                                            Stored::Abandoned,
                                        )
                                        .await?;
                                    self.intake.lock().await.commit_failed(task_id);
                                }
                            }
                        }
                        None => {
                            // A quorum the previous run reached but had not put on record yet.
                            let ready = intake.retry();
                            drop(intake);
                            for quorum in ready {
                                self.prepare(quorum).await;
                            }
                        }
                    }
                    self.tracked.lock().await.insert(task_id);
                }
                task_state::COMMITTED => {
                    if let Some(submission) = prepared {
                        let status = if task.outputHash == submission.output_hash {
                            Stored::Confirmed
                        } else {
                            Stored::Abandoned
                        };
                        self.records
                            .settle_submission(task_id, submission.attempt, status)
                            .await?;
                    }
                    self.records
                        .set_state(task_id, TaskState::Committed, Some(task.outputHash))
                        .await?;
                    self.tracked.lock().await.insert(task_id);
                }
                _ => {
                    if let Some(submission) = prepared {
                        self.records
                            .settle_submission(task_id, submission.attempt, Stored::Abandoned)
                            .await?;
                    }
                    self.records
                        .set_state(task_id, TaskState::Done, None)
                        .await?;
                }
            }
        }
        let tracked = self.tracked.lock().await.len();
        tracing::info!(tasks = tracked, "resumed the tasks on record");
        self.wake.notify_one();
        Ok(())
    }

    /// The task's context, read from the chain once and cached in the intake; the task is on
    /// record before this returns.
    async fn ensure_task(&self, task_id: u64) -> Result<(), SubmitError> {
        if self.intake.lock().await.knows(task_id) {
            return Ok(());
        }
        let task_manager = WardenTaskManager::new(self.settings.task_manager, &self.provider);
        let task = task_manager
            .getTask(task_id)
            .call()
            .await
            .map_err(|e| SubmitError::Chain(e.to_string()))?;
        match task.state {
            task_state::OPEN => {}
            task_state::NONE => return Err(SubmitError::UnknownTask(task_id)),
            task_state::COMMITTED | task_state::EXECUTED => {
                return Err(SubmitError::AlreadyCommitted(task_id));
            }
            _ => return Err(SubmitError::TaskClosed(task_id)),
        }
        let agent = self
            .agent(task.agentId)
            .await
            .map_err(|e| SubmitError::Chain(e.to_string()))?;
        let set = self
            .operator_set(task.referenceBlock)
            .await
            .map_err(|e| SubmitError::Chain(e.to_string()))?;
        let threshold = Threshold::new(u64::from(agent.thresholdBps), 10_000)
            .map_err(|e| SubmitError::Chain(format!("agent {}: {e}", task.agentId)))?;
        self.records
            .track(&TaskRecord {
                task_id,
                agent_id: task.agentId,
                input_hash: task.inputHash,
                reference_block: u64::from(task.referenceBlock),
                state: TaskState::Collecting,
                output_hash: None,
            })
            .await
            .map_err(|error| self.database_error("track_task", error))?;
        let context = TaskContext {
            task: OutputAttestation {
                chain_id: self.chain_id,
                task_manager: self.settings.task_manager,
                task_id,
                agent_id: task.agentId,
                agent_hash: agent.agentHash,
                input_hash: task.inputHash,
                output_hash: B256::ZERO,
                reference_block: task.referenceBlock,
            },
            threshold,
            set,
        };
        self.intake.lock().await.add_task(Arc::new(context));
        self.tracked.lock().await.insert(task_id);
        Ok(())
    }

    fn database_error(&self, operation: &'static str, error: StoreError) -> SubmitError {
        self.metrics
            .node
            .database_errors
            .with_label_values(&[operation])
            .inc();
        tracing::error!(operation, %error, "database operation failed");
        SubmitError::Unavailable(format!("{operation}: {error}"))
    }

    async fn agent(&self, agent_id: u64) -> Result<AgentConfig, alloy::contract::Error> {
        if let Some(agent) = self.agents.lock().await.get(&agent_id) {
            return Ok(agent.clone());
        }
        let agent = WardenTaskManager::new(self.settings.task_manager, &self.provider)
            .getAgent(agent_id)
            .call()
            .await?;
        self.agents.lock().await.insert(agent_id, agent.clone());
        Ok(agent)
    }

    async fn operator_set(&self, block: u32) -> Result<Arc<OperatorSet>, ServiceError> {
        if let Some(set) = self.sets.lock().await.get(&block) {
            return Ok(Arc::clone(set));
        }
        let registry = WardenRegistry::new(self.registry, &self.provider);
        let set = Arc::new(OperatorSet::at(&registry, u64::from(block)).await?);
        self.sets.lock().await.insert(block, Arc::clone(&set));
        Ok(set)
    }

    /// Puts a verified quorum on record and queues it for the keeper loop. If the record cannot
    /// be written, the intake collects again and hands the quorum out later.
    async fn prepare(&self, ready: ReadyQuorum) {
        let task_id = ready.task_id;
        let first = self.first_signature.lock().await.remove(&task_id);
        if let Some(first) = first {
            let agent = self
                .intake
                .lock()
                .await
                .agent_of(task_id)
                .map(|id| id.to_string())
                .unwrap_or_default();
            self.metrics
                .quorum_latency
                .with_label_values(&[agent.as_str()])
                .observe(first.elapsed().as_secs_f64());
        }
        let non_signers: Vec<Bytes> = ready
            .quorum
            .non_signers
            .iter()
            .map(|key| Bytes::copy_from_slice(key))
            .collect();
        let signature = Bytes::copy_from_slice(&ready.quorum.aggregate_signature.to_eip2537());
        let prepared = self
            .records
            .prepare_submission(
                task_id,
                ready.output_hash,
                &non_signers,
                &signature,
                ready.quorum.signed_weight,
                |attempt| format!("commitOutput/task/{task_id}/attempt/{attempt}"),
            )
            .await;
        match prepared {
            Ok(submission) => {
                tracing::info!(
                    task_id,
                    output_hash = %ready.output_hash,
                    signed_weight = %ready.quorum.signed_weight,
                    non_signers = non_signers.len(),
                    intent = %submission.intent,
                    "quorum reached"
                );
                self.ready.lock().await.push(Pending {
                    submission,
                    output: Some(ready.output),
                });
                self.wake.notify_one();
            }
            Err(error) => {
                let _ = self.database_error("prepare_submission", error);
                self.intake.lock().await.commit_failed(task_id);
            }
        }
    }

    /// Sends (or, after a restart, resumes) a quorum's `commitOutput` and settles its record.
    async fn commit(&self, submission: SubmissionRecord, output: Bytes) {
        let task_id = submission.task_id;
        warden_runtime::failpoint(FAILPOINT_AFTER_QUORUM).await;
        let request = match commit_request(self.settings.task_manager, &submission, output) {
            Ok(request) => request,
            Err(reason) => {
                tracing::error!(task_id, %reason, "the quorum on record is unusable; collecting again");
                self.abandon(&submission).await;
                return;
            }
        };
        let started = Instant::now();
        let sent = match self.txm.submit(&submission.intent, request).await {
            Ok(record) => {
                warden_runtime::failpoint(FAILPOINT_DURING_SUBMISSION).await;
                self.txm.wait(record.nonce).await
            }
            Err(error) => Err(error),
        };
        match sent {
            Ok(sent) if sent.status == TxOutcome::Success => {
                tracing::info!(
                    task_id,
                    output_hash = %submission.output_hash,
                    tx = %sent.tx_hash,
                    gas = sent.gas_used,
                    bumps = sent.bumps,
                    millis = started.elapsed().as_millis() as u64,
                    "output committed"
                );
                self.metrics
                    .commitments
                    .with_label_values(&["confirmed"])
                    .inc();
                self.committed(&submission).await;
            }
            Ok(sent) => {
                self.metrics
                    .commitments
                    .with_label_values(&["reverted"])
                    .inc();
                tracing::warn!(task_id, tx = %sent.tx_hash, "commitOutput reverted");
                self.settle_against_chain(&submission).await;
            }
            Err(TxError::WouldRevert { reason, .. }) => {
                self.metrics
                    .commitments
                    .with_label_values(&["failed"])
                    .inc();
                tracing::warn!(task_id, %reason, "commitOutput would revert");
                self.settle_against_chain(&submission).await;
            }
            Err(error) => {
                // Still on record under its intent: the next round waits for it again.
                self.metrics
                    .commitments
                    .with_label_values(&["failed"])
                    .inc();
                tracing::warn!(task_id, %error, "commitment not confirmed yet; retrying");
                self.ready.lock().await.push(Pending {
                    submission,
                    output: None,
                });
            }
        }
    }

    async fn committed(&self, submission: &SubmissionRecord) {
        let task_id = submission.task_id;
        if let Err(error) = self
            .records
            .settle_submission(task_id, submission.attempt, Stored::Confirmed)
            .await
        {
            let _ = self.database_error("settle_submission", error);
        }
        if let Err(error) = self
            .records
            .set_state(task_id, TaskState::Committed, Some(submission.output_hash))
            .await
        {
            let _ = self.database_error("set_state", error);
        }
        self.intake.lock().await.committed(task_id);
        self.metrics.task_settled("committed");
    }

    /// A commitment did not go through: find out from the chain whether the task was committed
    /// anyway (by another aggregator) or can be tried again.
    async fn settle_against_chain(&self, submission: &SubmissionRecord) {
        let task_manager = WardenTaskManager::new(self.settings.task_manager, &self.provider);
        match task_manager.getTask(submission.task_id).call().await {
            Ok(task)
                if task.state == task_state::COMMITTED || task.state == task_state::EXECUTED =>
            {
                if task.outputHash == submission.output_hash {
                    self.committed(submission).await;
                } else {
                    self.abandon(submission).await;
                    self.intake.lock().await.committed(submission.task_id);
                }
            }
            _ => self.abandon(submission).await,
        }
    }

    async fn abandon(&self, submission: &SubmissionRecord) {
        if let Err(error) = self
            .records
            .settle_submission(submission.task_id, submission.attempt, Stored::Abandoned)
            .await
        {
            let _ = self.database_error("settle_submission", error);
        }
        self.intake.lock().await.commit_failed(submission.task_id);
    }

    /// Keeper loop: resumes what a previous run left, then opens a task for each kept agent
    /// whenever its tick interval allows, commits quorums, executes committed tasks after their
    /// deadline, and expires tasks nobody committed in time.
    pub async fn keep(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        while let Err(error) = self.recover().await {
            tracing::warn!(%error, "resuming the previous run failed; retrying");
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = shutdown.changed() => return,
            }
        }
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(error) = self.keeper_round().await {
                tracing::warn!(%error, "keeper round failed; retrying");
            }
            let mut ready = std::mem::take(&mut *self.ready.lock().await);
            let retried = self.intake.lock().await.retry();
            for quorum in retried {
                self.prepare(quorum).await;
            }
            ready.extend(std::mem::take(&mut *self.ready.lock().await));
            for Pending { submission, output } in ready {
                let output = match output {
                    Some(output) => output,
                    None => match self.output_of(&submission).await {
                        Some(output) => output,
                        None => continue,
                    },
                };
                self.commit(submission, output).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// The output bytes of a quorum on record, from the signatures on record.
    async fn output_of(&self, submission: &SubmissionRecord) -> Option<Bytes> {
        match self.records.signatures(submission.task_id).await {
            Ok(signatures) => signatures
                .into_iter()
                .find(|s| s.output_hash == submission.output_hash)
                .map(|s| s.output),
            Err(error) => {
                let _ = self.database_error("signatures", error);
                None
            }
        }
    }

    async fn keeper_round(&self) -> Result<(), ServiceError> {
        let task_manager = WardenTaskManager::new(self.settings.task_manager, &self.provider);
        let block = self.provider.get_block_number().await?;
        for &agent_id in &self.settings.keeper_agents {
            let status = task_manager.agentStatus(agent_id).call().await?;
            let agent = self.agent(agent_id).await?;
            let due = status.lastOpenedAt == 0
                || block >= u64::from(status.lastOpenedAt) + u64::from(agent.tickInterval);
            // The task manager refuses a new task while the latest can still progress: asking
            // anyway would only be a failed gas estimation every round.
            let busy = due
                && status.latestTaskId != 0
                && self
                    .still_live(&task_manager, status.latestTaskId, &agent, block)
                    .await?;
            if due && !busy {
                self.open_task(agent_id, status.lastOpenedAt).await;
            }
        }
        let tracked: Vec<u64> = self.tracked.lock().await.iter().copied().collect();
        let mut counts: HashMap<&'static str, i64> = HashMap::new();
        for task_id in tracked {
            let task = task_manager.getTask(task_id).call().await?;
            let agent = self.agent(task.agentId).await?;
            let response_window = u64::from(agent.responseWindow);
            let settled = match task.state {
                task_state::COMMITTED if block > u64::from(task.deadline) + response_window => {
                    // Its action kept failing (a paused vault, a moved market) until the window
                    // closed: settle it so the agent can move on.
                    let call = expireCall { taskId: task_id };
                    self.keeper_send(format!("expire/task/{task_id}"), call.abi_encode())
                        .await
                        .succeeded()
                        .map(|_| "expired")
                }
                task_state::COMMITTED if block > u64::from(task.deadline) => {
                    let output = self.committed_output(task_id, task.openedAt).await?;
                    let input = task_facts::task_input(
                        &self.provider,
                        self.settings.task_manager,
                        task_id,
                        task.openedAt,
                    )
                    .await?;
                    let call = executeCall {
                        taskId: task_id,
                        input,
                        output,
                    };
                    // One intent per block: a failed attempt (a paused vault) is tried again
                    // next block, and gas estimation refuses a second execute of an executed
                    // task.
                    self.keeper_send(
                        format!("execute/task/{task_id}/block/{block}"),
                        call.abi_encode(),
                    )
                    .await
                    .succeeded()
                    .map(|_| "executed")
                }
                task_state::OPEN if block > u64::from(task.openedAt) + response_window => {
                    let call = expireCall { taskId: task_id };
                    self.keeper_send(format!("expire/task/{task_id}"), call.abi_encode())
                        .await
                        .succeeded()
                        .map(|_| "expired")
                }
                task_state::OPEN | task_state::COMMITTED => None,
                task_state::EXECUTED => Some("executed"),
                task_state::EXPIRED => Some("expired"),
                _ => Some("closed"),
            };
            match settled {
                Some(event) => {
                    if let Err(error) = self.records.set_state(task_id, TaskState::Done, None).await
                    {
                        let _ = self.database_error("set_state", error);
                        continue;
                    }
                    tracing::info!(task_id, outcome = event, "task final");
                    self.metrics.task_settled(event);
                    self.intake.lock().await.remove_task(task_id);
                    self.tracked.lock().await.remove(&task_id);
                }
                None => {
                    let state = if task.state == task_state::OPEN {
                        "open"
                    } else {
                        "committed"
                    };
                    *counts.entry(state).or_default() += 1;
                }
            }
        }
        for state in ["open", "committed"] {
            self.metrics
                .tasks
                .with_label_values(&[state])
                .set(counts.get(state).copied().unwrap_or(0));
        }
        self.progress.update(block, block);
        Ok(())
    }

    /// Whether `task_id` can still be committed (while open) or executed (while committed) at
    /// `block`: the task manager's own rule for an agent being busy.
    async fn still_live<P: Provider>(
        &self,
        task_manager: &WardenTaskManager::WardenTaskManagerInstance<P>,
        task_id: u64,
        agent: &AgentConfig,
        block: u64,
    ) -> Result<bool, ServiceError> {
        let task = task_manager.getTask(task_id).call().await?;
        let window = u64::from(agent.responseWindow);
        // openTask runs in the next block.
        let next = block + 1;
        Ok(match task.state {
            task_state::OPEN => next <= u64::from(task.openedAt) + window,
            task_state::COMMITTED => next <= u64::from(task.deadline) + window,
            _ => false,
        })
    }

    async fn open_task(&self, agent_id: u64, last_opened_at: u32) {
        let call = openTaskCall { agentId: agent_id };
        let intent = format!("openTask/agent/{agent_id}/after/{last_opened_at}");
        let Some(sent) = self
            .keeper_send(intent, call.abi_encode())
            .await
            .succeeded()
        else {
            return;
        };
        let Some(event) = sent.receipt.decoded_log::<WardenTaskManager::TaskOpened>() else {
            return;
        };
        let task_id = event.taskId;
        tracing::info!(agent_id, task_id, gas = sent.gas_used, "task opened");
        self.metrics
            .task_events
            .with_label_values(&["opened"])
            .inc();
        let record = TaskRecord {
            task_id,
            agent_id,
            input_hash: event.inputHash,
            reference_block: u64::from(event.referenceBlock),
            state: TaskState::Collecting,
            output_hash: None,
        };
        match self.records.track(&record).await {
            Ok(()) => {
                self.tracked.lock().await.insert(task_id);
            }
            Err(error) => {
                // The next signature for it tracks it again.
                let _ = self.database_error("track_task", error);
            }
        }
    }

    /// Sends a keeper transaction under `intent`.
    async fn keeper_send(&self, intent: String, calldata: Vec<u8>) -> KeeperOutcome {
        let request = TransactionRequest::default()
            .with_to(self.settings.task_manager)
            .with_input(calldata);
        match self.txm.send(&intent, request).await {
            Ok(sent) if sent.status == TxOutcome::Success => {
                KeeperOutcome::Succeeded(Box::new(sent))
            }
            Ok(sent) => {
                tracing::warn!(%intent, tx = %sent.tx_hash, "keeper transaction reverted");
                KeeperOutcome::Failed
            }
            Err(TxError::WouldRevert { reason, .. }) => {
                tracing::debug!(%intent, %reason, "keeper transaction not possible now");
                KeeperOutcome::NotNow
            }
            Err(error) => {
                tracing::warn!(%intent, %error, "keeper transaction failed");
                KeeperOutcome::Failed
            }
        }
    }

    /// The committed output bytes of a task, from its `OutputCommitted` event.
    async fn committed_output(&self, task_id: u64, opened_at: u32) -> Result<Bytes, ServiceError> {
        let (event, _) = task_facts::committed_event(
            &self.provider,
            self.settings.task_manager,
            task_id,
            opened_at,
        )
        .await?;
        Ok(event.output)
    }
}

/// The `commitOutput` transaction of a quorum on record.
fn commit_request(
    task_manager: Address,
    submission: &SubmissionRecord,
    output: Bytes,
) -> Result<TransactionRequest, String> {
    let non_signers = submission
        .non_signers
        .iter()
        .map(|key| {
            <[u8; 128]>::try_from(key.as_ref())
                .map(|key| TmBLS::G1Point::from_eip2537(&key))
                .map_err(|_| format!("a non-signer key of {} bytes", key.len()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signature = <[u8; 256]>::try_from(submission.aggregate_signature.as_ref())
        .map(|signature| TmBLS::G2Point::from_eip2537(&signature))
        .map_err(|_| "an aggregate signature that is not 256 bytes".to_string())?;
    let call = commitOutputCall {
        taskId: submission.task_id,
        output,
        nonSigners: non_signers,
        signature,
    };
    Ok(TransactionRequest::default()
        .with_to(task_manager)
        .with_input(call.abi_encode()))
}

/// Why a submission was refused, as the API reports it.
#[derive(Debug, thiserror::Error)]
enum SubmitError {
    #[error("task {0} does not exist")]
    UnknownTask(u64),
    #[error("task {0} already has a committed output")]
    AlreadyCommitted(u64),
    #[error("task {0} is no longer open")]
    TaskClosed(u64),
    #[error("the chain could not be read: {0}")]
    Chain(String),
    #[error("the aggregator cannot record the signature now: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

impl SubmitError {
    fn reason(&self) -> &'static str {
        match self {
            SubmitError::UnknownTask(_) | SubmitError::Intake(IntakeError::UnknownTask(_)) => {
                reason::UNKNOWN_TASK
            }
            SubmitError::AlreadyCommitted(_) | SubmitError::TaskClosed(_) => reason::TASK_CLOSED,
            SubmitError::Chain(_) | SubmitError::Unavailable(_) => reason::UNAVAILABLE,
            SubmitError::Intake(IntakeError::MalformedSignature(_)) => reason::MALFORMED_SIGNATURE,
            SubmitError::Intake(IntakeError::UnknownOperator { .. }) => reason::UNKNOWN_OPERATOR,
            SubmitError::Intake(IntakeError::OutputTooLarge { .. }) => reason::OUTPUT_TOO_LARGE,
            SubmitError::Intake(IntakeError::Conflict { .. }) => reason::CONFLICTING_OUTPUT,
        }
    }
}

impl IntoResponse for SubmitError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            SubmitError::UnknownTask(_) => (StatusCode::NOT_FOUND, "unknown_task"),
            SubmitError::AlreadyCommitted(_) => (StatusCode::CONFLICT, "already_committed"),
            SubmitError::TaskClosed(_) => (StatusCode::GONE, "task_closed"),
            SubmitError::Chain(_) => (StatusCode::SERVICE_UNAVAILABLE, "chain_unavailable"),
            SubmitError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
            SubmitError::Intake(IntakeError::MalformedSignature(_)) => {
                (StatusCode::BAD_REQUEST, "malformed_signature")
            }
            SubmitError::Intake(IntakeError::UnknownOperator { .. }) => {
                (StatusCode::FORBIDDEN, "unknown_operator")
            }
            SubmitError::Intake(IntakeError::OutputTooLarge { .. }) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "output_too_large")
            }
            SubmitError::Intake(IntakeError::Conflict { .. }) => {
                (StatusCode::CONFLICT, "conflicting_output")
            }
            SubmitError::Intake(IntakeError::UnknownTask(_)) => {
                (StatusCode::NOT_FOUND, "unknown_task")
            }
        };
        (
            status,
            Json(ApiError {
                code: code.to_string(),
                message: self.to_string(),
            }),
        )
            .into_response()
    }
}

async fn submit_signature(
    State(aggregator): State<Arc<Aggregator>>,
    Json(submission): Json<SignatureSubmission>,
) -> Result<(StatusCode, Json<SubmissionReceipt>), SubmitError> {
    let result = accept(&aggregator, &submission).await;
    match &result {
        Ok((_, Json(receipt))) => {
            let label = match receipt.status {
                SubmissionStatus::Accepted => "accepted",
                SubmissionStatus::Duplicate | SubmissionStatus::AlreadyCommitted => "duplicate",
            };
            aggregator
                .metrics
                .signatures_received
                .with_label_values(&[label])
                .inc();
        }
        Err(error) => aggregator.metrics.rejected(error.reason()),
    }
    result
}

async fn accept(
    aggregator: &Arc<Aggregator>,
    submission: &SignatureSubmission,
) -> Result<(StatusCode, Json<SubmissionReceipt>), SubmitError> {
    let task_id = submission.task_id;
    aggregator.ensure_task(task_id).await?;
    aggregator
        .first_signature
        .lock()
        .await
        .entry(task_id)
        .or_insert_with(Instant::now);
    let submitted = aggregator.intake.lock().await.submit(submission)?;
    for operator_id in &submitted.rejected {
        tracing::warn!(task_id, %operator_id, "operator's signature did not verify; dropped");
        aggregator.metrics.rejected(reason::INVALID_SIGNATURE);
        if let Err(error) = aggregator
            .records
            .drop_signature(task_id, *operator_id)
            .await
        {
            let _ = aggregator.database_error("drop_signature", error);
        }
    }
    // On record before the operator hears it was taken. A duplicate is written again: its
    // first write may be the one that failed.
    if submitted.status != SubmissionStatus::AlreadyCommitted
        && !submitted.rejected.contains(&submission.operator_id)
    {
        aggregator
            .records
            .save_signature(&StoredSignature {
                task_id,
                operator_id: submission.operator_id,
                output_hash: submitted.output_hash,
                output: submission.output.clone(),
                signature: submission.signature.clone(),
            })
            .await
            .map_err(|error| aggregator.database_error("save_signature", error))?;
    }
    if let Some(ready) = submitted.ready {
        aggregator.prepare(ready).await;
    }
    let status = match submitted.status {
        SubmissionStatus::Accepted => StatusCode::ACCEPTED,
        SubmissionStatus::Duplicate | SubmissionStatus::AlreadyCommitted => StatusCode::OK,
    };
    Ok((
        status,
        Json(SubmissionReceipt {
            status: submitted.status,
            task_id,
            output_hash: submitted.output_hash,
        }),
    ))
}
