//! The aggregator service: the HTTP intake, the committer that submits `commitOutput` when an
//! output reaches the threshold, and the keeper that opens tasks every tick and executes them
//! once their challenge window has passed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tokio::sync::{Mutex, watch};
use warden_bindings::task_facts;
use warden_bindings::task_manager::BLS as TmBLS;
use warden_bindings::task_manager::WardenTaskManager::AgentConfig;
use warden_bindings::task_manager::task_state;
use warden_bindings::tx::confirm;
use warden_bindings::{WardenRegistry, WardenTaskManager};
use warden_protocol::OutputAttestation;
use warden_protocol::api::{
    ApiError, MAX_SUBMISSION_BYTES, SIGNATURES_PATH, SignatureSubmission, SubmissionReceipt,
    SubmissionStatus,
};

use crate::intake::{Intake, IntakeError, ReadyQuorum, TaskContext};
use crate::{OperatorSet, Threshold};

/// How the aggregator runs.
#[derive(Debug, Clone)]
pub struct AggregatorConfig {
    pub rpc_url: Url,
    pub task_manager: Address,
    /// Where the HTTP intake listens.
    pub listen: SocketAddr,
    /// Agents to keep: open their tasks every tick and execute them when final.
    pub keeper_agents: Vec<u64>,
    pub poll_interval: Duration,
}

/// Shared state of the service.
#[derive(Debug)]
pub struct Aggregator {
    config: AggregatorConfig,
    chain_id: u64,
    provider: DynProvider,
    registry: Address,
    intake: Mutex<Intake>,
    /// Committed outputs we know the bytes of, for `execute`.
    committed_outputs: Mutex<HashMap<u64, Bytes>>,
    /// Operator sets by reference block: every task of one block shares one.
    sets: Mutex<HashMap<u32, Arc<OperatorSet>>>,
    /// Quorums waiting for the keeper loop, which sends every transaction of this aggregator
    /// from one task so that nonces never race.
    ready: Mutex<Vec<ReadyQuorum>>,
    wake: tokio::sync::Notify,
    /// Agent configurations never change once registered: read each from the chain once.
    agents: Mutex<HashMap<u64, AgentConfig>>,
}

