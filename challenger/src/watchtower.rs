//! The watchtower: follows `OutputCommitted` through a durable, reorg-aware cursor, re-executes
//! the agent on each committed task's snapshot, challenges an output that differs while the
//! task's fraud-proof window is open (its reference block + the task manager's
//! `fraudProofWindow`: before the deadline the challenge stops the action; after a veto or the
//! execution it still slashes the signers and, for an executed action, repays the vault from the
//! slashed stake), and then drives the slashing of the fraudulent task's signers to completion in
//! bounded batches, and clears the slashed stake to the task manager's restitution contract,
//! which repays the robbed vault up to its proven loss.
//!
//! Everything it must not forget is in the database, so a crash at any point loses nothing and
//! repeats nothing that costs money:
//!
//! - **The cursor** (`chain_cursor`, follower `challenger:{address}`) records the hash of every
//!   block it stopped at. After downtime the watchtower resumes after the last block it judged:
//!   catch-up is the normal case, and a commitment made while it was down is challenged as long
//!   as its fraud-proof window is open. After a reorg it walks back to the newest stop still on
//!   the canonical chain and judges the new branch; a commitment that vanished with the old
//!   branch is not judged, and one that appears on the new branch is.
//! - **Claims** (`challenger_claims`) record every wrong commitment found and where it stands:
//!   `challenging` → `slashing` → `slashed`, or `closed` (with the reason in `detail`); a claim
//!   stays `slashing` until the slashed stake is cleared to the restitution contract too. A claim
//!   is written before any transaction is, and unfinished claims are driven on every step, so a
//!   restarted watchtower finishes what it started.
//! - **Transactions** go through the [`TxManager`] by intent ([`Intent::Challenge`],
//!   [`Intent::SlashSigners`], [`Intent::ClearSlash`], [`Intent::SettleRestitution`], a new
//!   attempt after a revert). An intent on record is never sent
//!   again, only waited for, so a crash after sending a challenge never pays a second bond.
//!
//! Receipts are awaited in background tasks: a challenge waiting for inclusion (and fee bumps)
//! does not stop the watchtower from judging the next commitment.
//!
//! Before any challenge is sent the task is re-read on the canonical chain, and the challenge is
//! simulated: if the on-chain verifier would agree with the committed output (this watchtower's
//! agent and the verifier disagree), the bond is kept rather than forfeited.
//!
//! A large agent ([`Agent::network`], issue 14) is judged by its committed run rather than its
//! output alone: its signers commit to an activation trace, which only the `commitOutput` call's
//! calldata holds, so the watchtower reads it from the transaction that emitted `OutputCommitted`
//! (see [`crate::trace`] for what it cannot read), finds the first step at which the run departs
//! from its own (`NetworkAgent::find_fraud`) and proves that one step with `challengeTrace`. The
//! claim keeps the trace; the step is recomputed from it whenever the challenge is prepared, so a
//! restarted watchtower sends (and seals) the same step without storing it.
//!
//! The bounty is paid only to a challenger that committed to its challenge in an earlier block
//! (`WardenChallenges.commitChallenge`), so that nobody who copies the challenge from the mempool
//! earns it. The watchtower first sends the commitment ([`Intent::CommitChallenge`]), waits until
//! it is on chain (the challenge then lands in a later block), and reveals with the salt. The salt
//! is derived from the watchtower's key and the task id, so a restarted watchtower reveals what it
//! committed to without storing anything new, and nobody else can compute it. A trace challenge's
//! commitment seals the step it shows (`keccak256(abi.encode(step))`) where an output challenge's
//! seals the expected output hash. When too little of the window is left to commit first, it
//! challenges without: the fraud is stopped, the bounty forgone.
//!
//! Limits, stated so that nobody relies on more: a claim's `committed_output_hash` and
//! `deadline` are those of the first wrong commitment found (the claims table has no way to
//! replace them); whenever the watchtower acts it re-reads the task's current commitment on
//! chain instead. A challenge or slashing transaction that was mined on a branch a reorg later
//! abandoned is on record as mined; the transaction manager does not re-broadcast it, so such a
//! claim waits (with a warning every step) for an operator's attention.
//!
//! The work is split by what it does: [`judging`](self) a commitment, driving [`claims`] through
//! their challenge and closing them, [`slashing`] a fraudulent task's signers in batches,
//! [`restitution`] of the slashed stake to the robbed vault, and waiting for [`receipts`] in the
//! background.

