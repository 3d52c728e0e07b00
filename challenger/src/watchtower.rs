//! The watchtower: follows `OutputCommitted` through a durable, reorg-aware cursor, re-executes
//! the agent on each committed task's snapshot, challenges an output that differs while its
//! challenge window is open, and then drives the slashing of the fraudulent task's signers to
//! completion in bounded batches.
//!
//! Everything it must not forget is in the database, so a crash at any point loses nothing and
//! repeats nothing that costs money:
//!
//! - **The cursor** (`chain_cursor`, follower `challenger:{address}`) records the hash of every
//!   block it stopped at. After downtime the watchtower resumes after the last block it judged:
//!   catch-up is the normal case, and a commitment made while it was down is challenged as long
//!   as its window is open. After a reorg it walks back to the newest stop still on the canonical
//!   chain and judges the new branch; a commitment that vanished with the old branch is not
//!   judged, and one that appears on the new branch is.
//! - **Claims** (`challenger_claims`) record every wrong commitment found and where it stands:
//!   `challenging` → `slashing` → `slashed`, or `closed` (with the reason in `detail`). A claim
//!   is written before any transaction is, and unfinished claims are driven on every step, so a
//!   restarted watchtower finishes what it started.
//! - **Transactions** go through the [`TxManager`] by intent: `challenge/task/{id}` and
//!   `slashSigners/task/{id}/from/{nextIndex}` (with `/retry/{n}` after a revert). An intent on
//!   record is never sent again, only waited for, so a crash after sending a challenge never pays
//!   a second bond.
//!
//! Receipts are awaited in background tasks: a challenge waiting for inclusion (and fee bumps)
//! does not stop the watchtower from judging the next commitment.
//!
//! Before any challenge is sent the task is re-read on the canonical chain, and the challenge is
//! simulated: if the on-chain verifier would agree with the committed output (this watchtower's
//! agent and the verifier disagree), the bond is kept rather than forfeited.
//!
//! Limits, stated so that nobody relies on more: a claim's `committed_output_hash` and
//! `deadline` are those of the first wrong commitment found (the claims table has no way to
//! replace them); whenever the watchtower acts it re-reads the task's current commitment on
//! chain instead. A challenge or slashing transaction that was mined on a branch a reorg later
//! abandoned is on record as mined; the transaction manager does not re-broadcast it, so such a
//! claim waits (with a warning every step) for an operator's attention.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_agent::Agent;
use warden_bindings::task_facts::{self, TaskFactsError};
use warden_bindings::task_manager::task_state;
use warden_bindings::{WardenChallenges, WardenTaskManager};
use warden_runtime::follow::{ChainFollower, FollowError, Step};
use warden_runtime::metrics::MetricsError;
use warden_runtime::node_api::SyncProgress;
use warden_runtime::rpc::RetryPolicy;
use warden_runtime::service::ServiceRuntime;
use warden_store::StoreError;
use warden_store::challenger::{Claim, ClaimState, ClaimStore};
use warden_store::cursor::ChainCursor;
use warden_txm::{Sent, TxError, TxManager, TxRecord, TxStatus};

use crate::config::{ChallengerConfig, WatchtowerConfig};
use crate::metrics::{ChallengeResult, ChallengerMetrics, VerdictLabel};
use crate::preflight::{AgentWindows, ChainLimits, check_agent};

/// The failpoint after a claim is on record and before its challenge is prepared.
pub const FAILPOINT_AFTER_CLAIM: &str = "challenger-after-claim-opened";
/// The failpoint after the challenge transaction is recorded and broadcast, before its receipt.
pub const FAILPOINT_AFTER_CHALLENGE_SENT: &str = "challenger-after-challenge-sent";

/// A claim closed because a reorg took its wrong commitment away has a detail starting with this.
/// Only such a claim is reopened when the wrong commitment comes back on a later branch; any other
/// closed claim (rejected, missed, withheld) stays closed, so no bond is ever put up twice for
/// the same reason.
pub const REORGED_OUT: &str = "reorged out:";

