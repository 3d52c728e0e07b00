//! The keeper: opens a task for each kept agent whenever its tick interval allows, sends the
//! quorums the committer queued, executes committed tasks after their challenge window and
//! expires tasks nobody committed or executed in time.

use std::collections::HashMap;
use std::sync::Arc;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Bytes, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolInterface};
use tokio::sync::watch;
use warden_bindings::WardenVault::WardenVaultErrors;
use warden_bindings::task_facts;
use warden_bindings::task_manager::WardenTaskManager::{executeCall, expireCall, openTaskCall};
use warden_bindings::{WardenRegistry, WardenTaskManager};
use warden_protocol::{TaskHashes, TaskState};
use warden_store::aggregator::{TaskRecord, TaskState as RecordState};
use warden_txm::{Intent, Sent, TxError, TxOutcome};

use super::{Aggregator, OnChainTask, Pending, ServiceError};

/// `OpenCheck.Ready` and `OpenCheck.UnknownAgent` in `ITaskManager.sol` (the ABI carries the
/// enum as its number).
const OPEN_CHECK_READY: u8 = 0;
const OPEN_CHECK_UNKNOWN_AGENT: u8 = 1;

/// What became of a keeper transaction.
#[derive(Debug)]
pub(super) enum KeeperOutcome {
    Succeeded(Box<Sent>),
    /// It would revert now: not due yet, already done by someone else, or refused; the revert
    /// data says which.
    NotNow {
        data: Option<Bytes>,
    },
    /// Sent and reverted, or not settled: tried again next round.
    Failed,
}

impl KeeperOutcome {
    fn succeeded(self) -> Option<Sent> {
        match self {
            KeeperOutcome::Succeeded(sent) => Some(*sent),
            KeeperOutcome::NotNow { .. } | KeeperOutcome::Failed => None,
        }
    }
}

/// The vault refusing a committed action by its owner's policy: spending caps or the stake
/// bound. Unlike a pause, nothing the keeper can wait for within the execution window lifts it,
/// so the action is not tried again and its task expires once the window ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VaultRefusal {
    /// The vault's error, as the metric labels it.
    pub(super) error: &'static str,
    /// The error with its values, for the logs.
    pub(super) detail: String,
}

impl VaultRefusal {
    /// The refusal in `execute`'s revert data, if the vault's policy is what refused it.
    pub(super) fn from_revert(data: &[u8]) -> Option<Self> {
        let (error, detail) = match WardenVaultErrors::abi_decode(data).ok()? {
            WardenVaultErrors::PerActionCapExceeded(e) => (
                "PerActionCapExceeded",
                format!(
                    "the action moves {} of token {} but one action may move at most {}",
                    e.outflow, e.token, e.cap
                ),
            ),
            WardenVaultErrors::DailyCapExceeded(e) => (
                "DailyCapExceeded",
                format!(
                    "the action moves {} of token {}, {} already went out in the last 24 hours, \
                     and the daily cap is {}",
                    e.outflow, e.token, e.spentInWindow, e.cap
                ),
            ),
            WardenVaultErrors::StakeBoundExceeded(e) => (
                "StakeBoundExceeded",
                format!(
                    "the action is worth {} but the stake that signed it bounds it at {}",
                    e.value, e.bound
                ),
            ),
            _ => return None,
        };
        Some(Self { error, detail })
    }
}

/// The vault deferring a committed action: nothing is wrong with the action, but the market is
/// not fit to fill it now (the pair's spot price strays from its TWAP further than the vault's
/// tolerance, as while someone sandwiches it). The keeper tries again in a later block within the
/// execution window; the price usually returns as arbitrage closes the gap and the TWAP catches up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VaultDeferral {
    /// The vault's error, as the metric labels it.
    pub(super) error: &'static str,
    /// The error with its values, for the logs.
    pub(super) detail: String,
}

impl VaultDeferral {
    /// The deferral in `execute`'s revert data, if the vault deferred the action.
    pub(super) fn from_revert(data: &[u8]) -> Option<Self> {
        match WardenVaultErrors::abi_decode(data).ok()? {
            WardenVaultErrors::PriceDeviationTooHigh(e) => Some(Self {
                error: "PriceDeviationTooHigh",
                detail: format!(
                    "the spot price {} is more than {} bps away from the TWAP {}",
                    e.spot, e.maxDeviationBps, e.twap
                ),
            }),
            _ => None,
        }
    }
}