mod claims;
mod judging;
mod receipts;
mod restitution;
mod slashing;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use tokio::sync::watch;
use warden_agent::{Agent, FraudStep};
use warden_bindings::task_facts::{self, TaskFactsError};
use warden_bindings::task_manager::WardenTaskManager::getTaskCall;
use warden_bindings::{WardenChallenges, WardenRegistry, WardenTaskManager};
use warden_protocol::{TaskHashes, TaskState, UnknownTaskState};
use warden_runtime::follow::{ChainFollower, FollowError, Step};
use warden_runtime::metrics::MetricsError;
use warden_runtime::node_api::SyncProgress;
use warden_runtime::service::ServiceRuntime;
use warden_store::StoreError;
use warden_store::challenger::ClaimStore;
use warden_store::cursor::ChainCursor;
use warden_txm::{TxError, TxManager};

use crate::config::{ChallengerConfig, WatchtowerConfig};
use crate::metrics::{ChallengerMetrics, VerdictLabel};
use crate::preflight::{AgentWindows, ChainLimits, check_agent};
use crate::trace::TraceError;

pub use claims::CloseReason;
#[cfg(doc)]
use warden_txm::Intent;

/// The failpoint after a claim is on record and before its challenge is prepared.
pub const FAILPOINT_AFTER_CLAIM: &str = "challenger-after-claim-opened";
/// The failpoint after the challenge transaction is recorded and broadcast, before its receipt.
pub const FAILPOINT_AFTER_CHALLENGE_SENT: &str = "challenger-after-challenge-sent";

/// Attempts per transaction intent family: after a mined attempt reverts, the next one is a new
/// attempt (`…/retry/{n}`); after this many the claim waits for an operator's attention.
pub const MAX_ATTEMPTS: u32 = 3;

/// The cursor name of the watchtower sending from `address`: one per key, so several
/// watchtowers can share a database.
pub fn follower_name(address: Address) -> String {
    format!("challenger:{address}")
}