/// Attempts per transaction intent family: after a mined attempt reverts, the next one is
/// `…/retry/{n}`; after this many the claim waits for an operator's attention.
pub const MAX_ATTEMPTS: u32 = 3;

/// The intent of attempt `attempt` (0 first) at challenging `task_id`.
pub fn challenge_intent(task_id: u64, attempt: u32) -> String {
    with_attempt(format!("challenge/task/{task_id}"), attempt)
}

/// The intent of attempt `attempt` at the `slashSigners` batch of `task_id` starting at
/// operator index `next_index` (the task manager's slashing cursor).
pub fn slash_intent(task_id: u64, next_index: u32, attempt: u32) -> String {
    with_attempt(
        format!("slashSigners/task/{task_id}/from/{next_index}"),
        attempt,
    )
}

fn with_attempt(base: String, attempt: u32) -> String {
    if attempt == 0 {
        base
    } else {
        format!("{base}/retry/{attempt}")
    }
}

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
}

impl From<alloy::contract::Error> for WatchtowerError {
    fn from(error: alloy::contract::Error) -> Self {
        Self::Contract(Box::new(error))
    }
}

/// What the watchtower concluded about one commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The agent computes the same output.
    Correct,
    /// The output is wrong: a claim is open and its challenge under way.
    Wrong,
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
}

impl Verdict {
    fn label(&self) -> VerdictLabel {
        match self {
            Verdict::Correct => VerdictLabel::Correct,
            Verdict::Wrong | Verdict::AlreadyClaimed => VerdictLabel::Wrong,
            Verdict::Missed(_) => VerdictLabel::Missed,
            Verdict::OtherAgent => VerdictLabel::OtherAgent,
            Verdict::Superseded => VerdictLabel::Superseded,
            Verdict::Unjudgeable(_) => VerdictLabel::Unjudgeable,
            Verdict::Settled(_) => VerdictLabel::Settled,
        }
    }
}

/// Receipts being waited for in the background, by intent, and the outcomes not yet handled.
#[derive(Debug, Default)]
struct Waiters {
    waiting: HashMap<String, JoinHandle<()>>,
    done: HashMap<String, Result<Sent, TxError>>,
}

