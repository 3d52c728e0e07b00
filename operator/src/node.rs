//! The operator node: follows `TaskOpened` from a durable cursor, runs the agent on each task's
//! snapshot, puts the signed output (with the run's activation trace, for a large agent) on its
//! slashing-protection record (keyed by the task's signing root), then hands the signature and
//! the trace to the aggregator. A restarted node re-sends what the record holds and never signs a
//! second output, or a second trace, for one signing root; after a reorg it follows the new
//! branch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::transports::http::reqwest::Url;
use prometheus::{CounterVec, Histogram, IntCounterVec, Opts};
use tokio::sync::{Semaphore, watch};
use warden_agent::{Agent, AgentInput};
use warden_bindings::{DevnetToken, WardenRegistry, WardenRewards, WardenTaskManager};
use warden_protocol::api::{ApiError, SIGNATURES_PATH, SignatureSubmission, SubmissionReceipt};
use warden_protocol::{MAX_TRACE_LENGTH, OperatorId, TaskAttestation, trace_hash};
use warden_runtime::allowlist::{AgentAllowlist, VerifierCheck};
use warden_runtime::follow::{ChainFollower, Step};
use warden_runtime::metrics::{MetricsError, NodeMetrics, Telemetry};
use warden_runtime::node_api::SyncProgress;
use warden_store::StoreError;
use warden_store::cursor::ChainCursor;
use warden_store::operator::{Recorded, SignedOutput, SlashingProtection};

use warden_keys::OperatorKeys;

use crate::delivery::{Answer, Delivery};

/// Blocks a task may stay uncommitted after it opened before its signatures also go to a
/// fallback aggregator.
pub const DEFAULT_FALLBACK_AFTER_BLOCKS: u64 = 10;

/// The first pause before sending a signature again, doubled after each failure up to
/// [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The failpoint between putting a signature on record and sending it.
pub const FAILPOINT_AFTER_SIGNING: &str = "operator-after-signing";

/// How an operator node runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub task_manager: Address,
    /// Where signatures go: the node's aggregator, then fallbacks (see [`Delivery`]).
    pub delivery: Delivery,
    /// First block to scan on a first start; afterwards the node resumes from its cursor.
    pub start_block: u64,
    /// Pause between polls when caught up.
    pub poll_interval: Duration,
    /// Largest block range per `eth_getLogs` request.
    pub max_block_range: u64,
    /// The agents this node signs for (see [`crate::config::NodeSection::allowlist`]).
    pub allowlist: AgentAllowlist,
}

impl NodeConfig {
    /// Defaults for everything but the contracts and the aggregator (no fallbacks).
    pub fn new(task_manager: Address, aggregator_url: Url) -> Self {
        Self {
            task_manager,
            delivery: Delivery::new(aggregator_url, &[], DEFAULT_FALLBACK_AFTER_BLOCKS),
            start_block: 0,
            poll_interval: Duration::from_millis(500),
            max_block_range: 2_000,
            allowlist: AgentAllowlist::default(),
        }
    }
}