/// Why a step failed (it is retried), or the watchtower could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WatchtowerError {
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("task manager call failed: {0}")]
    Contract(Box<alloy::contract::Error>),
    #[error(transparent)]
    Facts(#[from] TaskFactsError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("following the chain: {0}")]
    Follow(#[from] FollowError),
    #[error(transparent)]
    Transaction(#[from] TxError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("non-signer {operator_id} of task {task_id} is not in the registry's operator id list")]
    UnknownNonSigner { task_id: u64, operator_id: B256 },
    #[error("the task manager reports task {task_id} in an {state}")]
    TaskState {
        task_id: u64,
        #[source]
        state: UnknownTaskState,
    },
    /// The node served a commitment's log but not the transaction that emitted it: a reorg under
    /// way (the follower then finds it), or a node that keeps no transaction index, on which the
    /// step keeps failing at this commitment (and says so every time) until it is pointed at one
    /// that does.
    #[error(
        "task {task_id}: the transaction {tx:?} that committed its trace is not available from the node"
    )]
    TraceTransaction { task_id: u64, tx: Option<B256> },
    /// A claim's trace could neither be taken from the database nor read from the chain.
    #[error(transparent)]
    Trace(#[from] TraceError),
}

warden_runtime::boxed_contract_error!(WatchtowerError, Contract);

/// What the watchtower concluded about one commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The agent computes the same output.
    Correct,
    /// The output is wrong: a claim is open and its challenge under way.
    Wrong,
    /// A large agent's committed run is wrong at the step described (its kind, and the layer and
    /// chunk of an output chunk): a claim is open and its `challengeTrace` under way.
    WrongRun(String),
    /// The output is wrong and a claim was already on record (a range judged again after a
    /// restart or a reorg): the claim carries on, nothing new is sent.
    AlreadyClaimed,
    /// The output is wrong but could no longer be challenged when the watchtower saw it.
    Missed(&'static str),
    /// The task is another agent's.
    OtherAgent,
    /// The task's commitment on the canonical chain is not this one: a reorg replaced or removed
    /// it (the follower finds what replaced it).
    Superseded,
    /// The agent refuses the input (outside its domain): the verifier would revert too, so no
    /// challenge could prove anything.
    Unjudgeable(String),
    /// Nothing to do: someone else's challenge was upheld, or the owner vetoed it.
    Settled(&'static str),
    /// A large agent's commitment whose trace could not be read from its transaction (a contract
    /// forwarded the commitment): it cannot be judged, nor challenged, by this watchtower.
    Untraceable(TraceError),
}

impl Verdict {
    fn label(&self) -> VerdictLabel {
        match self {
            Verdict::Correct => VerdictLabel::Correct,
            Verdict::Wrong | Verdict::WrongRun(_) | Verdict::AlreadyClaimed => VerdictLabel::Wrong,
            Verdict::Missed(_) => VerdictLabel::Missed,
            Verdict::OtherAgent => VerdictLabel::OtherAgent,
            Verdict::Superseded => VerdictLabel::Superseded,
            Verdict::Unjudgeable(_) => VerdictLabel::Unjudgeable,
            Verdict::Settled(_) => VerdictLabel::Settled,
            Verdict::Untraceable(_) => VerdictLabel::Untraceable,
        }
    }
}

#[derive(Debug)]
pub struct Watchtower {
    task_manager: Address,
    /// The task manager's challenges contract: challenges, bonds and slashing go there.
    challenges: Address,
    /// The task manager's restitution contract: slashed stake is cleared to it, and it repays
    /// robbed vaults.
    restitution: Address,
    settings: WatchtowerConfig,
    poll_interval: Duration,
    /// Reads, retried on transport failures.
    provider: DynProvider,
    txm: TxManager,
    agent: Arc<dyn Agent>,
    follower: ChainFollower,
    claims: ClaimStore,
    metrics: ChallengerMetrics,
    limits: ChainLimits,
    /// Set while the follower is far behind (at start, after a reorg), to log once caught up.
    catching_up: AtomicBool,
    /// Whether each agent seen is the one this watchtower runs. Read once per agent: an agent's
    /// configuration never changes after registration.
    ours: Mutex<HashMap<u64, bool>>,
    /// The committed non-signers of tasks being slashed, as the registry positions the first
    /// `slashSigners` batch carries; found once per task.
    non_signers: Mutex<HashMap<u64, Vec<u32>>>,
    /// The task manager's challenge bond (immutable).
    bond: Mutex<Option<U256>>,
    /// Each wrong task's input and committed output, read from the chain's events once: judging
    /// reads them, the challenge sends them.
    evidence: Mutex<HashMap<u64, Evidence>>,
    waiters: Arc<Mutex<receipts::Waiters>>,
    /// The secret the salts of this watchtower's challenge commitments are derived from.
    salts: SaltKey,
}

/// A secret derived from the watchtower's private key; its `Debug` shows nothing of it.
struct SaltKey(B256);

impl std::fmt::Debug for SaltKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SaltKey(..)")
    }
}

impl SaltKey {
    fn new(signer: &PrivateKeySigner) -> Self {
        let mut material = b"warden challenge salt v1".to_vec();
        material.extend_from_slice(signer.to_bytes().as_slice());
        Self(keccak256(material))
    }

    /// The salt of the commitment to a challenge of `task_id`.
    fn salt(&self, task_id: u64) -> B256 {
        let mut material = self.0.to_vec();
        material.extend_from_slice(&task_id.to_be_bytes());
        keccak256(material)
    }
}

/// A wrong commitment's task input, committed output, trace hash and non-signer hash: what a
/// challenge re-executes, and with which it opens the task's commitment hash; and, for a large
/// agent, the committed trace, which a trace challenge sends whole.
#[derive(Debug, Clone)]
struct Evidence {
    input: Bytes,
    output: Bytes,
    trace_hash: B256,
    non_signer_hash: B256,
    /// The trace hashing to `trace_hash` when this watchtower's agent is judged by its trace;
    /// empty otherwise (an output challenge sends only the hash).
    trace: Vec<B256>,
}

impl Evidence {
    /// The commitment hash this evidence opens (`getTask(..).commitmentHash` when it is current).
    fn commitment(&self) -> B256 {
        TaskHashes {
            input_hash: keccak256(&self.input),
            output_hash: keccak256(&self.output),
            trace_hash: self.trace_hash,
            non_signer_hash: self.non_signer_hash,
        }
        .commitment()
    }
}

