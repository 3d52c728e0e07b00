//! The watchtower: follows `OutputCommitted` from its saved block cursor, re-executes the agent
//! on each committed task's snapshot, challenges an output that differs while the challenge
//! window is open, and then drives the slashing of the fraudulent task's signers to completion
//! in bounded batches.
//!
//! Catch-up is the normal case, not a special one: after downtime the watchtower resumes from
//! the block after the last one it judged, so a commitment made while it was down is judged as
//! long as its window is still open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use tokio::sync::watch;
use warden_agent::Agent;
use warden_bindings::WardenTaskManager;
use warden_bindings::task_facts::{self, TaskFactsError};
use warden_bindings::task_manager::BLS::G1Point;
use warden_bindings::task_manager::task_state;
use warden_bindings::tx::{TxError, confirm};

use crate::cursor::{CursorError, CursorFile, WatchState};

/// How the watchtower runs.
#[derive(Debug, Clone)]
pub struct WatchtowerConfig {
    pub rpc_url: Url,
    pub task_manager: Address,
    /// Where progress is saved.
    pub state_file: std::path::PathBuf,
    /// First block to judge when there is no saved state (a first start).
    pub start_block: u64,
    pub poll_interval: Duration,
    /// Most blocks per `eth_getLogs` request (providers limit the range).
    pub max_log_range: u64,
    /// Operators examined per `slashSigners` transaction; keeps each under the block gas limit.
    pub slash_batch: u64,
}

impl WatchtowerConfig {
    pub fn new(rpc_url: Url, task_manager: Address, state_file: std::path::PathBuf) -> Self {
        Self {
            rpc_url,
            task_manager,
            state_file,
            start_block: 0,
            poll_interval: Duration::from_secs(2),
            max_log_range: 2_000,
            slash_batch: 25,
        }
    }
}

