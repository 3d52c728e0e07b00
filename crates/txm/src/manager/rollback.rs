//! Repairing what a chain rollback or reorg undid: a transaction on record as mined (or
//! reverted) whose nonce the chain no longer counts is put back to pending and broadcast again,
//! and the pending transactions below a waited-for nonce are kept moving, so the key's nonces
//! on record and on chain meet again without a restart.
//!
//! What stays true while repairing:
//!
//! - **Only recorded bytes are broadcast.** A vanished transaction is broadcast again as the
//!   signed bytes on record (its latest version), with its own nonce. Every version of one nonce
//!   is the same intent, and only one transaction per nonce can ever be mined, so an intent still
//!   has at most one effect, however often the chain forgets it.
//! - **A dropped intent stays dropped.** Its caller was told it will never be sent and may have
//!   sent the action again under another intent; broadcasting it now could do the action twice.
//!   If a rollback frees its nonce, the hole is reported (once) and left: only the key's owner
//!   can fill it safely.
//! - **The outcome is the chain's.** A revived transaction is settled by waiting for it like any
//!   other: mined (or reverted) in whatever block takes it now, or dropped when another
//!   transaction of the key takes its nonce.

use alloy::primitives::keccak256;
use alloy::providers::Provider;
use warden_store::transactions::{TxRecord, TxStatus};

use super::{Sent, TxManager};
use crate::TxError;

/// What became of a record settled as mined or reverted when its receipt was asked for again.
pub(super) enum Revival {
    /// A version of it is mined (perhaps in another block than on record, after a reorg).
    Mined(Box<Sent>),
    /// It vanished from the chain: it is pending again (and was broadcast, if asked).
    Reopened(Box<TxRecord>),
}

impl TxManager {
    /// For a record on record as mined or reverted: its outcome as the chain has it now, or, if
    /// the chain no longer holds it, the transaction repaired and waited for again. A record the
    /// chain counts (its nonce is below the key's mined nonce) but whose receipts the node does
    /// not have (pruned) is [`TxError::ReceiptUnavailable`]: nothing tells what happened.
    pub(super) async fn settled_or_repaired(&self, record: TxRecord) -> Result<Sent, TxError> {
        // The mined nonce first: if it is past ours, any version of ours that was mined was
        // mined before the receipts below were asked for.
        let mined_nonce = self.mined_nonce().await?;
        // The nonces below ours first: ours cannot be mined again before them.
        if mined_nonce < record.nonce {
            self.repair_gap(mined_nonce, record.nonce, true).await?;
        }
        match self.revive(record, mined_nonce, true).await? {
            Revival::Mined(sent) => Ok(*sent),
            Revival::Reopened(record) => self.watch(*record).await,
        }
    }

    /// Keeps every transaction on record with a nonce in `from..to` moving, where `from` is the
    /// key's mined nonce: what the chain counts stops at `from`, so each of these holds up the
    /// ones above it. A vanished transaction (settled, but not on chain) is reopened, and with
    /// `broadcast` sent again; a pending one this process has not broadcast since start-up is
    /// broadcast, one whose bump is due is bumped (its own waiter may be gone). Without
    /// `broadcast` (at start-up) records are only reopened, for `resume` or a waiter to send.
    pub(super) async fn repair_gap(
        &self,
        from: u64,
        to: u64,
        broadcast: bool,
    ) -> Result<(), TxError> {
        for nonce in from..to {
            let Some(record) = self.inner.log.by_nonce(nonce).await? else {
                self.hole(nonce, "no transaction of the key is on record with it");
                continue;
            };
            match record.status {
                TxStatus::Pending if !broadcast => {}
                TxStatus::Pending => {
                    if self.last_broadcast(nonce).is_none() {
                        self.rebroadcast(&record).await?;
                    } else if self.claim_bump(nonce) {
                        self.bump(nonce).await?;
                    }
                }
                TxStatus::Mined | TxStatus::Reverted => {
                    // Below the mined nonce's reach: mined, it would count. A receipt found
                    // anyway (a node behind its peers) settles it again instead.
                    match self.revive(record, from, broadcast).await {
                        Ok(_) => {}
                        // Another record's fate (settled meanwhile by its own waiter): its
                        // waiter reports it, not the caller waiting above it.
                        Err(
                            error @ (TxError::Dropped { .. } | TxError::ReceiptUnavailable { .. }),
                        ) => {
                            tracing::debug!(nonce, %error, "repairing a lower nonce");
                        }
                        Err(error) => return Err(error),
                    }
                }
                TxStatus::Dropped => self.hole(
                    nonce,
                    "its transaction was settled as dropped and is never sent again",
                ),
            }
        }
        Ok(())
    }