/// A task as the task manager stores it (`getTask`).
type OnChainTask = <getTaskCall as SolCall>::Return;

impl Watchtower {
    /// A watchtower for `config`, paying bonds and gas from `signer`'s account, with its cursor,
    /// claims and transactions in `runtime`'s database. `limits` come from the start-up checks
    /// ([`crate::preflight::check`]); `progress` is shared with the node API's sync probe.
    pub async fn new(
        config: &ChallengerConfig,
        runtime: &ServiceRuntime,
        signer: PrivateKeySigner,
        agent: Arc<dyn Agent>,
        limits: ChainLimits,
        progress: Arc<SyncProgress>,
    ) -> Result<Self, WatchtowerError> {
        let metrics =
            ChallengerMetrics::register(&runtime.telemetry, runtime.node_metrics.clone())?;
        let address = signer.address();
        let salts = SaltKey::new(&signer);
        let txm = runtime
            .transaction_manager(signer, &config.transactions)
            .await?;
        let follower = ChainFollower::new(
            runtime.provider.clone(),
            ChainCursor::new(runtime.store.clone(), follower_name(address)),
            // Nothing of Warden's is older than its deployment.
            config
                .challenger
                .start_block
                .max(config.chain.deployed_at_block),
            config.challenger.max_block_range,
            progress,
        );
        let task_manager = WardenTaskManager::new(config.chain.task_manager, &runtime.provider);
        let challenges = task_manager.challenges().call().await?;
        let restitution = task_manager.restitution().call().await?;
        Ok(Self {
            task_manager: config.chain.task_manager,
            challenges,
            restitution,
            settings: config.challenger.clone(),
            poll_interval: config.chain.poll_interval(),
            provider: runtime.provider.clone(),
            txm,
            agent,
            follower,
            claims: ClaimStore::new(runtime.store.clone()),
            metrics,
            limits,
            catching_up: AtomicBool::new(true),
            ours: Mutex::default(),
            non_signers: Mutex::default(),
            bond: Mutex::default(),
            evidence: Mutex::default(),
            waiters: Arc::default(),
            salts,
        })
    }

    /// The account challenges are sent from.
    pub fn address(&self) -> Address {
        self.txm.address()
    }

    /// The claims on record.
    pub fn claims(&self) -> &ClaimStore {
        &self.claims
    }

    /// The transaction manager sending the watchtower's transactions.
    pub fn transactions(&self) -> &TxManager {
        &self.txm
    }