impl Aggregator {
    /// Keeper loop: resumes what a previous run left, then opens a task for each kept agent
    /// whenever its tick interval allows, commits quorums, executes committed tasks after their
    /// deadline, and expires tasks nobody committed in time. Returns once `shutdown` turns
    /// true (or its sender is gone).
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
                self.loops.keeper.failed(&error);
                tracing::warn!(%error, "keeper round failed; retrying");
            }
            let mut ready = std::mem::take(&mut *self.ready.lock().await);
            let retried = self.intake.lock().await.retry();
            for quorum in retried {
                self.prepare(quorum).await;
            }
            ready.extend(std::mem::take(&mut *self.ready.lock().await));
            for Pending { submission, run } in ready {
                let run = match run {
                    Some(run) => run,
                    None => match self.run_of(&submission).await {
                        Some(run) => run,
                        None => continue,
                    },
                };
                self.commit(submission, run).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = self.wake.notified() => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    async fn keeper_round(&self) -> Result<(), ServiceError> {
        let block = self.provider.get_block_number().await?;
        self.loops.saw_head(block);
        self.loops.keeper.round_started();
        // Before any opening: a task's reference block is the one before its opening, so a
        // refresh sent now counts for every task this round opens.
        self.refresh_weights_if_due(block).await?;
        let standby = self.settings.standby_blocks;
        for &agent_id in &self.settings.keeper_agents {
            let status = self.task_manager().agentStatus(agent_id).call().await?;
            // A task someone else opened (another aggregator, or anyone: openTask is open to
            // all), or one opened while this aggregator was down, is kept all the same. Each
            // agent's latest task is looked at once, not every round.
            let looked_at = self
                .adopted
                .lock()
                .ok()
                .and_then(|adopted| adopted.get(&agent_id).copied());
            if looked_at != Some(status.latestTaskId)
                && self.adopt(status.latestTaskId).await
                && let Ok(mut adopted) = self.adopted.lock()
            {
                adopted.insert(agent_id, status.latestTaskId);
            }
            // The task manager's own answer, rather than its rules re-derived here: asking for
            // a task it would refuse is only a failed gas estimation every round.
            let open = self.task_manager().canOpenTask(agent_id).call().await?;
            // openTask runs in the next block; a busy latest task that has run out of time by
            // then is expired on the way.
            let mut due = open.fromBlock;
            if standby > 0 && open.check == OPEN_CHECK_READY {
                // Once opening is possible `fromBlock` is the current block: a standby counts its
                // margin from when the tick became due.
                let agent = self.agent(agent_id).await.map_err(ServiceError::from)?;
                due = U256::from(u64::from(status.lastOpenedAt) + u64::from(agent.tickInterval));
            }
            let possible = open.check != OPEN_CHECK_UNKNOWN_AGENT
                && due.saturating_add(U256::from(standby)) <= U256::from(block + 1);
            tracing::debug!(agent_id, check = open.check, %due, standby, block, possible, "next task");
            if possible {
                self.open_task(agent_id, status.lastOpenedAt).await;
            }
        }
        let tracked: Vec<u64> = self.tracked.lock().await.iter().copied().collect();
        let mut counts: HashMap<TaskState, i64> = HashMap::new();
        for task_id in tracked {
            let (state, task) = self.task(task_id).await?;
            let settled = match state {
                TaskState::Open | TaskState::Committed => {
                    if state == TaskState::Open {
                        // After a reorg or rollback the same id may be a different task: the
                        // signatures for it must be checked against its digest, not the lost one.
                        self.intake.lock().await.forget_if_changed(
                            task_id,
                            task.inputHash,
                            task.referenceBlock,
                        );
                    }
                    let last_live = self.task_manager().lastLiveBlock(task_id).call().await?;
                    if U256::from(block) > last_live.saturating_add(U256::from(standby)) {
                        // Nobody committed it in time, or its action kept failing (a paused
                        // vault, a moved market, the owner's policy) until the window closed:
                        // settle it so the agent can move on.
                        self.expire(task_id).await
                    } else if state == TaskState::Committed
                        && block > u64::from(task.deadline).saturating_add(standby)
                    {
                        self.execute(task_id, &task, block).await?
                    } else {
                        None
                    }
                }
                TaskState::Executed => Some("executed"),
                TaskState::Expired => Some("expired"),
                TaskState::None | TaskState::Vetoed | TaskState::Fraudulent => Some("closed"),
            };
            match settled {
                Some(event) => {
                    if let Err(error) = self
                        .records
                        .set_state(task_id, RecordState::Done, None)
                        .await
                    {
                        let _ = self.database_error("set_state", error);
                        continue;
                    }
                    tracing::info!(task_id, outcome = event, "task final");
                    self.metrics.task_settled(event);
                    self.intake.lock().await.remove_task(task_id);
                    if let Ok(mut refusals) = self.refusals.lock() {
                        refusals.forget_task(task_id);
                    }
                    self.tracked.lock().await.remove(&task_id);
                    self.kept.lock().await.remove(&task_id);
                }
                None => *counts.entry(state).or_default() += 1,
            }
        }
        for state in [TaskState::Open, TaskState::Committed] {
            self.metrics
                .tasks
                .with_label_values(&[state.name()])
                .set(counts.get(&state).copied().unwrap_or(0));
        }
        // Paying operators never holds up the tasks: a failure is retried next round.
        if let Err(error) = self.pay_operators(block).await {
            tracing::warn!(%error, "paying operators failed; retrying next round");
        }
        self.progress.update(block, block);
        // Nothing failed this round: whatever it sent was mined or is not due yet.
        self.loops.keeper.round_done();
        Ok(())
    }

    /// Refreshes the registry's weights once their age passes half the registry's bound, so a
    /// task opened at any moment has weights fresh enough for its quorum to count.
    async fn refresh_weights_if_due(&self, block: u64) -> Result<(), ServiceError> {
        let registry = WardenRegistry::new(self.registry, &self.provider);
        let Ok(current) = u32::try_from(block) else {
            return Ok(());
        };
        let refreshed_at = registry.weightsRefreshedAt(current).call().await?;
        let max_age = registry.maxWeightAge().call().await?;
        let age = current.saturating_sub(refreshed_at);
        self.metrics.weight_age.set(i64::from(age));
        if !refresh_due(refreshed_at, age, max_age) {
            return Ok(());
        }
        let calldata = WardenRegistry::refreshWeightsCall {}.abi_encode();
        // The intent names the refresh it follows. Zero (never refreshed, or voided by a slash)
        // recurs after every slash, so a refresh of voided weights is named by the block of the
        // change that voided them, the set's latest change: no refresh block the keeper saw can
        // equal it (a refresh in that block either clears the void or is voided by it).
        let after = if refreshed_at != 0 {
            refreshed_at
        } else {
            registry.setChangedAt(current).call().await?
        };
        let intent = Intent::RefreshWeights { after };
        if let Some(sent) = self
            .send_to(self.registry, intent, calldata)
            .await
            .succeeded()
        {
            tracing::info!(age, gas = sent.gas_used, "weights refreshed");
            self.metrics.weight_refreshes.inc();
            self.metrics.weight_age.set(0);
        }
        Ok(())
    }

    async fn expire(&self, task_id: u64) -> Option<&'static str> {
        let call = expireCall { taskId: task_id };
        let expired = self
            .keeper_send(Intent::Expire { task_id }, call.abi_encode())
            .await
            .succeeded()?;
        if let Some(refusal) = self.refusal(task_id).await {
            tracing::info!(
                task_id,
                tx = %expired.tx_hash,
                error = refusal.error,
                "task expired: the vault refused its action ({})",
                refusal.detail
            );
        }
        Some("expired")
    }

    /// Executes a committed task whose challenge window is over, with the input and output it
    /// was committed with.
    async fn execute(
        &self,
        task_id: u64,
        task: &OnChainTask,
        block: u64,
    ) -> Result<Option<&'static str>, ServiceError> {
        if self.refusal(task_id).await.is_some() {
            // Refused once by the vault's policy: it expires when its window ends.
            return Ok(None);
        }
        let (input, output, hashes) = self.facts(task_id, task).await?;
        let call = executeCall {
            taskId: task_id,
            input,
            output,
            traceHash: hashes.trace_hash,
            nonSignerHash: hashes.non_signer_hash,
        };
        // One intent per block: a failed attempt (a paused vault) is tried again next block, and
        // gas estimation refuses a second execute of an executed task.
        match self
            .keeper_send(Intent::Execute { task_id, block }, call.abi_encode())
            .await
        {
            KeeperOutcome::Succeeded(_) => Ok(Some("executed")),
            KeeperOutcome::NotNow { data: Some(data) } => {
                if let Some(refusal) = VaultRefusal::from_revert(&data) {
                    tracing::warn!(
                        task_id,
                        error = refusal.error,
                        "the vault refuses the committed action by its owner's policy ({}); not \
                         retrying it: the task expires when its execution window ends",
                        refusal.detail
                    );
                    self.metrics
                        .execute_refusals
                        .with_label_values(&[refusal.error])
                        .inc();
                    self.kept.lock().await.entry(task_id).or_default().refused = Some(refusal);
                } else if let Some(deferral) = VaultDeferral::from_revert(&data) {
                    tracing::info!(
                        task_id,
                        error = deferral.error,
                        "the vault defers the committed action ({}); trying again next block                          within the execution window",
                        deferral.detail
                    );
                    self.metrics
                        .execute_deferrals
                        .with_label_values(&[deferral.error])
                        .inc();
                }
                Ok(None)
            }
            KeeperOutcome::NotNow { data: None } | KeeperOutcome::Failed => Ok(None),
        }
    }

    /// The vault's refusal of the task's committed action, if it refused it by policy.
    async fn refusal(&self, task_id: u64) -> Option<VaultRefusal> {
        self.kept
            .lock()
            .await
            .get(&task_id)
            .and_then(|facts| facts.refused.clone())
    }

    /// The input, committed output and non-signer hash of a committed task, which open its
    /// commitment hash: kept from this aggregator's own transactions, or read from the task's
    /// events (and kept) when it has not got them all, or they do not open the commitment on chain
    /// (another aggregator's commitment, or one a reorg replaced).
    async fn facts(
        &self,
        task_id: u64,
        task: &OnChainTask,
    ) -> Result<(Bytes, Bytes, TaskHashes), ServiceError> {
        let known = self
            .kept
            .lock()
            .await
            .get(&task_id)
            .cloned()
            .unwrap_or_default();
        if let (Some(input), Some(output), Some(trace_hash), Some(non_signer_hash)) = (
            known.input,
            known.output,
            known.trace_hash,
            known.non_signer_hash,
        ) {
            let hashes = TaskHashes {
                input_hash: keccak256(&input),
                output_hash: keccak256(&output),
                trace_hash,
                non_signer_hash,
            };
            if hashes.commitment() == task.commitmentHash {
                return Ok((input, output, hashes));
            }
        }
        let committed = self.read_committed(task_id, task).await?;
        Ok((committed.input, committed.output, committed.hashes))
    }

    /// A committed task's input, output and non-signers, read from its events and checked against
    /// its commitment hash; kept for executing it.
    pub(super) async fn read_committed(
        &self,
        task_id: u64,
        task: &OnChainTask,
    ) -> Result<task_facts::Committed, ServiceError> {
        let committed = task_facts::committed(
            &self.provider,
            self.settings.task_manager,
            task_id,
            task.openedAt,
            task.commitmentHash,
        )
        .await?;
        let mut kept = self.kept.lock().await;
        let facts = kept.entry(task_id).or_default();
        facts.input = Some(committed.input.clone());
        facts.output = Some(committed.output.clone());
        facts.trace_hash = Some(committed.hashes.trace_hash);
        facts.non_signer_hash = Some(committed.hashes.non_signer_hash);
        Ok(committed)
    }

    /// Keeps a kept agent's latest task this aggregator does not follow yet, if it is still live:
    /// puts it on record and follows it until it is final. Returns whether that is settled
    /// (false: try again next round).
    async fn adopt(&self, task_id: u64) -> bool {
        if task_id == 0 || self.tracked.lock().await.contains(&task_id) {
            return true;
        }
        let task = match self.task(task_id).await {
            Ok((TaskState::Open | TaskState::Committed, task)) => task,
            Ok(_) => return true,
            Err(error) => {
                tracing::warn!(task_id, %error, "could not read a task to adopt; trying next round");
                return false;
            }
        };
        // A committed task keeps only its commitment hash: its input hash is in its TaskOpened.
        let input_hash = if task.commitmentHash.is_zero() {
            task.inputHash
        } else {
            match task_facts::opened_event(
                &self.provider,
                self.settings.task_manager,
                task_id,
                task.openedAt,
            )
            .await
            {
                Ok(opened) => {
                    self.kept.lock().await.entry(task_id).or_default().input = Some(opened.input);
                    opened.inputHash
                }
                Err(error) => {
                    tracing::warn!(task_id, %error, "could not read a task's input to adopt it; trying next round");
                    return false;
                }
            }
        };
        match self
            .records
            .track(&super::collecting(task_id, &task, input_hash))
            .await
        {
            Ok(()) => {
                tracing::info!(
                    task_id,
                    agent_id = task.agentId,
                    "keeping a task this aggregator did not open"
                );
                self.tracked.lock().await.insert(task_id);
                true
            }
            Err(error) => {
                let _ = self.database_error("track_task", error);
                false
            }
        }
    }

    async fn open_task(&self, agent_id: u64, last_opened_at: u32) {
        let call = openTaskCall { agentId: agent_id };
        let intent = Intent::OpenTask {
            agent_id,
            after: last_opened_at,
        };
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
            state: RecordState::Collecting,
            output_hash: None,
        };
        match self.records.track(&record).await {
            Ok(()) => {
                self.tracked.lock().await.insert(task_id);
                // The input is in the event at hand: executing the task will not read it back.
                self.kept.lock().await.entry(task_id).or_default().input =
                    Some(event.data.input.clone());
            }
            Err(error) => {
                // The next signature for it tracks it again.
                let _ = self.database_error("track_task", error);
            }
        }
    }

    /// Sends a keeper transaction to the task manager under `intent`.
    async fn keeper_send(&self, intent: Intent, calldata: Vec<u8>) -> KeeperOutcome {
        self.send_to(self.settings.task_manager, intent, calldata)
            .await
    }

    /// Sends a keeper transaction to `to` under `intent`.
    pub(super) async fn send_to(
        &self,
        to: alloy::primitives::Address,
        intent: Intent,
        calldata: Vec<u8>,
    ) -> KeeperOutcome {
        let request = TransactionRequest::default()
            .with_to(to)
            .with_input(calldata);
        self.loops.keeper.working();
        match self.txm.send(&intent, request).await {
            Ok(sent) if sent.status == TxOutcome::Success => {
                self.loops.progressed(&self.loops.keeper, sent.block_number);
                KeeperOutcome::Succeeded(Box::new(sent))
            }
            Ok(sent) => {
                self.loops
                    .keeper
                    .failed(format_args!("{intent} reverted in {}", sent.tx_hash));
                tracing::warn!(%intent, tx = %sent.tx_hash, "keeper transaction reverted");
                KeeperOutcome::Failed
            }
            Err(TxError::WouldRevert { reason, data, .. }) => {
                let refusal = data
                    .as_ref()
                    .and_then(|data| warden_bindings::revert::describe(data))
                    .unwrap_or(reason);
                let news = self
                    .refusals
                    .lock()
                    .map(|mut log| log.is_news(&intent, &refusal))
                    .unwrap_or(true);
                if news {
                    tracing::info!(%intent, %refusal, "keeper transaction refused by the chain for now; retried while it can still succeed");
                } else {
                    tracing::debug!(%intent, %refusal, "keeper transaction still refused");
                }
                if data.is_none() {
                    // No contract's answer (lack of funds, for one): the keeper's failure.
                    self.loops
                        .keeper
                        .failed(format_args!("{intent}: {refusal}"));
                }
                KeeperOutcome::NotNow { data }
            }
            Err(error) => {
                self.loops.keeper.failed(format_args!("{intent}: {error}"));
                tracing::warn!(%intent, %error, "keeper transaction failed");
                KeeperOutcome::Failed
            }
        }
    }
}