/// Why the node stopped or skipped a task.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("task manager call failed: {0}")]
    Contract(Box<alloy::contract::Error>),
    #[error("task {task_id}: {reason}")]
    BadTask { task_id: u64, reason: String },
    #[error("slashing-protection record: {0}")]
    Store(#[from] StoreError),
    #[error("following the chain: {0}")]
    Follow(#[from] warden_runtime::follow::FollowError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

warden_runtime::boxed_contract_error!(NodeError, Contract);

/// The operator's own metrics.
#[derive(Debug, Clone)]
pub struct OperatorMetrics {
    /// `warden_operator_tasks_total{outcome}`: `signed`, `resent` (a signature on record was
    /// sent again), `other_agent` (not the agent this node runs, or not on its allowlist),
    /// `other_verifier` (the verifier's code is not on the allowlist), `invalid`.
    pub tasks: IntCounterVec,
    /// `warden_operator_submissions_total{result}`: `accepted` (an aggregator took it),
    /// `refused` (an aggregator refused it for good), `gave_up` (the task's response window
    /// closed before any aggregator took it), `late` (the task was committed or closed before
    /// any aggregator took it).
    pub submissions: IntCounterVec,
    /// `warden_agent_run_seconds`.
    pub agent_run: Histogram,
    /// `warden_chain_reorgs_total`.
    pub reorgs: IntCounterVec,
    /// `eigen_fees_earned_total{token}`: task fees accrued to this operator for the tasks it
    /// signed (`WardenRewards.RewardAccrued`), in whole tokens, by token symbol. They reach the
    /// operator through EigenLayer's RewardsCoordinator.
    pub fees_earned: CounterVec,
    node: NodeMetrics,
}

impl OperatorMetrics {
    pub fn register(telemetry: &Telemetry, node: NodeMetrics) -> Result<Self, MetricsError> {
        let metrics = Self {
            tasks: telemetry.counter_vec(
                "warden_operator_tasks_total",
                "Tasks the operator handled, by outcome",
                &["outcome"],
            )?,
            submissions: telemetry.counter_vec(
                "warden_operator_submissions_total",
                "Signatures sent to the aggregator, by result",
                &["result"],
            )?,
            agent_run: warden_runtime::metrics::agent_run_seconds(telemetry)?,
            reorgs: warden_runtime::metrics::chain_reorgs_total(telemetry)?,
            fees_earned: telemetry.register(CounterVec::new(
                Opts::new(
                    "eigen_fees_earned_total",
                    "Task fees earned for signed tasks, by token (whole tokens), paid through \
                     EigenLayer's RewardsCoordinator",
                ),
                &["token"],
            )?)?,
            node,
        };
        metrics.node.performance_score.set(100.0);
        Ok(metrics)
    }

    /// `eigen_performance_score` for an operator: the share of its signatures the aggregator
    /// accepted, in percent.
    fn update_score(&self) {
        let accepted = self.submissions.with_label_values(&["accepted"]).get();
        let failed = self.submissions.with_label_values(&["refused"]).get()
            + self.submissions.with_label_values(&["gave_up"]).get();
        if accepted + failed > 0 {
            self.node
                .performance_score
                .set(100.0 * accepted as f64 / (accepted + failed) as f64);
        }
    }
}

/// A signature ready for the aggregator.
#[derive(Debug, Clone)]
pub struct SignedTask {
    /// The slashing-protection record's key.
    pub signing_root: B256,
    pub submission: SignatureSubmission,
    pub output_hash: B256,
}

impl SignedTask {
    fn from_record(record: &SignedOutput, operator_id: OperatorId) -> Self {
        Self {
            signing_root: record.signing_root(),
            submission: SignatureSubmission {
                task_id: record.attestation.task_id,
                operator_id: operator_id.as_b256(),
                output: record.output.clone(),
                signature: wire_signature(&record.signature),
                trace: record.trace.clone(),
            },
            output_hash: record.output_hash,
        }
    }
}

/// The signature as it goes to aggregators: uncompressed, which they parse without a square
/// root (the record keeps the compressed form). A record that does not decode is sent as it is,
/// for the aggregator to refuse with its reason.
fn wire_signature(recorded: &Bytes) -> Bytes {
    warden_bls::Signature::from_compressed(recorded).map_or_else(
        |_| recorded.clone(),
        |signature| Bytes::copy_from_slice(&signature.to_uncompressed()),
    )
}

/// One operator node.
#[derive(Debug)]
pub struct OperatorNode {
    config: NodeConfig,
    keys: Arc<OperatorKeys>,
    operator_id: OperatorId,
    agent: Arc<dyn Agent>,
    provider: DynProvider,
    protection: SlashingProtection,
    follower: ChainFollower,
    metrics: OperatorMetrics,
    http: alloy::transports::http::reqwest::Client,
    verifiers: VerifierCheck,
    /// The registry's rewards distributor, once it has one.
    rewards: tokio::sync::OnceCell<Address>,
    /// Each reward token's metric label and decimals, read once.
    tokens: std::sync::Mutex<std::collections::HashMap<Address, (String, u8)>>,
}

impl OperatorNode {
    /// A node signing with `keys`, reading the chain through `provider`, keeping its record and
    /// cursor in `store`. `progress` is shared with the node API's sync probe.
    pub fn new(
        config: NodeConfig,
        keys: Arc<OperatorKeys>,
        agent: Arc<dyn Agent>,
        runtime: &warden_runtime::service::ServiceRuntime,
        progress: Arc<SyncProgress>,
    ) -> Result<Self, NodeError> {
        let operator_id = OperatorId::from_public_key(&keys.bls.public_key().to_eip2537());
        let metrics = OperatorMetrics::register(&runtime.telemetry, runtime.node_metrics.clone())?;
        let follower = ChainFollower::new(
            runtime.provider.clone(),
            ChainCursor::new(runtime.store.clone(), format!("operator:{operator_id}")),
            config.start_block,
            config.max_block_range,
            progress,
        );
        Ok(Self {
            verifiers: VerifierCheck::new(config.allowlist.clone()),
            protection: SlashingProtection::new(runtime.store.clone(), operator_id),
            provider: runtime.provider.clone(),
            config,
            keys,
            operator_id,
            agent,
            follower,
            metrics,
            http: alloy::transports::http::reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            rewards: tokio::sync::OnceCell::new(),
            tokens: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The operator id this node signs as.
    pub fn operator_id(&self) -> OperatorId {
        self.operator_id
    }

    /// The slashing-protection record.
    pub fn protection(&self) -> &SlashingProtection {
        &self.protection
    }

    /// Runs until `shutdown` turns true: first re-sends every signature the aggregator has not
    /// acknowledged, then follows the chain from the cursor, handling every `TaskOpened`.
    pub async fn run(
        self: Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), NodeError> {
        let chain_id = self.provider.get_chain_id().await?;
        // Records of the first schema are re-keyed before anything is signed or re-sent, so that
        // both see them.
        self.adopt_legacy_records(chain_id).await?;
        // Bounded concurrency for submissions, so a slow aggregator cannot pile up tasks.
        let submissions = Arc::new(Semaphore::new(16));
        for record in self.protection.undelivered().await? {
            tracing::info!(
                task_id = record.attestation.task_id,
                output_hash = %record.output_hash,
                trace_length = record.trace.len(),
                "re-sending a signature the aggregator has not acknowledged"
            );
            self.spawn_submit(
                SignedTask::from_record(&record, self.operator_id),
                &submissions,
            )
            .await;
        }
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            match self.follower.next().await {
                Ok(step @ Step::Range { from, to, .. }) => {
                    match self.scan(chain_id, from, to, &submissions).await {
                        Ok(()) => self.follower.done(step).await?,
                        Err(error) => {
                            tracing::warn!(%error, from, to, "scan failed; retrying");
                            self.pause(&mut shutdown).await;
                        }
                    }
                    continue;
                }
                Ok(Step::Reorged { .. }) => {
                    self.metrics.reorgs.with_label_values(&["operator"]).inc();
                    continue;
                }
                Ok(Step::CaughtUp { .. }) => {}
                Err(error) => tracing::warn!(%error, "following the chain failed; retrying"),
            }
            self.pause(&mut shutdown).await;
        }
    }

    async fn pause(&self, shutdown: &mut watch::Receiver<bool>) {
        tokio::select! {
            _ = tokio::time::sleep(self.config.poll_interval) => {}
            _ = shutdown.changed() => {}
        }
    }

    async fn scan(
        self: &Arc<Self>,
        chain_id: u64,
        from: u64,
        to: u64,
        submissions: &Arc<Semaphore>,
    ) -> Result<(), NodeError> {
        // First: a failure here retries the range before any task in it is handled.
        self.count_fees(from, to).await?;
        let opened = self
            .follower
            .events::<WardenTaskManager::TaskOpened>(self.config.task_manager, from, to)
            .await?;
        for (event, _) in opened {
            let task_id = event.taskId;
            match self.sign_task(chain_id, &event).await {
                Ok(Some(signed)) => {
                    warden_runtime::failpoint(FAILPOINT_AFTER_SIGNING).await;
                    self.spawn_submit(signed, submissions).await;
                }
                Ok(None) => {}
                // The record could not be read or written: nothing may be signed without it, and
                // the range is scanned again.
                Err(NodeError::Store(error)) => return Err(NodeError::Store(error)),
                Err(error) => {
                    self.metrics.tasks.with_label_values(&["invalid"]).inc();
                    tracing::error!(task_id, %error, "not signing this task")
                }
            }
        }
        Ok(())
    }

    /// Adds the task fees accrued to this operator in blocks `from..=to` to
    /// `eigen_fees_earned_total`.
    async fn count_fees(&self, from: u64, to: u64) -> Result<(), NodeError> {
        let Some(rewards) = self.rewards_contract().await? else {
            return Ok(());
        };
        let operator = self.keys.ecdsa.address();
        let accrued = self
            .follower
            .events::<WardenRewards::RewardAccrued>(rewards, from, to)
            .await?;
        for (event, _) in accrued
            .into_iter()
            .filter(|(event, _)| event.operator == operator)
        {
            let (label, decimals) = self.token_label(event.token).await?;
            // f64 carries 53 bits: exact for any fee below 9e15 base units, close beyond.
            let base_units = u128::try_from(event.amount).map_or(f64::MAX, |amount| amount as f64);
            let amount = base_units / 10f64.powi(i32::from(decimals));
            self.metrics
                .fees_earned
                .with_label_values(&[label.as_str()])
                .inc_by(amount);
            tracing::info!(task_id = event.taskId, token = %label, amount = %event.amount, "task fee earned");
        }
        Ok(())
    }

    /// The registry's rewards distributor, once it has one.
    async fn rewards_contract(&self) -> Result<Option<Address>, NodeError> {
        if let Some(rewards) = self.rewards.get() {
            return Ok(Some(*rewards));
        }
        let registry = WardenTaskManager::new(self.config.task_manager, &self.provider)
            .registry()
            .call()
            .await?;
        let rewards = WardenRegistry::new(registry, &self.provider)
            .rewardsDistributor()
            .call()
            .await?;
        if rewards.is_zero() {
            return Ok(None);
        }
        let _ = self.rewards.set(rewards);
        Ok(Some(rewards))
    }

    /// A reward token's symbol (its address if it has none) and decimals (18 if it has none).
    async fn token_label(&self, token: Address) -> Result<(String, u8), NodeError> {
        if let Some(known) = self
            .tokens
            .lock()
            .ok()
            .and_then(|tokens| tokens.get(&token).cloned())
        {
            return Ok(known);
        }
        let erc20 = DevnetToken::new(token, &self.provider);
        let symbol = erc20
            .symbol()
            .call()
            .await
            .unwrap_or_else(|_| token.to_string());
        let decimals = erc20.decimals().call().await.unwrap_or(18);
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(token, (symbol.clone(), decimals));
        }
        Ok((symbol, decimals))
    }

    async fn spawn_submit(self: &Arc<Self>, signed: SignedTask, submissions: &Arc<Semaphore>) {
        let Ok(permit) = submissions.clone().acquire_owned().await else {
            return;
        };
        let node = Arc::clone(self);
        tokio::spawn(async move {
            node.submit(&signed).await;
            drop(permit);
        });
    }

    /// Moves the first schema's records to the signing-root record (see
    /// [`crate::slashing_protection::adopt_legacy`]), reading each one's agent hash from the task
    /// manager.
    async fn adopt_legacy_records(&self, chain_id: u64) -> Result<(), NodeError> {
        let legacy = self.protection.legacy().await?;
        if legacy.is_empty() {
            return Ok(());
        }
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let mut agents = std::collections::BTreeMap::new();
        for record in &legacy {
            if let std::collections::btree_map::Entry::Vacant(entry) = agents.entry(record.agent_id)
            {
                let agent = task_manager.getAgent(record.agent_id).call().await?;
                entry.insert((agent.agentHash, agent.verifier));
            }
        }
        let adoption = crate::slashing_protection::adopt_legacy(
            &self.protection,
            &legacy,
            &self.keys.bls.public_key(),
            chain_id,
            self.config.task_manager,
            &agents,
        )
        .await?;
        tracing::info!(
            adopted = adoption.adopted,
            left = adoption.left,
            "re-keyed slashing-protection records of the first schema by signing root"
        );
        Ok(())
    }

    /// Runs the agent on the task's snapshot and signs the result (its output hash and the hash
    /// of its activation trace, which the record and the submission carry), unless the task is
    /// for another agent. When the record already holds a signature for this task's signing root,
    /// that signature is returned and nothing new is signed, whatever the agent says now.
    pub async fn sign_task(
        &self,
        chain_id: u64,
        event: &WardenTaskManager::TaskOpened,
    ) -> Result<Option<SignedTask>, NodeError> {
        let task_id = event.taskId;
        let bad = |reason: String| NodeError::BadTask { task_id, reason };
        if alloy::primitives::keccak256(&event.input) != event.inputHash {
            return Err(bad(
                "the snapshot does not hash to the task's input hash".into()
            ));
        }
        // The agent hash is part of the signing root: read it before looking at the record.
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let agent = task_manager.getAgent(event.agentId).call().await?;
        let task = TaskAttestation {
            chain_id,
            task_manager: self.config.task_manager,
            task_id,
            agent_id: event.agentId,
            agent_hash: agent.agentHash,
            verifier: agent.verifier,
            input_hash: event.inputHash,
            reference_block: event.referenceBlock,
        };
        if let Some(record) = self.protection.find(task.signing_root()).await? {
            self.metrics.tasks.with_label_values(&["resent"]).inc();
            tracing::info!(task_id, output_hash = %record.output_hash, trace_length = record.trace.len(), "already signed; sending the recorded signature");
            return Ok(Some(SignedTask::from_record(&record, self.operator_id)));
        }
        let own = self.agent.agent_hash();
        if agent.agentHash != own || !self.config.allowlist.accepts_hash(agent.agentHash, &[own]) {
            self.metrics.tasks.with_label_values(&["other_agent"]).inc();
            tracing::debug!(
                task_id,
                agent_id = event.agentId,
                "task for another agent; not ours to sign"
            );
            return Ok(None);
        }
        if !self
            .verifiers
            .accepts(&self.provider, agent.verifier)
            .await
            .map_err(NodeError::Rpc)?
        {
            self.metrics
                .tasks
                .with_label_values(&["other_verifier"])
                .inc();
            tracing::warn!(
                task_id,
                agent_id = event.agentId,
                verifier = %agent.verifier,
                "the agent's verifier code is not in operator.allowlist.verifier_code_hashes; not signing"
            );
            return Ok(None);
        }
        let input = AgentInput::decode(&event.input)
            .map_err(|e| bad(format!("undecodable snapshot: {e}")))?;
        let started = Instant::now();
        let decision = self
            .agent
            .decide_traced(&input)
            .map_err(|e| bad(format!("agent failed: {e}")))?;
        self.metrics
            .agent_run
            .observe(started.elapsed().as_secs_f64());
        let action = decision.action;
        // The task manager refuses a longer trace: signing it would commit to a run no quorum can
        // commit, and leave it on record for good.
        if decision.trace.len() > MAX_TRACE_LENGTH {
            return Err(bad(format!(
                "the agent's trace has {} chunk hashes; a commitment carries at most {MAX_TRACE_LENGTH}",
                decision.trace.len()
            )));
        }
        let output = action.encode();
        let output_hash = action.output_hash();
        let trace_hash = trace_hash(&decision.trace);
        let signature = self.keys.bls.sign(
            task.with_output(output_hash, trace_hash)
                .digest()
                .as_slice(),
        );
        let signed = SignedOutput {
            attestation: task,
            output_hash,
            output: output.clone(),
            signature: Bytes::copy_from_slice(&signature.to_compressed()),
            trace: decision.trace,
            delivered: false,
        };
        // The record is written before the signature can leave the process.
        match self.protection.record(&signed).await? {
            Recorded::New => {
                self.metrics.tasks.with_label_values(&["signed"]).inc();
                tracing::info!(
                    task_id,
                    action = ?action.kind,
                    %output_hash,
                    trace_length = signed.trace.len(),
                    agent_micros = started.elapsed().as_micros() as u64,
                    "signed task output"
                );
                Ok(Some(SignedTask::from_record(&signed, self.operator_id)))
            }
            Recorded::Existing(record) => {
                if record.output_hash != output_hash || record.trace_hash() != trace_hash {
                    tracing::warn!(
                        task_id,
                        recorded = %record.output_hash,
                        proposed = %output_hash,
                        recorded_trace = %record.trace_hash(),
                        proposed_trace = %trace_hash,
                        "the agent now decides differently; sending the recorded signature, never a second one"
                    );
                }
                self.metrics.tasks.with_label_values(&["resent"]).inc();
                Ok(Some(SignedTask::from_record(&record, self.operator_id)))
            }
        }
    }

    /// Sends a signature to the aggregators until the task can no longer commit: retried with
    /// backoff while an aggregator is unreachable or busy, to fallbacks as their turn comes (see
    /// [`Delivery`]), and settled only once the chain says the task is committed or closed, or
    /// its response window has passed. Returns whether an aggregator took it. The record is then
    /// marked delivered; a node stopped before that sends it again on its next start.
    pub async fn submit(&self, signed: &SignedTask) -> bool {
        let task_id = signed.submission.task_id;
        let mut answers: std::collections::HashMap<Url, Answer> = std::collections::HashMap::new();
        let mut backoff = INITIAL_BACKOFF;
        loop {
            let (opened_at, head) = match self.task_window(task_id).await {
                Ok(TaskWindow::Open { opened_at, head }) => (opened_at, head),
                Ok(TaskWindow::Closed { reason, expired }) => {
                    let taken = answers.values().any(|answer| *answer == Answer::Taken);
                    if !taken && expired {
                        self.metrics
                            .submissions
                            .with_label_values(&["gave_up"])
                            .inc();
                        self.metrics.update_score();
                        tracing::warn!(
                            task_id,
                            reason,
                            "no aggregator took the signature while the task could commit"
                        );
                    } else if !taken {
                        // Committed or closed without it: a signature too late to count is no
                        // failure of this node.
                        self.metrics.submissions.with_label_values(&["late"]).inc();
                        tracing::info!(
                            task_id,
                            reason,
                            "the task was settled before the signature reached an aggregator"
                        );
                    }
                    self.delivered(signed).await;
                    return taken;
                }
                Err(error) => {
                    tracing::warn!(task_id, %error, "could not read the task's state; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            let mut retry = false;
            for target in self.config.delivery.targets(task_id, opened_at, head) {
                if matches!(answers.get(target), Some(Answer::Taken | Answer::Refused)) {
                    continue;
                }
                let answer = self.send_to(target, signed).await;
                match answer {
                    Answer::Taken => {
                        self.metrics
                            .submissions
                            .with_label_values(&["accepted"])
                            .inc();
                        self.metrics.update_score();
                    }
                    Answer::Refused => {
                        self.metrics
                            .submissions
                            .with_label_values(&["refused"])
                            .inc();
                        self.metrics.update_score();
                    }
                    Answer::TaskDone => {
                        self.delivered(signed).await;
                        return answers.values().any(|answer| *answer == Answer::Taken);
                    }
                    Answer::Retry => retry = true,
                }
                answers.insert(target.clone(), answer);
            }
            // Back off while an aggregator fails; once every target has it, watch the chain at
            // the poll interval for the commitment or a fallback's turn.
            let pause = if retry {
                let pause = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                pause
            } else {
                backoff = INITIAL_BACKOFF;
                self.config.poll_interval
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// One attempt to hand `signed` to the aggregator at `base`.
    async fn send_to(&self, base: &Url, signed: &SignedTask) -> Answer {
        let task_id = signed.submission.task_id;
        let url = match base.join(SIGNATURES_PATH) {
            Ok(url) => url,
            Err(error) => {
                tracing::error!(aggregator = %base, %error, "invalid aggregator URL");
                return Answer::Refused;
            }
        };
        let response = match self.http.post(url).json(&signed.submission).send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(task_id, aggregator = %base, %error, "aggregator unreachable; sending again");
                return Answer::Retry;
            }
        };
        let status = response.status();
        if status.is_success() {
            let receipt = response.json::<SubmissionReceipt>().await.ok();
            tracing::info!(task_id, aggregator = %base, status = ?receipt.map(|r| r.status), "aggregator took the signature");
            return Answer::Taken;
        }
        let error = response.json::<ApiError>().await.ok();
        let answer = Answer::of(status, error.as_ref().map(|error| error.code.as_str()));
        let message = error.as_ref().map(|error| error.message.as_str());
        match answer {
            Answer::Refused => {
                tracing::error!(task_id, aggregator = %base, %status, code = ?error.as_ref().map(|e| &e.code), ?message, "aggregator refused the signature")
            }
            Answer::Retry => {
                tracing::warn!(task_id, aggregator = %base, %status, ?message, "aggregator cannot take the signature now; sending again")
            }
            Answer::TaskDone => {
                tracing::info!(task_id, aggregator = %base, ?message, "the task is settled; nothing more to send")
            }
            Answer::Taken => {}
        }
        answer
    }

    /// Whether the task can still be committed, read from the task manager.
    async fn task_window(&self, task_id: u64) -> Result<TaskWindow, NodeError> {
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let task = task_manager.getTask(task_id).call().await?;
        let (reason, expired) = match warden_protocol::TaskState::try_from(task.state) {
            Ok(warden_protocol::TaskState::Open) => {
                let last_live = task_manager.lastLiveBlock(task_id).call().await?;
                let head = self.provider.get_block_number().await?;
                if alloy::primitives::U256::from(head) > last_live {
                    ("its response window has passed", true)
                } else {
                    return Ok(TaskWindow::Open {
                        opened_at: u64::from(task.openedAt),
                        head,
                    });
                }
            }
            Ok(warden_protocol::TaskState::None) => ("the task manager does not know it", false),
            Ok(warden_protocol::TaskState::Expired) => ("it expired uncommitted", true),
            Ok(_) => ("it is no longer open", false),
            Err(_) => ("the task manager reports an unknown state", false),
        };
        Ok(TaskWindow::Closed { reason, expired })
    }

    /// The signature needs sending no more: not even after a restart.
    async fn delivered(&self, signed: &SignedTask) {
        if let Err(error) = self.protection.mark_delivered(signed.signing_root).await {
            self.metrics
                .node
                .database_errors
                .with_label_values(&["mark_delivered"])
                .inc();
            tracing::warn!(task_id = signed.submission.task_id, %error, "could not mark the signature delivered; it will be sent again");
        }
    }
}

/// Whether a task can still be committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskWindow {
    Open {
        opened_at: u64,
        head: u64,
    },
    /// `expired`: the task can never be committed (its window passed without a commitment).
    Closed {
        reason: &'static str,
        expired: bool,
    },
}