    /// Runs until `shutdown` turns true: drives the claims left unfinished by an earlier run,
    /// then follows the chain. A failed step (RPC or database down) is logged and retried: the
    /// cursor only moves past a range once every commitment in it is judged.
    pub async fn run(
        self: Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), WatchtowerError> {
        tracing::info!(challenger = %self.address(), task_manager = %self.task_manager, "watchtower running");
        if let Err(error) = self.drive_claims().await {
            tracing::warn!(%error, "resuming unfinished claims failed; retrying");
        }
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.step().await {
                Ok(false) => continue,
                Ok(true) => {}
                Err(error) => {
                    if matches!(
                        error,
                        WatchtowerError::Store(_) | WatchtowerError::Follow(FollowError::Store(_))
                    ) {
                        self.metrics.count_database_error("watchtower_step");
                    }
                    tracing::warn!(%error, "watchtower step failed; retrying");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll_interval) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        self.stop_waiting();
        tracing::info!("watchtower stopped");
        Ok(())
    }

    /// Follows the chain up to its head, judging every commitment on the way, and advances every
    /// unfinished claim once. What [`run`](Self::run) does between two pauses; for tests and
    /// tools that drive the watchtower step by step.
    pub async fn sync(&self) -> Result<(), WatchtowerError> {
        while !self.step().await? {}
        Ok(())
    }

    /// One step: a range judged, a reorg undone, or nothing new; then every unfinished claim
    /// advances. Returns whether the watchtower is caught up.
    async fn step(&self) -> Result<bool, WatchtowerError> {
        let caught_up = match self.follower.next().await? {
            step @ Step::Range { from, to, .. } => {
                if to - from >= self.settings.max_lag_blocks {
                    self.catching_up.store(true, Ordering::Relaxed);
                }
                self.scan(from, to).await?;
                self.follower.done(step).await?;
                if let Err(error) = self.observe_bounty_pool().await {
                    tracing::warn!(%error, "reading the bounty pool failed");
                }
                false
            }
            Step::Reorged {
                abandoned,
                resume_from,
            } => {
                self.metrics.reorgs.with_label_values(&["challenger"]).inc();
                self.catching_up.store(true, Ordering::Relaxed);
                tracing::warn!(
                    abandoned,
                    resume_from,
                    "a reorg replaced blocks already judged: judging the new branch"
                );
                false
            }
            Step::CaughtUp { head } => {
                if self.catching_up.swap(false, Ordering::Relaxed) {
                    tracing::info!(head, "caught up with the chain");
                }
                true
            }
        };
        self.drive_claims().await?;
        Ok(caught_up)
    }

    /// Judges every `OutputCommitted` in blocks `from..=to`.
    async fn scan(&self, from: u64, to: u64) -> Result<(), WatchtowerError> {
        let commitments = self
            .follower
            .events::<WardenTaskManager::OutputCommitted>(self.task_manager, from, to)
            .await?;
        for (event, log) in commitments {
            let verdict = self.judge(&event, &log).await?;
            self.metrics.verdict(verdict.label());
            tracing::info!(
                task_id = event.taskId,
                commit_block = log.block_number,
                ?verdict,
                "commitment judged"
            );
        }
        Ok(())
    }

    /// The first step at which the run `evidence` commits (its output and trace) departs from
    /// this watchtower's large agent's own; `None` when it is the agent's run (or the agent is not
    /// a large one), `Err` with the reason the agent refuses the input. Recomputed whenever it is
    /// needed, never stored: every attempt, and every restart, shows and seals the same step.
    fn fraud_step(&self, evidence: &Evidence) -> Result<Option<FraudStep>, String> {
        let Some(network) = self.agent.network() else {
            return Ok(None);
        };
        let input = warden_agent::AgentInput::decode(&evidence.input)
            .map_err(|error| format!("agent input: {error}"))?;
        let started = Instant::now();
        let found = network.find_fraud(&input, &evidence.output, &evidence.trace);
        self.metrics
            .agent_run
            .observe(started.elapsed().as_secs_f64());
        found.map_err(|error| error.to_string())
    }

    /// The trace task `task_id` was committed with (hashing to `expected`), from the calldata of
    /// the transaction that emitted its `OutputCommitted` `log`. The inner error is final for that
    /// transaction (see [`crate::trace`]); the outer one is worth retrying.
    async fn read_trace(
        &self,
        task_id: u64,
        log: &alloy::rpc::types::Log,
        expected: B256,
    ) -> Result<Result<Vec<B256>, TraceError>, WatchtowerError> {
        use alloy::consensus::Transaction as _;
        use alloy::providers::Provider as _;
        let Some(tx_hash) = log.transaction_hash else {
            return Err(WatchtowerError::TraceTransaction { task_id, tx: None });
        };
        let Some(tx) = self.provider.get_transaction_by_hash(tx_hash).await? else {
            return Err(WatchtowerError::TraceTransaction {
                task_id,
                tx: Some(tx_hash),
            });
        };
        Ok(crate::trace::committed_trace(
            tx_hash,
            tx.to(),
            tx.input(),
            self.task_manager,
            task_id,
            expected,
        ))
    }

    /// Runs the agent on an encoded snapshot: the encoded action, or why it refuses.
    fn run_agent(&self, input: &Bytes) -> Result<Bytes, String> {
        let started = Instant::now();
        let decided = self.agent.decide_encoded(input);
        self.metrics
            .agent_run
            .observe(started.elapsed().as_secs_f64());
        decided
            .map(|action| action.encode())
            .map_err(|error| error.to_string())
    }

    /// Whether `agent_id` runs this watchtower's agent (same agent hash). An agent registered
    /// after start-up gets the start-up check too; failing it is logged, not fatal: judging it
    /// late is still better than not at all.
    /// The last block in which a challenge of `task` can land: its reference block + the task
    /// manager's fraud-proof window.
    fn provable_until(&self, task: &OnChainTask) -> u64 {
        u64::from(task.referenceBlock) + u64::from(self.limits.fraud_proof_window)
    }

    /// The task as the task manager stores it, with its state: the one place the chain's state
    /// number becomes a [`TaskState`].
    async fn task(&self, task_id: u64) -> Result<(TaskState, OnChainTask), WatchtowerError> {
        let task = WardenTaskManager::new(self.task_manager, &self.provider)
            .getTask(task_id)
            .call()
            .await?;
        let state = TaskState::try_from(task.state)
            .map_err(|state| WatchtowerError::TaskState { task_id, state })?;
        Ok((state, task))
    }

    /// The task's input, from its `TaskOpened` event.
    async fn input(&self, task_id: u64, opened_at: u32) -> Result<Bytes, WatchtowerError> {
        Ok(task_facts::task_input(&self.provider, self.task_manager, task_id, opened_at).await?)
    }

    async fn is_ours(&self, agent_id: u64) -> Result<bool, WatchtowerError> {
        let known = lock(&self.ours).get(&agent_id).copied();
        if let Some(ours) = known {
            return Ok(ours);
        }
        let task_manager = WardenTaskManager::new(self.task_manager, &self.provider);
        let agent = task_manager.getAgent(agent_id).call().await?;
        let ours = agent.agentHash == self.agent.agent_hash();
        if ours {
            let windows = AgentWindows {
                agent_id,
                response_window: agent.responseWindow,
                challenge_window: agent.challengeWindow,
            };
            if let Err(error) = check_agent(windows, &self.limits) {
                tracing::error!(%error, "this watchtower may not protect this agent in time");
            }
        }
        lock(&self.ours).insert(agent_id, ours);
        Ok(ours)
    }

    async fn bond(&self) -> Result<U256, WatchtowerError> {
        if let Some(bond) = *lock(&self.bond) {
            return Ok(bond);
        }
        let bond = WardenChallenges::new(self.challenges, &self.provider)
            .challengeBond()
            .call()
            .await?;
        *lock(&self.bond) = Some(bond);
        Ok(bond)
    }

    /// Reads the bounty pool into the pool-health metrics.
    async fn observe_bounty_pool(&self) -> Result<(), WatchtowerError> {
        let challenges = WardenChallenges::new(self.challenges, &self.provider);
        let pool = challenges.bountyPool().call().await?;
        let bounty = challenges.challengeBounty().call().await?;
        let wei = |value: U256| u128::try_from(value).unwrap_or(u128::MAX);
        self.metrics.bounty_pool(wei(pool), wei(bounty));
        if pool < bounty {
            tracing::warn!(%pool, %bounty, "the bounty pool no longer covers one challenge bounty");
        }
        Ok(())
    }

    /// What the first `slashSigners` batch of a fraudulent task carries: the positions, in the
    /// registry's operator id list, of the non-signers the task was committed with, in committed
    /// order (the contract hashes their ids against the commitment and records them; later batches
    /// send none). Found by reading the id list once per fraudulent task.
    async fn committed_non_signer_indices(
        &self,
        task_id: u64,
        opened_at: u32,
    ) -> Result<Vec<u32>, WatchtowerError> {
        if let Some(known) = lock(&self.non_signers).get(&task_id) {
            return Ok(known.clone());
        }
        let commitment =
            task_facts::commitment(&self.provider, self.task_manager, task_id, opened_at).await?;
        let mut indices = Vec::with_capacity(commitment.non_signers.len());
        if !commitment.non_signers.is_empty() {
            let challenges = WardenChallenges::new(self.challenges, &self.provider);
            let registry = WardenRegistry::new(challenges.registry().call().await?, &self.provider);
            let count = registry.operatorIdCount().call().await?;
            let mut positions = HashMap::new();
            let mut index = 0u32;
            while U256::from(index) < count && positions.len() < commitment.non_signers.len() {
                let id = registry.operatorIds(U256::from(index)).call().await?;
                if commitment.non_signers.contains(&id) {
                    positions.insert(id, index);
                }
                index += 1;
            }
            for operator_id in &commitment.non_signers {
                let Some(index) = positions.get(operator_id) else {
                    return Err(WatchtowerError::UnknownNonSigner {
                        task_id,
                        operator_id: *operator_id,
                    });
                };
                indices.push(*index);
            }
        }
        lock(&self.non_signers).insert(task_id, indices.clone());
        Ok(indices)
    }
}

/// Locks one of the watchtower's caches. They hold plain data that no panic can leave
/// half-written, so a poisoned lock is still sound to use.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