/// The watchtower.
#[derive(Debug)]
pub struct Watchtower {
    task_manager: Address,
    /// The task manager's challenges contract: challenges, bonds and slashing go there.
    challenges: Address,
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
    /// The committed non-signers of tasks being slashed, read once rather than per batch.
    non_signers: Mutex<HashMap<u64, Vec<B256>>>,
    /// The task manager's challenge bond (immutable).
    bond: Mutex<Option<U256>>,
    waiters: Arc<Mutex<Waiters>>,
}

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
        // The manager retries by itself; a retrying provider underneath would multiply waits.
        let unretried = warden_runtime::rpc::connect(
            config.chain.rpc_url.clone(),
            runtime.rpc_metrics.clone(),
            RetryPolicy::none(),
        );
        let txm = TxManager::new(
            unretried,
            signer,
            runtime.store.clone(),
            config.transactions.manager_config()?,
        )
        .await?;
        let follower = ChainFollower::new(
            runtime.provider.clone(),
            ChainCursor::new(runtime.store.clone(), follower_name(address)),
            config.challenger.start_block,
            config.challenger.max_block_range,
            progress,
        );
        let challenges = WardenTaskManager::new(config.chain.task_manager, &runtime.provider)
            .challenges()
            .call()
            .await?;
        Ok(Self {
            task_manager: config.chain.task_manager,
            challenges,
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
            waiters: Arc::default(),
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
        let filter = Filter::new()
            .address(self.task_manager)
            .event_signature(WardenTaskManager::OutputCommitted::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        for log in self.provider.get_logs(&filter).await? {
            let event = match WardenTaskManager::OutputCommitted::decode_log(&log.inner) {
                Ok(event) => event.data,
                Err(error) => {
                    tracing::warn!(%error, "undecodable OutputCommitted log; skipped");
                    continue;
                }
            };
            let verdict = self.judge(&event).await?;
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

    /// Re-executes a committed task and, when the output is wrong, opens a claim and sends its
    /// challenge.
    pub async fn judge(
        &self,
        event: &WardenTaskManager::OutputCommitted,
    ) -> Result<Verdict, WatchtowerError> {
        let task_id = event.taskId;
        let task_manager = WardenTaskManager::new(self.task_manager, &self.provider);
        let task = task_manager.getTask(task_id).call().await?;
        if task.outputHash != event.outputHash
            || matches!(task.state, task_state::NONE | task_state::OPEN)
        {
            return Ok(Verdict::Superseded);
        }
        if !self.is_ours(task.agentId).await? {
            return Ok(Verdict::OtherAgent);
        }
        let input =
            task_facts::task_input(&self.provider, self.task_manager, task_id, task.openedAt)
                .await?;
        let expected = match self.run_agent(&input) {
            Ok(expected) => expected,
            Err(reason) => {
                tracing::warn!(task_id, %reason, "the agent refuses this input; not challenging");
                return Ok(Verdict::Unjudgeable(reason));
            }
        };
        let expected_hash = keccak256(&expected);
        let existing = self.claims.get(task_id).await?;
        if expected_hash == event.outputHash {
            if let Some(claim) = existing {
                self.close_if_vanished(&claim, "the task now commits the correct output")
                    .await?;
            }
            return Ok(Verdict::Correct);
        }

        // Wrong. A claim on record carries on by itself, unless a reorg closed it.
        let reopening = match &existing {
            Some(claim)
                if claim.state == ClaimState::Closed && claim.detail.starts_with(REORGED_OUT) =>
            {
                true
            }
            Some(_) => return Ok(Verdict::AlreadyClaimed),
            None => false,
        };
        let claim = Claim {
            task_id,
            committed_output_hash: event.outputHash,
            expected_output_hash: expected_hash,
            deadline: u64::from(task.deadline),
            state: ClaimState::Challenging,
            detail: String::new(),
        };
        let head = self.provider.get_block_number().await?;
        let missed = match task.state {
            task_state::COMMITTED if head < claim.deadline => None,
            task_state::COMMITTED | task_state::EXECUTED => {
                Some(if task.state == task_state::EXECUTED {
                    "executed before the watchtower saw it"
                } else {
                    "its challenge window closed before the watchtower saw it"
                })
            }
            task_state::FRAUDULENT => {
                return Ok(Verdict::Settled("someone else's challenge was upheld"));
            }
            task_state::VETOED => return Ok(Verdict::Settled("vetoed by the vault owner")),
            _ => return Ok(Verdict::Settled("no longer committed")),
        };
        if let Some(why) = missed {
            tracing::error!(
                task_id,
                deadline = claim.deadline,
                head,
                committed = %event.outputHash,
                expected = %expected_hash,
                "wrong output missed: {why}"
            );
            let detail = format!(
                "missed: {why} (deadline {}, first seen at block {head})",
                claim.deadline
            );
            self.record_claim(claim, reopening, ClaimState::Closed, detail)
                .await?;
            return Ok(Verdict::Missed(why));
        }
        tracing::warn!(
            task_id,
            deadline = claim.deadline,
            head,
            committed = %event.outputHash,
            expected = %expected_hash,
            "wrong output committed: challenging"
        );
        let detail = if reopening {
            format!(
                "the wrong output {} is back on the canonical chain; challenging again",
                event.outputHash
            )
        } else {
            format!("wrong output found at block {head}; challenging")
        };
        let claim = self
            .record_claim(claim, reopening, ClaimState::Challenging, detail)
            .await?;
        warden_runtime::failpoint(FAILPOINT_AFTER_CLAIM).await;
        if let Err(error) = self.send_challenge(&claim).await {
            // The claim is on record: the next step tries again.
            tracing::warn!(task_id, %error, "challenge not sent yet; retrying");
        }
        Ok(Verdict::Wrong)
    }

    /// Opens `claim` in `state`, or moves a claim a reorg closed to `state`.
    async fn record_claim(
        &self,
        mut claim: Claim,
        reopening: bool,
        state: ClaimState,
        detail: String,
    ) -> Result<Claim, WatchtowerError> {
        claim.state = state;
        if reopening {
            self.claims.set_state(claim.task_id, state, &detail).await?;
            claim.detail = detail;
            Ok(claim)
        } else {
            claim.detail = detail;
            Ok(self.claims.open(&claim).await?)
        }
    }

    /// Advances every claim with work left; one claim's failure does not hold up the others.
    async fn drive_claims(&self) -> Result<(), WatchtowerError> {
        for claim in self.claims.unfinished().await? {
            let result = match claim.state {
                ClaimState::Challenging => self.drive_challenge(&claim).await,
                ClaimState::Slashing => self.drive_slashing(&claim).await,
                ClaimState::Slashed | ClaimState::Closed => Ok(()),
            };
            if let Err(error) = result {
                tracing::warn!(task_id = claim.task_id, state = claim.state.as_str(), %error, "claim not advanced; retrying");
            }
        }
        Ok(())
    }

    /// A `challenging` claim: waits for the challenge on record, or sends it.
    async fn drive_challenge(&self, claim: &Claim) -> Result<(), WatchtowerError> {
        let (_, record) = self
            .current_attempt(|attempt| challenge_intent(claim.task_id, attempt))
            .await?;
        let Some(record) = record else {
            return self.send_challenge(claim).await;
        };
        match self.outcome(&record) {
            None => Ok(()),
            Some(Ok(sent)) => self.challenge_mined(claim, sent).await,
            Some(Err(error)) => self.wait_failed(claim, &record, error),
        }
    }

    /// Re-checks the task on the canonical chain and, if its commitment is still wrong and
    /// challengeable, simulates and sends the challenge. Sends nothing while a challenge of the
    /// task is on record (pending or succeeded).
    async fn send_challenge(&self, claim: &Claim) -> Result<(), WatchtowerError> {
        let task_id = claim.task_id;
        let (intent, record) = self
            .current_attempt(|attempt| challenge_intent(task_id, attempt))
            .await?;
        if let Some(record) = record {
            self.watch_transaction(&record);
            return Ok(());
        }
        let Some(intent) = intent else {
            let detail = format!("gave up: {MAX_ATTEMPTS} challenges of this task reverted");
            tracing::error!(task_id, "{detail}");
            self.metrics.verdict(VerdictLabel::Missed);
            return self.close(task_id, &detail).await;
        };
        let task_manager = WardenTaskManager::new(self.task_manager, &self.provider);
        let task = task_manager.getTask(task_id).call().await?;
        match task.state {
            task_state::COMMITTED => {}
            task_state::OPEN => {
                // The wrong commitment went with a reorg; the task may be committed again (and
                // then judged again).
                tracing::info!(
                    task_id,
                    "the wrong commitment is no longer on the canonical chain; waiting"
                );
                return Ok(());
            }
            task_state::FRAUDULENT => {
                return self
                    .close(task_id, "someone else's challenge was upheld first")
                    .await;
            }
            task_state::EXECUTED => {
                self.metrics.verdict(VerdictLabel::Missed);
                return self
                    .close(task_id, "missed: executed before the challenge was sent")
                    .await;
            }
            task_state::VETOED => return self.close(task_id, "vetoed by the vault owner").await,
            task_state::EXPIRED => return self.close(task_id, "the task expired").await,
            _ => {
                return self
                    .close(
                        task_id,
                        &format!("{REORGED_OUT} the task is no longer on the canonical chain"),
                    )
                    .await;
            }
        }
        if task.outputHash == claim.expected_output_hash {
            return self
                .close(
                    task_id,
                    &format!("{REORGED_OUT} the wrong commitment is no longer on the canonical chain; the task commits the correct output"),
                )
                .await;
        }
        let head = self.provider.get_block_number().await?;
        if head >= u64::from(task.deadline) {
            self.metrics.verdict(VerdictLabel::Missed);
            return self
                .close(
                    task_id,
                    &format!(
                        "missed: the challenge window closed at block {} before the challenge was sent",
                        task.deadline
                    ),
                )
                .await;
        }
        let input =
            task_facts::task_input(&self.provider, self.task_manager, task_id, task.openedAt)
                .await?;
        let (committed, _) =
            task_facts::committed_event(&self.provider, self.task_manager, task_id, task.openedAt)
                .await?;
        if keccak256(&committed.output) != task.outputHash {
            // The log is of a branch the node is still switching away from: next step.
            return Ok(());
        }
        let bond = self.bond().await?;
        let simulated = WardenChallenges::new(self.challenges, &self.provider)
            .challenge(task_id, input.clone(), committed.output.clone())
            .value(bond)
            .from(self.address())
            .call()
            .await;
        match simulated {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(
                    task_id,
                    "the on-chain verifier agrees with the committed output but this agent does not; \
                     not challenging (the agent and its verifier disagree: report this)"
                );
                self.metrics.challenge(ChallengeResult::Withheld);
                return self
                    .close(
                        task_id,
                        "withheld: the on-chain verifier agrees with the committed output, this agent does not (report this)",
                    )
                    .await;
            }
            Err(error) => {
                tracing::warn!(task_id, %error, "the challenge would fail now; re-checking on the next step");
                return Ok(());
            }
        }
        let call = WardenChallenges::challengeCall {
            taskId: task_id,
            input,
            output: committed.output,
        };
        let request = TransactionRequest::default()
            .with_to(self.challenges)
            .with_input(call.abi_encode())
            .with_value(bond);
        match self.txm.submit(&intent, request).await {
            Ok(record) => {
                self.metrics.challenge(ChallengeResult::Sent);
                tracing::warn!(task_id, %intent, tx = %record.tx_hash, nonce = record.nonce, "challenge sent");
                self.claims
                    .set_state(
                        task_id,
                        ClaimState::Challenging,
                        &format!(
                            "challenge sent in {} (nonce {})",
                            record.tx_hash, record.nonce
                        ),
                    )
                    .await?;
                warden_runtime::failpoint(FAILPOINT_AFTER_CHALLENGE_SENT).await;
                self.watch_transaction(&record);
                Ok(())
            }
            // Settled in between (challenged, vetoed, window over): the next step's re-check
            // closes the claim. Nothing was recorded and no nonce was used.
            Err(TxError::WouldRevert { reason, .. }) => {
                tracing::warn!(task_id, %reason, "the challenge would revert; re-checking on the next step");
                Ok(())
            }
            // On record and pending: the next step waits for it.
            Err(error @ (TxError::Rejected { .. } | TxError::Rpc { .. })) => {
                tracing::warn!(task_id, %error, "challenge not broadcast yet; it stays on record");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The challenge transaction was mined.
    async fn challenge_mined(&self, claim: &Claim, sent: Sent) -> Result<(), WatchtowerError> {
        let task_id = claim.task_id;
        if !sent.succeeded() {
            self.metrics.challenge(ChallengeResult::Reverted);
            tracing::warn!(task_id, tx = %sent.tx_hash, block = sent.block_number, "challenge reverted; re-checking the task");
            self.claims
                .set_state(
                    task_id,
                    ClaimState::Challenging,
                    &format!(
                        "challenge {} reverted in block {}; re-checking",
                        sent.tx_hash, sent.block_number
                    ),
                )
                .await?;
            return Ok(());
        }
        let upheld = sent.receipt.inner.logs().iter().find_map(|log| {
            log.log_decode::<WardenChallenges::ChallengeUpheld>()
                .ok()
                .map(|decoded| decoded.inner.data)
                .filter(|event| event.taskId == task_id && event.challenger == self.address())
        });
        if let Some(event) = upheld {
            let bond = self.bond().await?;
            let bounty = event.payout.saturating_sub(bond);
            self.metrics.challenge(ChallengeResult::Upheld);
            self.metrics
                .earned_wei(u128::try_from(bounty).unwrap_or(u128::MAX));
            tracing::warn!(
                task_id,
                tx = %sent.tx_hash,
                block = sent.block_number,
                %bounty,
                "challenge upheld: the task is fraudulent; slashing its signers"
            );
            self.claims
                .set_state(
                    task_id,
                    ClaimState::Slashing,
                    &format!(
                        "challenge upheld in block {} ({}), bounty {bounty} wei; slashing the signers",
                        sent.block_number, sent.tx_hash
                    ),
                )
                .await?;
            let mut slashing = claim.clone();
            slashing.state = ClaimState::Slashing;
            return self.drive_slashing(&slashing).await;
        }
        let rejected = sent
            .receipt
            .decoded_log::<WardenChallenges::ChallengeRejected>()
            .is_some();
        let detail = if rejected {
            self.metrics.challenge(ChallengeResult::Rejected);
            tracing::error!(task_id, tx = %sent.tx_hash, "challenge rejected: the verifier agrees with the committed output; the bond is forfeited");
            format!(
                "challenge rejected in block {} ({}): the verifier agrees with the committed output; the bond went to the bounty pool",
                sent.block_number, sent.tx_hash
            )
        } else {
            format!(
                "challenge {} mined in block {} without a verdict event",
                sent.tx_hash, sent.block_number
            )
        };
        self.close(task_id, &detail).await
    }

    /// A `slashing` claim: one `slashSigners` batch per step until the task manager reports
    /// slashing complete.
    async fn drive_slashing(&self, claim: &Claim) -> Result<(), WatchtowerError> {
        let task_id = claim.task_id;
        // Batches of this task whose receipts arrived: their counts and verdicts come first.
        let batches = format!("slashSigners/task/{task_id}/");
        for (intent, outcome) in self.take_outcomes(&batches) {
            match outcome {
                Ok(sent) => {
                    if self.slash_mined(claim, sent).await? {
                        return Ok(());
                    }
                }
                Err(error) => tracing::warn!(
                    task_id,
                    intent,
                    %error,
                    "no receipt for the slashing batch yet; waiting again"
                ),
            }
        }
        if self.waiting_on(&batches) {
            return Ok(());
        }
        let task_manager = WardenTaskManager::new(self.task_manager, &self.provider);
        let progress = WardenChallenges::new(self.challenges, &self.provider)
            .slashingProgress(task_id)
            .call()
            .await?;
        if progress.done {
            lock(&self.non_signers).remove(&task_id);
            tracing::info!(task_id, "slashing complete");
            self.claims
                .set_state(
                    task_id,
                    ClaimState::Slashed,
                    "every signer has been slashed",
                )
                .await?;
            return Ok(());
        }
        let task = task_manager.getTask(task_id).call().await?;
        if task.state != task_state::FRAUDULENT {
            tracing::error!(
                task_id,
                state = task_state::name(task.state),
                "the upheld challenge is no longer on the canonical chain; judging the task again"
            );
            self.claims
                .set_state(
                    task_id,
                    ClaimState::Challenging,
                    "the upheld challenge is no longer on the canonical chain (reorg); challenging again",
                )
                .await?;
            return Ok(());
        }
        let next = progress.nextIndex;
        let (intent, record) = self
            .current_attempt(|attempt| slash_intent(task_id, next, attempt))
            .await?;
        if let Some(record) = record {
            // Pending, or mined before a restart: its outcome comes back through the loop above.
            self.watch_transaction(&record);
            return Ok(());
        }
        let Some(intent) = intent else {
            let detail = format!(
                "slashing stalled: {MAX_ATTEMPTS} batches from operator {next} reverted; needs attention"
            );
            tracing::error!(task_id, "{detail}");
            self.claims
                .set_state(task_id, ClaimState::Slashing, &detail)
                .await?;
            return Ok(());
        };
        let call = WardenChallenges::slashSignersCall {
            taskId: task_id,
            nonSignerIds: self.committed_non_signers(task_id, task.openedAt).await?,
            maxOperators: U256::from(self.settings.slash_batch),
        };
        let request = TransactionRequest::default()
            .with_to(self.challenges)
            .with_input(call.abi_encode());
        match self.txm.submit(&intent, request).await {
            Ok(record) => {
                tracing::info!(task_id, %intent, tx = %record.tx_hash, "slashing batch sent");
                self.watch_transaction(&record);
                Ok(())
            }
            Err(TxError::WouldRevert { reason, .. }) => {
                // Typically another slasher's batch moved the cursor or finished: re-read next step.
                tracing::warn!(task_id, %reason, "the slashing batch would revert; re-checking on the next step");
                Ok(())
            }
            Err(error @ (TxError::Rejected { .. } | TxError::Rpc { .. })) => {
                tracing::warn!(task_id, %error, "slashing batch not broadcast yet; it stays on record");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// A `slashSigners` batch was mined. Returns whether it completed the slashing.
    async fn slash_mined(&self, claim: &Claim, sent: Sent) -> Result<bool, WatchtowerError> {
        let task_id = claim.task_id;
        if !sent.succeeded() {
            self.metrics
                .slash_batches
                .with_label_values(&["reverted"])
                .inc();
            tracing::warn!(task_id, intent = sent.intent, tx = %sent.tx_hash, "slashing batch reverted; retrying");
            return Ok(false);
        }
        self.metrics
            .slash_batches
            .with_label_values(&["success"])
            .inc();
        let logs = sent.receipt.inner.logs();
        let slashed = logs
            .iter()
            .filter(|log| log.log_decode::<WardenChallenges::SignerSlashed>().is_ok())
            .count();
        let failed = logs
            .iter()
            .filter(|log| {
                log.log_decode::<WardenChallenges::SignerSlashFailed>()
                    .is_ok()
            })
            .count();
        self.metrics.operators_slashed.inc_by(slashed as u64);
        let completed = sent
            .receipt
            .decoded_log::<WardenChallenges::SlashingCompleted>();
        tracing::warn!(
            task_id,
            slashed,
            failed,
            done = completed.is_some(),
            gas = sent.gas_used,
            "slashing batch mined"
        );
        if failed > 0 {
            tracing::error!(
                task_id,
                failed,
                "EigenLayer refused to slash some signers (SignerSlashFailed)"
            );
        }
        match completed {
            Some(event) => {
                lock(&self.non_signers).remove(&task_id);
                self.claims
                    .set_state(
                        task_id,
                        ClaimState::Slashed,
                        &format!(
                            "slashing complete in block {}: {} signer(s) slashed",
                            sent.block_number, event.signersSlashed
                        ),
                    )
                    .await?;
                Ok(true)
            }
            None => {
                self.claims
                    .set_state(
                        task_id,
                        ClaimState::Slashing,
                        &format!(
                            "batch {} mined in block {}: {slashed} slashed, {failed} refused",
                            sent.intent, sent.block_number
                        ),
                    )
                    .await?;
                Ok(false)
            }
        }
    }

    /// Waiting for a transaction ended without a receipt. It stays on record: a timeout or an
    /// RPC failure is waited out on the next step; a dropped transaction frees its intent
    /// family's next attempt.
    fn wait_failed(
        &self,
        claim: &Claim,
        record: &TxRecord,
        error: TxError,
    ) -> Result<(), WatchtowerError> {
        match error {
            TxError::Timeout { .. } | TxError::Rpc { .. } => {
                tracing::warn!(task_id = claim.task_id, intent = record.intent, %error, "no receipt yet; waiting again");
                Ok(())
            }
            TxError::Dropped { .. } => {
                tracing::error!(task_id = claim.task_id, intent = record.intent, %error, "transaction dropped; the next attempt is a new transaction");
                Ok(())
            }
            error => Err(error.into()),
        }
    }

    /// Closes a `challenging` claim with no transaction on record whose wrong commitment is gone
    /// from the canonical chain.
    async fn close_if_vanished(&self, claim: &Claim, why: &str) -> Result<(), WatchtowerError> {
        if claim.state != ClaimState::Challenging {
            return Ok(());
        }
        let (_, record) = self
            .current_attempt(|attempt| challenge_intent(claim.task_id, attempt))
            .await?;
        if record.is_some() {
            // A challenge is in flight: its outcome decides (it reverts on an output mismatch,
            // costing gas only).
            return Ok(());
        }
        self.close(
            claim.task_id,
            &format!(
                "{REORGED_OUT} the wrong commitment is no longer on the canonical chain; {why}"
            ),
        )
        .await
    }

    async fn close(&self, task_id: u64, detail: &str) -> Result<(), WatchtowerError> {
        tracing::info!(task_id, detail, "claim closed");
        self.claims
            .set_state(task_id, ClaimState::Closed, detail)
            .await?;
        Ok(())
    }

    /// The attempt of an intent family to wait for or to send: the first attempt that is pending
    /// or succeeded (returned with its record), else the first not on record (returned without);
    /// attempts that reverted or were dropped are passed over. `(None, None)` once
    /// [`MAX_ATTEMPTS`] all failed.
    async fn current_attempt(
        &self,
        intent: impl Fn(u32) -> String,
    ) -> Result<(Option<String>, Option<TxRecord>), WatchtowerError> {
        for attempt in 0..MAX_ATTEMPTS {
            let name = intent(attempt);
            match self.txm.lookup(&name).await? {
                None => return Ok((Some(name), None)),
                Some(record) if matches!(record.status, TxStatus::Pending | TxStatus::Mined) => {
                    return Ok((Some(name), Some(record)));
                }
                // A reverted attempt still owes its outcome to this process if it was being
                // waited for here.
                Some(record) if self.has_outcome(&record.intent) => {
                    return Ok((Some(name), Some(record)));
                }
                Some(_) => {}
            }
        }
        Ok((None, None))
    }

    /// The outcome of waiting for `record`, once there is one; until then makes sure a
    /// background task waits for it.
    fn outcome(&self, record: &TxRecord) -> Option<Result<Sent, TxError>> {
        let outcome = lock(&self.waiters).done.remove(&record.intent);
        if outcome.is_none() {
            self.watch_transaction(record);
        }
        outcome
    }

    /// Takes every outcome whose intent starts with `prefix`, in intent order.
    fn take_outcomes(&self, prefix: &str) -> Vec<(String, Result<Sent, TxError>)> {
        let mut waiters = lock(&self.waiters);
        let mut intents: Vec<String> = waiters
            .done
            .keys()
            .filter(|intent| intent.starts_with(prefix))
            .cloned()
            .collect();
        intents.sort();
        intents
            .into_iter()
            .filter_map(|intent| {
                let outcome = waiters.done.remove(&intent)?;
                Some((intent, outcome))
            })
            .collect()
    }

    /// Whether a receipt is being waited for, for an intent starting with `prefix`.
    fn waiting_on(&self, prefix: &str) -> bool {
        lock(&self.waiters)
            .waiting
            .keys()
            .any(|intent| intent.starts_with(prefix))
    }

    fn has_outcome(&self, intent: &str) -> bool {
        lock(&self.waiters).done.contains_key(intent)
    }

    /// Starts a background wait for `record`'s receipt, unless one is running or its outcome is
    /// waiting to be handled.
    fn watch_transaction(&self, record: &TxRecord) {
        let mut waiters = lock(&self.waiters);
        if waiters.waiting.contains_key(&record.intent) || waiters.done.contains_key(&record.intent)
        {
            return;
        }
        let txm = self.txm.clone();
        let nonce = record.nonce;
        let intent = record.intent.clone();
        let shared = Arc::clone(&self.waiters);
        let handle = tokio::spawn(async move {
            let outcome = txm.wait(nonce).await;
            let mut waiters = lock(&shared);
            waiters.waiting.remove(&intent);
            waiters.done.insert(intent, outcome);
        });
        waiters.waiting.insert(record.intent.clone(), handle);
    }

    fn stop_waiting(&self) {
        for (_, handle) in lock(&self.waiters).waiting.drain() {
            handle.abort();
        }
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

    /// The non-signers a fraudulent task was committed with, which `slashSigners` checks.
    async fn committed_non_signers(
        &self,
        task_id: u64,
        opened_at: u32,
    ) -> Result<Vec<B256>, WatchtowerError> {
        if let Some(known) = lock(&self.non_signers).get(&task_id) {
            return Ok(known.clone());
        }
        let commitment =
            task_facts::commitment(&self.provider, self.task_manager, task_id, opened_at).await?;
        lock(&self.non_signers).insert(task_id, commitment.non_signers.clone());
        Ok(commitment.non_signers)
    }
}

/// Locks one of the watchtower's caches. They hold plain data that no panic can leave
/// half-written, so a poisoned lock is still sound to use.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
