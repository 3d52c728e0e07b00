//! A task's facts that live in the task manager's events rather than its storage: the input
//! snapshot and its hash (`TaskOpened`) and the committed output with its non-signers
//! (`OutputCommitted`). A committed task stores only one hash of the three (`getTask(..)
//! .commitmentHash`, see [`TaskHashes`]), so keepers, challengers, rewards and summaries read them
//! here, and [`committed`] checks what it read against that hash. Both events carry everything, so
//! a commitment sent through a Safe or any other contract reads exactly like a direct one.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::Provider;
use warden_protocol::TaskHashes;

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
    /// The events read do not open the commitment hash on chain: logs of a branch the node is
    /// switching away from, or a node that answered from different blocks. Read again later.
    #[error(
        "task {task_id}: its events make commitment hash {from_events}, the task manager holds {on_chain}"
    )]
    CommitmentMismatch {
        task_id: u64,
        on_chain: B256,
        from_events: B256,
    },
}

/// A task's committed output as it went on chain.
#[derive(Debug, Clone)]
pub struct Commitment {
    pub output: Bytes,
    /// The hash of the activation trace the quorum signed (zero for an agent that keeps none); the
    /// trace itself is in the `commitOutput` call's calldata.
    pub trace_hash: B256,
    /// The non-signers' operator ids, ascending, as `OutputCommitted` lists them: their hash is the
    /// non-signer hash the task's commitment hash binds, which slashing and rewards check.
    pub non_signers: Vec<B256>,
    /// The block the commitment was mined in.
    pub block: u64,
}

/// Everything a committed task's commitment hash binds, read from its two events and checked
/// against the hash on chain: what executing, challenging or paying for the task hands the
/// contracts.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The input snapshot (`TaskOpened`).
    pub input: Bytes,
    /// The committed output (`OutputCommitted`).
    pub output: Bytes,
    /// The non-signers' operator ids, ascending (`OutputCommitted`).
    pub non_signers: Vec<B256>,
    /// The four hashes, which open the task's commitment hash.
    pub hashes: TaskHashes,
}

/// The task's `TaskOpened` event, which is always in the task's `openedAt` block.
pub async fn opened_event<P: Provider>(
    provider: &P,
    task_manager: Address,
    task_id: u64,
    opened_at: u32,
) -> Result<WardenTaskManager::TaskOpened, TaskFactsError> {
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
        .map(|(event, _)| event)
        .ok_or(TaskFactsError::Missing {
            task_id,
            event: "TaskOpened",
        })
}

/// The task's input snapshot (`abi.encode(AgentInput)`), from its `TaskOpened` event.
pub async fn task_input<P: Provider>(
    provider: &P,
    task_manager: Address,
    task_id: u64,
    opened_at: u32,
) -> Result<Bytes, TaskFactsError> {
    Ok(opened_event(provider, task_manager, task_id, opened_at)
        .await?
        .input)
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
        trace_hash: event.traceHash,
        non_signers: event.nonSignerIds,
        block,
    })
}

/// A committed task's input, output, trace hash and non-signers from its events, checked against
/// `commitment_hash`, the task's `getTask(..).commitmentHash` read from the same node: the values
/// the task manager, the challenges and the rewards contracts take to open it.
pub async fn committed<P: Provider>(
    provider: &P,
    task_manager: Address,
    task_id: u64,
    opened_at: u32,
    commitment_hash: B256,
) -> Result<Committed, TaskFactsError> {
    let input = task_input(provider, task_manager, task_id, opened_at).await?;
    let (event, _) = committed_event(provider, task_manager, task_id, opened_at).await?;
    let hashes = TaskHashes::committed(
        keccak256(&input),
        &event.output,
        event.traceHash,
        &event.nonSignerIds,
    );
    let from_events = hashes.commitment();
    if from_events != commitment_hash {
        return Err(TaskFactsError::CommitmentMismatch {
            task_id,
            on_chain: commitment_hash,
            from_events,
        });
    }
    Ok(Committed {
        input,
        output: event.output,
        non_signers: event.nonSignerIds,
        hashes,
    })
}