impl Aggregator {
    /// Whether the keeper and the committer get their work done (for the node API's probes).
    pub fn loops(&self) -> &crate::liveness::LoopHealth {
        &self.loops
    }
}

/// What the keeper last said about each kind of refused transaction, per task: a refusal
/// repeated every block (an execution the vault defers, an opening that is not due) is logged
/// once, and again only when it changes.
#[derive(Debug, Default)]
pub(super) struct RefusalLog {
    last: HashMap<String, String>,
}

impl RefusalLog {
    /// Whether `refusal` of `intent` is news: not what was last logged for its kind and task.
    fn is_news(&mut self, intent: &Intent, refusal: &str) -> bool {
        let key = refusal_key(intent);
        if self.last.get(&key).is_some_and(|last| last == refusal) {
            return false;
        }
        self.last.insert(key, refusal.to_string());
        true
    }

    /// Drops what was logged about a task that is final.
    fn forget_task(&mut self, task_id: u64) {
        let suffix = format!("/task/{task_id}");
        self.last.retain(|key, _| !key.ends_with(&suffix));
    }
}

/// An intent's kind (`execute`), with its task when it has one: every block's `execute` of a
/// task shares one key.
fn refusal_key(intent: &Intent) -> String {
    let text = intent.to_string();
    let kind = text.split('/').next().unwrap_or_default();
    match intent.task_id() {
        Some(task_id) => format!("{kind}/task/{task_id}"),
        None => kind.to_string(),
    }
}

