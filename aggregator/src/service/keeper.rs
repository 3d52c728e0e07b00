//! The keeper: opens a task for each kept agent whenever its tick interval allows, sends the
//! quorums the committer queued, executes committed tasks after their challenge window and
//! expires tasks nobody committed or executed in time.

use std::collections::HashMap;
use std::sync::Arc;

use alloy::network::TransactionBuilder;
use alloy::primitives::Bytes;
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use tokio::sync::watch;
use warden_bindings::WardenTaskManager;
use warden_bindings::task_facts;
use warden_bindings::task_manager::WardenTaskManager::{
    AgentConfig, executeCall, expireCall, openTaskCall,
};
use warden_protocol::TaskState;
use warden_store::aggregator::{TaskRecord, TaskState as RecordState};
use warden_txm::{Intent, Sent, TxError, TxOutcome};

use super::{Aggregator, KeptFacts, OnChainTask, Pending, ServiceError};

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
        for &agent_id in &self.settings.keeper_agents {
            let status = self.task_manager().agentStatus(agent_id).call().await?;
            let agent = self.agent(agent_id).await?;
            let due = status.lastOpenedAt == 0
                || block >= u64::from(status.lastOpenedAt) + u64::from(agent.tickInterval);
            // The task manager refuses a new task while the latest can still progress: asking
            // anyway would only be a failed gas estimation every round.
            let busy = due
                && status.latestTaskId != 0
                && self.still_live(status.latestTaskId, &agent, block).await?;
            if due && !busy {
                self.open_task(agent_id, status.lastOpenedAt).await;
            }
        }
        let tracked: Vec<u64> = self.tracked.lock().await.iter().copied().collect();
        let mut counts: HashMap<TaskState, i64> = HashMap::new();
        for task_id in tracked {
            let (state, task) = self.task(task_id).await?;
            let agent = self.agent(task.agentId).await?;
            let response_window = u64::from(agent.responseWindow);
            let settled = match state {
                TaskState::Committed if block > u64::from(task.deadline) + response_window => {
                    // Its action kept failing (a paused vault, a moved market) until the window
                    // closed: settle it so the agent can move on.
                    self.expire(task_id).await
                }
                TaskState::Committed if block > u64::from(task.deadline) => {
                    self.execute(task_id, &task, block).await?
                }
                TaskState::Open if block > u64::from(task.openedAt) + response_window => {
                    self.expire(task_id).await
                }
                TaskState::Open | TaskState::Committed => None,
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
        self.progress.update(block, block);
        Ok(())
    }

    async fn expire(&self, task_id: u64) -> Option<&'static str> {
        let call = expireCall { taskId: task_id };
        self.keeper_send(Intent::Expire { task_id }, call.abi_encode())
            .await
            .succeeded()
            .map(|_| "expired")
    }

    /// Executes a committed task whose challenge window is over, with the input and output it
    /// was committed with.
    async fn execute(
        &self,
        task_id: u64,
        task: &OnChainTask,
        block: u64,
    ) -> Result<Option<&'static str>, ServiceError> {
        let (input, output) = self.facts(task_id, task.openedAt).await?;
        let call = executeCall {
            taskId: task_id,
            input,
            output,
        };
        // One intent per block: a failed attempt (a paused vault) is tried again next block, and
        // gas estimation refuses a second execute of an executed task.
        Ok(self
            .keeper_send(Intent::Execute { task_id, block }, call.abi_encode())
            .await
            .succeeded()
            .map(|_| "executed"))
    }

    /// The input and committed output of a task: kept from this aggregator's own transactions,
    /// or read from the task's events once and kept.
    async fn facts(&self, task_id: u64, opened_at: u32) -> Result<(Bytes, Bytes), ServiceError> {
        let known = self
            .kept
            .lock()
            .await
            .get(&task_id)
            .cloned()
            .unwrap_or_default();
        let input = match known.input {
            Some(input) => input,
            None => {
                task_facts::task_input(
                    &self.provider,
                    self.settings.task_manager,
                    task_id,
                    opened_at,
                )
                .await?
            }
        };
        let output = match known.output {
            Some(output) => output,
            None => {
                let (event, _) = task_facts::committed_event(
                    &self.provider,
                    self.settings.task_manager,
                    task_id,
                    opened_at,
                )
                .await?;
                event.output
            }
        };
        let facts = KeptFacts {
            input: Some(input.clone()),
            output: Some(output.clone()),
        };
        self.kept.lock().await.insert(task_id, facts);
        Ok((input, output))
    }

    /// Whether `task_id` can still be committed (while open) or executed (while committed) at
    /// `block`: the task manager's own rule for an agent being busy.
    async fn still_live(
        &self,
        task_id: u64,
        agent: &AgentConfig,
        block: u64,
    ) -> Result<bool, ServiceError> {
        let (state, task) = self.task(task_id).await?;
        let window = u64::from(agent.responseWindow);
        // openTask runs in the next block.
        let next = block + 1;
        Ok(match state {
            TaskState::Open => next <= u64::from(task.openedAt) + window,
            TaskState::Committed => next <= u64::from(task.deadline) + window,
            _ => false,
        })
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

    /// Sends a keeper transaction under `intent`.
    async fn keeper_send(&self, intent: Intent, calldata: Vec<u8>) -> KeeperOutcome {
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
}
