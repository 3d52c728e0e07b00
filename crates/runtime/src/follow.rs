//! Following the chain from a durable cursor. A follower processes block ranges in order; after
//! each range it records the last block's hash. Before the next range it checks that block is
//! still canonical: when a reorg replaced it, the follower walks back through its recorded stops
//! to the newest one the chain still has, forgets everything after it and processes the new
//! branch from there. Processing must therefore be idempotent, which it is for every Warden role
//! (a task is signed once and re-sent; a commitment is judged again).

use std::sync::Arc;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use warden_store::StoreError;
use warden_store::cursor::{ChainCursor, KEPT_STOPS, Stop};

use crate::node_api::SyncProgress;

/// Why the follower could not take a step.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("the chain has no block {0} although its head is past it")]
    MissingBlock(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Process blocks `from..=to`, then call [`ChainFollower::done`] with this step.
    Range { from: u64, to: u64, to_hash: B256 },
    /// A reorg was undone: blocks from `resume_from` on will be processed again.
    Reorged { abandoned: u64, resume_from: u64 },
    /// Nothing new.
    CaughtUp { head: u64 },
}

/// One follower: its cursor, where it starts on a first run, how much it reads at once.
#[derive(Debug, Clone)]
pub struct ChainFollower {
    provider: DynProvider,
    cursor: ChainCursor,
    start_block: u64,
    max_range: u64,
    progress: Arc<SyncProgress>,
}

impl ChainFollower {
    /// `start_block` is where a follower without a cursor begins; `max_range` bounds one
    /// `eth_getLogs` range.
    pub fn new(
        provider: DynProvider,
        cursor: ChainCursor,
        start_block: u64,
        max_range: u64,
        progress: Arc<SyncProgress>,
    ) -> Self {
        Self {
            provider,
            cursor,
            start_block,
            max_range: max_range.max(1),
            progress,
        }
    }

    pub fn progress(&self) -> &Arc<SyncProgress> {
        &self.progress
    }

    /// Decides the next step.
    pub async fn next(&self) -> Result<Step, FollowError> {
        let head = self.provider.get_block_number().await?;
        let from = match self.cursor.last().await? {
            None => self.start_block,
            Some(stop) => {
                if self.block_hash(stop.number).await? != Some(stop.hash) {
                    return self.undo_reorg(stop).await;
                }
                stop.number + 1
            }
        };
        if from > head {
            self.progress.update(from.saturating_sub(1), head);
            return Ok(Step::CaughtUp { head });
        }
        let to = head.min(from.saturating_add(self.max_range - 1));
        let to_hash = self
            .block_hash(to)
            .await?
            .ok_or(FollowError::MissingBlock(to))?;
        Ok(Step::Range { from, to, to_hash })
    }

    /// The `E` events `address` emitted in blocks `from..=to` (a [`Step::Range`]), decoded, in
    /// chain order, each with its log. A log that does not decode as `E` is logged and skipped:
    /// it cannot be processed now or later.
    pub async fn events<E: SolEvent>(
        &self,
        address: Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<(E, Log)>, FollowError> {
        let filter = Filter::new()
            .address(address)
            .event_signature(E::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        let logs = self.provider.get_logs(&filter).await?;
        let mut events = Vec::with_capacity(logs.len());
        for log in logs {
            match E::decode_log(&log.inner) {
                Ok(event) => events.push((event.data, log)),
                Err(error) => tracing::warn!(
                    follower = self.cursor.follower(),
                    event = E::SIGNATURE,
                    %error,
                    "undecodable log; skipped"
                ),
            }
        }
        Ok(events)
    }

    /// Records that the range of `step` is processed.
    pub async fn done(&self, step: Step) -> Result<(), FollowError> {
        if let Step::Range { to, to_hash, .. } = step {
            self.cursor
                .advance(Stop {
                    number: to,
                    hash: to_hash,
                })
                .await?;
            let head = self.progress.get().map_or(to, |(_, head)| head.max(to));
            self.progress.update(to, head);
        }
        Ok(())
    }

    async fn undo_reorg(&self, abandoned: Stop) -> Result<Step, FollowError> {
        let stops = self.cursor.recent(KEPT_STOPS).await?;
        for stop in &stops {
            if self.block_hash(stop.number).await? == Some(stop.hash) {
                self.cursor.rewind_to(stop.number).await?;
                tracing::warn!(
                    follower = self.cursor.follower(),
                    abandoned_block = abandoned.number,
                    abandoned_hash = %abandoned.hash,
                    common_ancestor = stop.number,
                    "chain reorganisation: following the new branch"
                );
                return Ok(Step::Reorged {
                    abandoned: abandoned.number,
                    resume_from: stop.number + 1,
                });
            }
        }
        // Deeper than every stop on record: start over from the oldest one's range.
        let oldest = stops.last().map_or(self.start_block, |stop| stop.number);
        let resume_from = oldest.saturating_sub(self.max_range).max(self.start_block);
        self.cursor.rewind_to(0).await?;
        if resume_from > 0 {
            // Block `resume_from - 1` is canonical by definition: start after it.
            let hash = self
                .block_hash(resume_from - 1)
                .await?
                .ok_or(FollowError::MissingBlock(resume_from - 1))?;
            self.cursor
                .advance(Stop {
                    number: resume_from - 1,
                    hash,
                })
                .await?;
        }
        tracing::error!(
            follower = self.cursor.follower(),
            abandoned_block = abandoned.number,
            resume_from,
            "chain reorganisation deeper than the recorded stops: processing again from block {resume_from}"
        );
        Ok(Step::Reorged {
            abandoned: abandoned.number,
            resume_from,
        })
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, FollowError> {
        Ok(self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await?
            .map(|block| block.header.hash))
    }
}