/// Errors starting the service.
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
    Transaction(#[from] warden_bindings::tx::TxError),
    #[error(transparent)]
    TaskFacts(#[from] task_facts::TaskFactsError),
}

impl From<alloy::contract::Error> for ServiceError {
    fn from(error: alloy::contract::Error) -> Self {
        Self::Contract(Box::new(error))
    }
}

impl Aggregator {
    /// Connects to the chain with `signer` (which pays for commitments and keeper transactions).
    pub async fn connect(
        config: AggregatorConfig,
        signer: PrivateKeySigner,
    ) -> Result<Arc<Self>, ServiceError> {
        let provider = warden_bindings::signing_provider(config.rpc_url.clone(), signer);
        let chain_id = provider.get_chain_id().await?;
        let registry = WardenTaskManager::new(config.task_manager, &provider)
            .registry()
            .call()
            .await?;
        Ok(Arc::new(Self {
            config,
            chain_id,
            provider,
            registry,
            intake: Mutex::new(Intake::new(MAX_SUBMISSION_BYTES)),
            committed_outputs: Mutex::new(HashMap::new()),
            sets: Mutex::new(HashMap::new()),
            ready: Mutex::new(Vec::new()),
            wake: tokio::sync::Notify::new(),
            agents: Mutex::new(HashMap::new()),
        }))
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
        let addr = self.config.listen;
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

    /// The task's context, read from the chain once and cached in the intake.
    async fn ensure_task(&self, task_id: u64) -> Result<(), SubmitError> {
        if self.intake.lock().await.knows(task_id) {
            return Ok(());
        }
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let task = task_manager
            .getTask(task_id)
            .call()
            .await
            .map_err(|e| SubmitError::Chain(e.to_string()))?;
        match task.state {
            task_state::OPEN => {}
            0 => return Err(SubmitError::UnknownTask(task_id)),
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
        let context = TaskContext {
            task: OutputAttestation {
                chain_id: self.chain_id,
                task_manager: self.config.task_manager,
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
        Ok(())
    }

    async fn agent(&self, agent_id: u64) -> Result<AgentConfig, alloy::contract::Error> {
        if let Some(agent) = self.agents.lock().await.get(&agent_id) {
            return Ok(agent.clone());
        }
        let agent = WardenTaskManager::new(self.config.task_manager, &self.provider)
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

    /// Submits a ready quorum. On failure the intake collects again for that task.
    async fn commit(&self, ready: ReadyQuorum) {
        let task_id = ready.task_id;
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let non_signers: Vec<TmBLS::G1Point> = ready
            .quorum
            .non_signers
            .iter()
            .map(TmBLS::G1Point::from_eip2537)
            .collect();
        let signature =
            TmBLS::G2Point::from_eip2537(&ready.quorum.aggregate_signature.to_eip2537());
        let started = std::time::Instant::now();
        let result = async {
            let pending = task_manager
                .commitOutput(task_id, ready.output.clone(), non_signers, signature)
                .send()
                .await?;
            confirm("WardenTaskManager.commitOutput", pending)
                .await
                .map_err(ServiceError::from)
        }
        .await;
        match result {
            Ok(receipt) => {
                tracing::info!(
                    task_id,
                    output_hash = %ready.output_hash,
                    signers = ready.quorum.signed_weight.to_string(),
                    non_signers = ready.quorum.non_signers.len(),
                    gas = receipt.gas_used,
                    millis = started.elapsed().as_millis() as u64,
                    "output committed"
                );
                self.intake.lock().await.committed(task_id);
                self.committed_outputs
                    .lock()
                    .await
                    .insert(task_id, ready.output);
            }
            Err(error) => {
                tracing::warn!(task_id, %error, "commitment failed; collecting again");
                self.intake.lock().await.commit_failed(task_id);
            }
        }
    }

    /// Keeper loop: opens a task for each kept agent whenever its tick interval allows, executes
    /// committed tasks after their deadline, expires tasks nobody committed in time.
    pub async fn keep(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut open_tasks: Vec<u64> = Vec::new();
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(error) = self.keeper_round(&mut open_tasks).await {
                tracing::warn!(%error, "keeper round failed; retrying");
            }
            let mut ready = std::mem::take(&mut *self.ready.lock().await);
            ready.extend(self.intake.lock().await.retry());
            for quorum in ready {
                self.commit(quorum).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn keeper_round(&self, tasks: &mut Vec<u64>) -> Result<(), ServiceError> {
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let block = self.provider.get_block_number().await?;
        for &agent_id in &self.config.keeper_agents {
            let status = task_manager.agentStatus(agent_id).call().await?;
            let agent = self.agent(agent_id).await?;
            let due = status.lastOpenedAt == 0
                || block >= u64::from(status.lastOpenedAt) + u64::from(agent.tickInterval);
            if due {
                match task_manager.openTask(agent_id).send().await {
                    Ok(pending) => match confirm("WardenTaskManager.openTask", pending).await {
                        Ok(receipt) => {
                            let opened = receipt.decoded_log::<WardenTaskManager::TaskOpened>();
                            if let Some(event) = opened {
                                tracing::info!(
                                    agent_id,
                                    task_id = event.taskId,
                                    gas = receipt.gas_used,
                                    "task opened"
                                );
                                tasks.push(event.taskId);
                            }
                        }
                        Err(error) => tracing::warn!(agent_id, %error, "openTask failed"),
                    },
                    Err(error) => tracing::debug!(agent_id, %error, "openTask not possible yet"),
                }
            }
        }
        let mut still_open = Vec::with_capacity(tasks.len());
        for &task_id in tasks.iter() {
            let task = task_manager.getTask(task_id).call().await?;
            match task.state {
                task_state::COMMITTED
                    if block
                        > u64::from(task.deadline)
                            + u64::from(self.agent(task.agentId).await?.responseWindow) =>
                {
                    // Its action kept failing (a paused vault, a moved market) until the window
                    // closed: settle it so the agent can move on.
                    if let Ok(pending) = task_manager.expire(task_id).send().await {
                        let _ = confirm("WardenTaskManager.expire", pending).await;
                        tracing::warn!(task_id, "committed action never executed; task expired");
                        self.intake.lock().await.remove_task(task_id);
                        continue;
                    }
                }
                task_state::COMMITTED if block > u64::from(task.deadline) => {
                    let output = self.committed_output(task_id, task.openedAt).await?;
                    let input = task_facts::task_input(
                        &self.provider,
                        self.config.task_manager,
                        task_id,
                        task.openedAt,
                    )
                    .await?;
                    match task_manager.execute(task_id, input, output).send().await {
                        Ok(pending) => match confirm("WardenTaskManager.execute", pending).await {
                            Ok(receipt) => {
                                tracing::info!(task_id, gas = receipt.gas_used, "task executed");
                                self.intake.lock().await.remove_task(task_id);
                                continue;
                            }
                            Err(error) => tracing::warn!(task_id, %error, "execute failed"),
                        },
                        Err(error) => tracing::warn!(task_id, %error, "execute refused"),
                    }
                }
                task_state::OPEN => {
                    let agent = self.agent(task.agentId).await?;
                    if block > u64::from(task.openedAt) + u64::from(agent.responseWindow)
                        && let Ok(pending) = task_manager.expire(task_id).send().await
                    {
                        let _ = confirm("WardenTaskManager.expire", pending).await;
                        tracing::warn!(task_id, "task expired without a quorum");
                        self.intake.lock().await.remove_task(task_id);
                        continue;
                    }
                }
                task_state::COMMITTED => {}
                _ => {
                    self.intake.lock().await.remove_task(task_id);
                    continue;
                }
            }
            still_open.push(task_id);
        }
        *tasks = still_open;
        Ok(())
    }

    /// The committed output bytes of a task: ours if we committed it, else from its event.
    async fn committed_output(&self, task_id: u64, opened_at: u32) -> Result<Bytes, ServiceError> {
        if let Some(output) = self.committed_outputs.lock().await.get(&task_id) {
            return Ok(output.clone());
        }
        let (event, _) = task_facts::committed_event(
            &self.provider,
            self.config.task_manager,
            task_id,
            opened_at,
        )
        .await?;
        Ok(event.output)
    }
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
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

impl IntoResponse for SubmitError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            SubmitError::UnknownTask(_) => (StatusCode::NOT_FOUND, "unknown_task"),
            SubmitError::AlreadyCommitted(_) => (StatusCode::CONFLICT, "already_committed"),
            SubmitError::TaskClosed(_) => (StatusCode::GONE, "task_closed"),
            SubmitError::Chain(_) => (StatusCode::SERVICE_UNAVAILABLE, "chain_unavailable"),
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
    let task_id = submission.task_id;
    aggregator.ensure_task(task_id).await?;
    let submitted = aggregator.intake.lock().await.submit(&submission)?;
    for operator_id in &submitted.rejected {
        tracing::warn!(task_id, %operator_id, "operator's signature did not verify; dropped");
    }
    if let Some(ready) = submitted.ready {
        aggregator.ready.lock().await.push(ready);
        aggregator.wake.notify_one();
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
