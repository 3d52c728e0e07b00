//! A task's facts that live in the task manager's events rather than its storage: the input
//! snapshot (`TaskOpened`) and the committed output with its non-signers (`OutputCommitted`).
//! Keepers, challengers and summaries all need them. Both events carry everything, so a
//! commitment sent through a Safe or any other contract reads exactly like a direct one.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;

use crate::task_manager::WardenTaskManager;

/// Why a task's facts could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TaskFactsError {
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("contract call failed: {0}")]
    Contract(#[from] alloy::contract::Error),
    #[error("task {task_id}: no {event} event found")]
    Missing { task_id: u64, event: &'static str },
}

/// A task's committed output as it went on chain.
#[derive(Debug, Clone)]
pub struct Commitment {
    pub output: Bytes,
    /// The non-signers' operator ids, ascending, as `OutputCommitted` lists them: their hash is the
    /// task's `nonSignerHash`, which slashing checks.
    pub non_signers: Vec<B256>,
    /// The block the commitment was mined in.
    pub block: u64,
}

/// The task's input snapshot (`abi.encode(AgentInput)`), from its `TaskOpened` event, which is
/// always in the task's `openedAt` block.
pub async fn task_input<P: Provider>(
    provider: &P,
    task_manager: Address,
    task_id: u64,
    opened_at: u32,
) -> Result<Bytes, TaskFactsError> {
    let contract = WardenTaskManager::new(task_manager, provider);
    let events = contract
        .TaskOpened_filter()
        .topic1(U256::from(task_id))
        .from_block(u64::from(opened_at))
        .to_block(u64::from(opened_at))
        .query()
        .await?;
    events
        .into_iter()
        .next()
        .map(|(event, _)| event.input)
        .ok_or(TaskFactsError::Missing {
            task_id,
            event: "TaskOpened",
        })
}

/// The task's `OutputCommitted` event and its log, searched from the task's `openedAt` block
/// (a commitment is never earlier).
pub async fn committed_event<P: Provider>(
    provider: &P,
    task_manager: Address,
    task_id: u64,
    opened_at: u32,
) -> Result<(WardenTaskManager::OutputCommitted, alloy::rpc::types::Log), TaskFactsError> {
    let contract = WardenTaskManager::new(task_manager, provider);
    let events = contract
        .OutputCommitted_filter()
        .topic1(U256::from(task_id))
        .from_block(u64::from(opened_at))
        .query()
        .await?;
    events.into_iter().next().ok_or(TaskFactsError::Missing {
        task_id,
        event: "OutputCommitted",
    })
}

/// The task's commitment, from its `OutputCommitted` event.
pub async fn commitment<P: Provider>(
    provider: &P,
    task_manager: Address,
    task_id: u64,
    opened_at: u32,
) -> Result<Commitment, TaskFactsError> {
    let (event, log) = committed_event(provider, task_manager, task_id, opened_at).await?;
    let block = log.block_number.ok_or(TaskFactsError::Missing {
        task_id,
        event: "OutputCommitted block",
    })?;
    Ok(Commitment {
        output: event.output,
        non_signers: event.nonSignerIds,
        block,
    })
}