/// Whether the keeper refreshes now: never refreshed, or older than half the registry's bound
/// (the other half is the margin for the refresh to land before a task's reference block).
fn refresh_due(refreshed_at: u32, age: u32, max_age: u32) -> bool {
    refreshed_at == 0 || age > max_age / 2
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};
    use alloy::sol_types::SolError;
    use warden_bindings::WardenVault::{PriceDeviationTooHigh, StakeBoundExceeded, VaultPaused};

    use warden_txm::Intent;

    use super::{RefusalLog, VaultDeferral, VaultRefusal, refresh_due};

    /// Before: a refusal repeated every block was logged every block (4–5 times a block). Now
    /// once per task and kind, again only when it changes, and afresh for a new task.
    #[test]
    fn a_refusal_repeated_every_block_is_logged_once_per_task() {
        let mut log = RefusalLog::default();
        let execute = |block| Intent::Execute { task_id: 7, block };
        let deferred = "PriceDeviationTooHigh { spot: 2100, twap: 2000, maxDeviationBps: 100 }";
        assert!(log.is_news(&execute(10), deferred));
        assert!(
            !log.is_news(&execute(11), deferred),
            "the same refusal a block later"
        );
        assert!(
            log.is_news(&execute(12), "VaultPaused"),
            "a different refusal"
        );
        assert!(
            log.is_news(&Intent::Expire { task_id: 7 }, "VaultPaused"),
            "another kind"
        );
        assert!(
            log.is_news(
                &Intent::Execute {
                    task_id: 8,
                    block: 12
                },
                deferred
            ),
            "another task"
        );
        log.forget_task(7);
        assert!(
            log.is_news(&execute(13), "VaultPaused"),
            "forgotten once final"
        );
        assert!(!log.is_news(
            &Intent::Execute {
                task_id: 8,
                block: 13
            },
            deferred
        ));
    }

    /// A spot price off its TWAP is retried within the window, never given up on; the owner's
    /// policy is given up on; a pause is retried without either (the owner may lift it).
    #[test]
    fn a_price_deviation_is_retried_and_a_policy_refusal_is_final() {
        let deviation = PriceDeviationTooHigh {
            spot: U256::from(2_100u64),
            twap: U256::from(2_000u64),
            maxDeviationBps: 100,
        }
        .abi_encode();
        assert_eq!(VaultRefusal::from_revert(&deviation), None);
        let deferral = VaultDeferral::from_revert(&deviation).unwrap();
        assert_eq!(deferral.error, "PriceDeviationTooHigh");
        assert!(deferral.detail.contains("2100") && deferral.detail.contains("100 bps"));

        let bound = StakeBoundExceeded {
            value: U256::from(2u8),
            bound: U256::from(1u8),
        }
        .abi_encode();
        assert!(VaultRefusal::from_revert(&bound).is_some());
        assert_eq!(VaultDeferral::from_revert(&bound), None);

        let paused = VaultPaused {}.abi_encode();
        assert_eq!(VaultRefusal::from_revert(&paused), None);
        assert_eq!(VaultDeferral::from_revert(&paused), None);
        assert_eq!(VaultDeferral::from_revert(Address::ZERO.as_slice()), None);
    }

    #[test]
    fn weights_are_refreshed_past_half_their_allowed_age() {
        assert!(refresh_due(0, 0, 50), "never refreshed");
        assert!(!refresh_due(100, 25, 50), "at half the bound");
        assert!(refresh_due(100, 26, 50), "past half the bound");
        assert!(refresh_due(100, 1, 0), "a zero bound refreshes every block");
    }
}