/// Why the watchtower stopped, or a round failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchtowerError {
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("contract call failed: {0}")]
    Contract(Box<alloy::contract::Error>),
    #[error(transparent)]
    Transaction(#[from] TxError),
    #[error(transparent)]
    Facts(#[from] TaskFactsError),
    #[error("saving progress: {0}")]
    State(#[from] CursorError),
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
    /// The output was wrong and the challenge was upheld.
    Challenged,
    /// Nothing to do: the task moved on (vetoed, already challenged), is another agent's, or its
    /// window closed before the watchtower saw it.
    Skipped(&'static str),
}

/// The watchtower.
#[derive(Debug)]
pub struct Watchtower {
    config: WatchtowerConfig,
    provider: DynProvider,
    address: Address,
    agent: Arc<dyn Agent>,
    state_file: CursorFile,
    /// Whether each agent seen is the one this watchtower runs. Read once per agent: an agent's
    /// configuration never changes after registration.
    ours: Mutex<HashMap<u64, bool>>,
    /// The committed non-signers of tasks being slashed, read once rather than per batch.
    non_signers: Mutex<HashMap<u64, Vec<G1Point>>>,
}

impl Watchtower {
    /// A watchtower that pays challenge bonds and slashing gas from `signer`'s account.
    pub fn new(config: WatchtowerConfig, signer: PrivateKeySigner, agent: Arc<dyn Agent>) -> Self {
        let address = signer.address();
        let provider = warden_bindings::signing_provider(config.rpc_url.clone(), signer);
        let state_file = CursorFile::new(config.state_file.clone());
        Self {
            config,
            provider,
            address,
            agent,
            state_file,
            ours: Mutex::default(),
            non_signers: Mutex::default(),
        }
    }

    /// The account challenges are sent from.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Runs until `shutdown` turns true. A failed round (RPC down, a transaction refused) is
    /// logged and retried from the saved progress; only an unreadable state file stops it.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) -> Result<(), WatchtowerError> {
        let mut state = match self.state_file.load()? {
            Some(state) => {
                tracing::info!(
                    judged_through = state.judged_through,
                    slashing = state.slashing.len(),
                    "resuming from saved progress"
                );
                state
            }
            None => WatchState {
                judged_through: self.config.start_block.saturating_sub(1),
                ..WatchState::default()
            },
        };
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            if let Err(error) = self.round(&mut state).await {
                if matches!(error, WatchtowerError::State(_)) {
                    return Err(error);
                }
                tracing::warn!(%error, "watchtower round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Judges every commitment up to the chain head, then advances slashing.
    pub async fn round(&self, state: &mut WatchState) -> Result<(), WatchtowerError> {
        let head = self.provider.get_block_number().await?;
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        while state.judged_through < head {
            let from = state.judged_through + 1;
            let to = head.min(state.judged_through + self.config.max_log_range);
            let commitments = task_manager
                .OutputCommitted_filter()
                .from_block(from)
                .to_block(to)
                .query()
                .await?;
            for (event, log) in commitments {
                let verdict = self.judge(&event, head).await?;
                tracing::info!(
                    task_id = event.taskId,
                    commit_block = log.block_number,
                    ?verdict,
                    "commitment judged"
                );
                if verdict == Verdict::Challenged {
                    state.slashing.insert(event.taskId);
                }
            }
            state.judged_through = to;
            self.state_file.store(state)?;
        }
        for task_id in state.slashing.clone() {
            if self.slash_batch(task_id).await? {
                state.slashing.remove(&task_id);
                self.state_file.store(state)?;
            }
        }
        Ok(())
    }

    /// Re-executes the committed task and challenges a wrong output.
    async fn judge(
        &self,
        event: &WardenTaskManager::OutputCommitted,
        head: u64,
    ) -> Result<Verdict, WatchtowerError> {
        let task_id = event.taskId;
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let task = task_manager.getTask(task_id).call().await?;
        if task.state != task_state::COMMITTED {
            return Ok(Verdict::Skipped("no longer committed"));
        }
        if head > u64::from(task.deadline) {
            tracing::error!(
                task_id,
                deadline = task.deadline,
                head,
                "commitment seen only after its challenge window closed"
            );
            return Ok(Verdict::Skipped("challenge window closed"));
        }
        if !self.is_ours(task.agentId).await? {
            return Ok(Verdict::Skipped("another agent"));
        }
        let input = task_facts::task_input(
            &self.provider,
            self.config.task_manager,
            task_id,
            task.openedAt,
        )
        .await?;
        let expected = match self.agent.decide_encoded(&input) {
            Ok(action) => action.encode(),
            Err(error) => {
                // Outside the agent's domain the verifier reverts too: there is nothing a
                // challenge could prove.
                tracing::warn!(task_id, %error, "the agent refuses this input; not challenging");
                return Ok(Verdict::Skipped("input outside the agent's domain"));
            }
        };
        if keccak256(&expected) == event.outputHash {
            return Ok(Verdict::Correct);
        }
        self.challenge(task_id, input, event.output.clone())
            .await
            .map(|upheld| {
                if upheld {
                    Verdict::Challenged
                } else {
                    Verdict::Skipped("the verifier agrees with the committed output")
                }
            })
    }

    /// Challenges `output`, after simulating the challenge: if the on-chain verifier would agree
    /// with the committed output (our agent and the verifier disagree, a bug to report), the bond
    /// is kept rather than forfeited.
    async fn challenge(
        &self,
        task_id: u64,
        input: Bytes,
        output: Bytes,
    ) -> Result<bool, WatchtowerError> {
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let bond = task_manager.challengeBond().call().await?;
        let call = task_manager
            .challenge(task_id, input, output)
            .value(bond)
            .from(self.address);
        if !call.call().await? {
            tracing::error!(
                task_id,
                "the on-chain verifier agrees with the committed output but this agent does not; \
                 not challenging (the agent and its verifier disagree: report this)"
            );
            return Ok(false);
        }
        let receipt = confirm("WardenTaskManager.challenge", call.send().await?).await?;
        let upheld = receipt
            .decoded_log::<WardenTaskManager::ChallengeUpheld>()
            .is_some();
        tracing::warn!(
            task_id,
            upheld,
            gas = receipt.gas_used,
            block = receipt.block_number,
            "wrong output challenged"
        );
        Ok(upheld)
    }

    /// Sends one `slashSigners` batch for a fraudulent task; true once slashing is complete.
    async fn slash_batch(&self, task_id: u64) -> Result<bool, WatchtowerError> {
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let progress = task_manager.slashingProgress(task_id).call().await?;
        if progress.done {
            return Ok(true);
        }
        let non_signers = self.committed_non_signers(task_id).await?;
        let receipt = confirm(
            "WardenTaskManager.slashSigners",
            task_manager
                .slashSigners(task_id, non_signers, U256::from(self.config.slash_batch))
                .send()
                .await?,
        )
        .await?;
        let slashed = receipt
            .inner
            .logs()
            .iter()
            .filter(|log| log.log_decode::<WardenTaskManager::SignerSlashed>().is_ok())
            .count();
        let done = receipt
            .decoded_log::<WardenTaskManager::SlashingCompleted>()
            .is_some();
        tracing::warn!(
            task_id,
            slashed,
            done,
            gas = receipt.gas_used,
            "slashing batch sent"
        );
        if done {
            lock(&self.non_signers).remove(&task_id);
        }
        Ok(done)
    }

    /// Whether `agent_id` runs this watchtower's agent (same agent hash).
    async fn is_ours(&self, agent_id: u64) -> Result<bool, WatchtowerError> {
        let known = lock(&self.ours).get(&agent_id).copied();
        if let Some(ours) = known {
            return Ok(ours);
        }
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let agent = task_manager.getAgent(agent_id).call().await?;
        let ours = agent.agentHash == self.agent.agent_hash();
        lock(&self.ours).insert(agent_id, ours);
        Ok(ours)
    }

    /// The non-signers a fraudulent task was committed with, which `slashSigners` checks.
    async fn committed_non_signers(&self, task_id: u64) -> Result<Vec<G1Point>, WatchtowerError> {
        if let Some(known) = lock(&self.non_signers).get(&task_id) {
            return Ok(known.clone());
        }
        let task_manager = WardenTaskManager::new(self.config.task_manager, &self.provider);
        let task = task_manager.getTask(task_id).call().await?;
        let commitment = task_facts::commitment(
            &self.provider,
            self.config.task_manager,
            task_id,
            task.openedAt,
        )
        .await?;
        lock(&self.non_signers).insert(task_id, commitment.non_signers.clone());
        Ok(commitment.non_signers)
    }
}

/// Locks one of the watchtower's caches. They hold plain data that no panic can leave
/// half-written, so a poisoned lock is still sound to use.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