    /// A settled record's outcome from any of its versions' receipts; failing that, when the
    /// key's `mined_nonce` does not reach its nonce, the record reopened as pending (and
    /// broadcast again with `broadcast`).
    pub(super) async fn revive(
        &self,
        record: TxRecord,
        mined_nonce: u64,
        broadcast: bool,
    ) -> Result<Revival, TxError> {
        let nonce = record.nonce;
        let versions = self.inner.log.versions(nonce).await?;
        for hash in versions.iter().rev() {
            if let Some((receipt, block)) = self.receipt(*hash).await? {
                if record.tx_hash == *hash && record.block_number == Some(block) {
                    return Ok(Revival::Mined(Box::new(Sent::new(
                        &record.intent,
                        nonce,
                        record.bumps,
                        block,
                        receipt,
                    ))));
                }
                // A reorg put it in another block (or mined another version): on record as the
                // chain has it now.
                let bumps = u32::try_from(versions.len().saturating_sub(1)).unwrap_or(u32::MAX);
                tracing::warn!(
                    intent = record.intent,
                    nonce,
                    tx_hash = %hash,
                    block,
                    recorded_block = ?record.block_number,
                    "transaction found in another block than on record (reorg); settling it again"
                );
                let sent = self.settle_mined(&record, bumps, block, receipt).await?;
                return Ok(Revival::Mined(Box::new(sent)));
            }
        }
        if mined_nonce > nonce {
            // The chain counts the nonce, but the node has no receipt of any version: another
            // transaction of the key took the nonce after a rollback, or the node pruned the
            // receipts. The block on record tells which, if the node still has it.
            return match self.still_in_block(&record).await? {
                // Settled as dropped, with the error that says so.
                Some(false) => self
                    .settle_dropped(&record, mined_nonce)
                    .await
                    .map(|sent| Revival::Mined(Box::new(sent))),
                Some(true) | None => Err(TxError::ReceiptUnavailable {
                    intent: record.intent,
                    tx_hash: record.tx_hash,
                }),
            };
        }
        // Gone from the chain. Its latest version is what is broadcast again: the raw bytes on
        // record, whose hash is the record's current version from now on.
        let tx_hash = keccak256(&record.raw);
        // Only the settlement seen here is undone: one made since (a concurrent waiter that got
        // it mined again) stands.
        let reopened = match record.block_number {
            Some(block) => self.inner.log.reopen(nonce, block, tx_hash).await?,
            None => false,
        };
        if reopened {
            tracing::warn!(
                intent = record.intent,
                nonce,
                mined_in = %record.tx_hash,
                block = ?record.block_number,
                mined_nonce,
                "transaction on record as mined is gone from the chain (rollback or reorg); \
                 it is pending again and broadcast again"
            );
        }
        self.forget(nonce);
        let reopened = self
            .inner
            .log
            .by_nonce(nonce)
            .await?
            .ok_or(TxError::UnknownNonce { nonce })?;
        if reopened.status != TxStatus::Pending {
            // Settled again meanwhile by a concurrent waiter: its outcome.
            return match reopened.status {
                TxStatus::Dropped => Err(self.dropped(&reopened)),
                _ => self
                    .settled(reopened)
                    .await
                    .map(|sent| Revival::Mined(Box::new(sent))),
            };
        }
        if broadcast {
            self.rebroadcast(&reopened).await?;
        }
        Ok(Revival::Reopened(Box::new(reopened)))
    }

    /// Whether the block the record says its transaction was mined in still holds it: `None`
    /// when the record names no block or the node has no body for it (pruned history), `false`
    /// when that block no longer exists or holds other transactions (rolled back or reorganised).
    async fn still_in_block(&self, record: &TxRecord) -> Result<Option<bool>, TxError> {
        let Some(number) = record.block_number else {
            return Ok(None);
        };
        let head = self.head().await?;
        if number > head {
            return Ok(Some(false));
        }
        let provider = &self.inner.provider;
        let block = self
            .inner
            .retry
            .call("eth_getBlockByNumber", || async {
                provider.get_block_by_number(number.into()).await
            })
            .await?;
        Ok(block.map(|block| {
            block
                .transactions
                .hashes()
                .any(|hash| hash == record.tx_hash)
        }))
    }

    /// A nonce below the ones on record that the chain no longer counts and nothing on record
    /// can fill: transactions above it wait. Reported once per nonce.
    fn hole(&self, nonce: u64, why: &str) {
        let new = self.holes().insert(nonce);
        if new {
            tracing::error!(
                nonce,
                why,
                "the chain no longer counts this nonce of the key (rollback or reorg) and \
                 nothing on record can be sent with it: later transactions wait until a \
                 transaction with this nonce is mined"
            );
        }
    }
}
