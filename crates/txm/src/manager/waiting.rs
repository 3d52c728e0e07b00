//! Waiting for a recorded transaction: polling the receipts of every version, bumping fees
//! when it lingers, re-broadcasting, and settling the record as mined, reverted or dropped.

use std::collections::HashMap;
use std::sync::PoisonError;
use std::time::Instant;

use alloy::primitives::Bytes;
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use warden_store::transactions::{TxRecord, TxStatus};

use super::{DROPPED_CONFIRMATIONS, Sent, TxManager, TxOutcome};
use crate::TxError;
use crate::fees::Fees;
use crate::rpc::Broadcast;

impl TxManager {
    /// Waits until the transaction with `nonce` (a record's [`TxRecord::nonce`]) is mined,
    /// polling the receipt of every recorded version, bumping fees when it lingers, and
    /// broadcasting it first if this process has not (after a restart, or after
    /// [`prepare`](Self::prepare)).
    ///
    /// Ends with [`TxError::Timeout`] after [`TxManagerConfig::receipt_timeout`] (still
    /// pending), [`TxError::Dropped`] when the nonce was used by a transaction not on record, or
    /// [`TxError::Rpc`] when the node stays unreachable. A settled record returns its outcome
    /// at once.
    pub async fn wait(&self, nonce: u64) -> Result<Sent, TxError> {
        let record = self
            .inner
            .log
            .by_nonce(nonce)
            .await?
            .ok_or(TxError::UnknownNonce { nonce })?;
        match record.status {
            // Settled, but the chain may have lost it since (a rollback): repaired if so.
            TxStatus::Mined | TxStatus::Reverted => return self.settled_or_repaired(record).await,
            TxStatus::Dropped => return Err(self.dropped(&record)),
            TxStatus::Pending => {}
        }
        if self.last_broadcast(nonce).is_none() {
            self.rebroadcast(&record).await?;
        }
        self.watch(record).await
    }

    /// For start-up: broadcasts every pending transaction on record again (lowest nonce first)
    /// and waits for each. Returns their outcomes in nonce order.
    ///
    /// Stops at the first error; what was not settled yet stays pending, so calling it again
    /// carries on. A dropped transaction is settled before its error is returned, so a second
    /// call moves past it.
    pub async fn resume(&self) -> Result<Vec<Sent>, TxError> {
        let pending = self.inner.log.pending().await?;
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        tracing::info!(
            count = pending.len(),
            first_nonce = pending.first().map(|record| record.nonce),
            "resuming pending transactions"
        );
        for record in &pending {
            self.rebroadcast(record).await?;
        }
        let mut sent = Vec::with_capacity(pending.len());
        for record in pending {
            sent.push(self.watch(record).await?);
        }
        Ok(sent)
    }

    /// The polling loop behind [`wait`](Self::wait), for a pending record.
    pub(super) async fn watch(&self, record: TxRecord) -> Result<Sent, TxError> {
        let config = &self.inner.config;
        let nonce = record.nonce;
        let deadline = Instant::now() + config.receipt_timeout;
        let mut passed = 0;
        loop {
            // The mined nonce first: if it is past ours, any version of ours that was mined
            // was mined before the receipts below were asked for, so none means dropped.
            let mined_nonce = self.mined_nonce().await?;
            // The chain stops short of ours: what is on record below holds this one up (after
            // a rollback, transactions on record as mined that the chain lost; after a restart
            // or a node losing its pool, pending ones nobody broadcasts). Keep them moving.
            if mined_nonce < nonce {
                self.repair_gap(mined_nonce, nonce, true).await?;
            }
            let versions = self.inner.log.versions(nonce).await?;
            let mut awaiting_confirmations = false;
            for hash in versions.iter().rev() {
                if let Some((receipt, block)) = self.receipt(*hash).await? {
                    if !self.confirmed(block).await? {
                        // Mined, not yet deep enough: no bump, and asked again next poll (a
                        // reorg may take the receipt back, and the transaction is pending again).
                        awaiting_confirmations = true;
                        break;
                    }
                    let bumps = u32::try_from(versions.len().saturating_sub(1)).unwrap_or(u32::MAX);
                    return self.settle_mined(&record, bumps, block, receipt).await;
                }
            }
            if mined_nonce > nonce && !awaiting_confirmations {
                passed += 1;
                if passed >= DROPPED_CONFIRMATIONS {
                    return self.settle_dropped(&record, mined_nonce).await;
                }
            } else {
                passed = 0;
            }
            let now = Instant::now();
            if now >= deadline {
                let latest = self.inner.log.by_nonce(nonce).await?;
                let tx_hash = latest
                    .as_ref()
                    .map_or(record.tx_hash, |latest| latest.tx_hash);
                tracing::warn!(
                    intent = record.intent,
                    nonce,
                    %tx_hash,
                    versions = versions.len(),
                    timeout = ?config.receipt_timeout,
                    "no receipt within the timeout; the transaction stays pending"
                );
                return Err(TxError::Timeout {
                    intent: record.intent,
                    nonce,
                    tx_hash,
                });
            }
            if passed == 0 && !awaiting_confirmations && self.claim_bump(nonce) {
                self.bump(nonce).await?;
            }
            tokio::time::sleep(config.poll_interval.min(deadline - now)).await;
        }
    }

    /// Whether a transaction mined in `block` is held by [`crate::TxManagerConfig::confirmations`]
    /// blocks, its own included.
    async fn confirmed(&self, block: u64) -> Result<bool, TxError> {
        let confirmations = self.inner.config.confirmations;
        if confirmations <= 1 {
            return Ok(true);
        }
        let head = self.head().await?;
        Ok(head.saturating_add(1) >= block.saturating_add(confirmations))
    }

    /// Re-signs the pending transaction with `nonce` with higher fees, records the new version
    /// and broadcasts it; at the fee cap, broadcasts the latest version again instead.
    pub(super) async fn bump(&self, nonce: u64) -> Result<(), TxError> {
        let Some(record) = self.inner.log.by_nonce(nonce).await? else {
            return Ok(());
        };
        if record.status != TxStatus::Pending {
            return Ok(());
        }
        let config = &self.inner.config;
        // The market's fees are a floor for the bump, not a precondition: if the node cannot
        // estimate them now, a bump by the percentage alone still moves the transaction.
        let estimate = match self.estimate_fees().await {
            Ok(estimate) => estimate,
            Err(error) => {
                tracing::warn!(
                    intent = record.intent,
                    nonce,
                    %error,
                    "no fee estimate; bumping by the percentage alone"
                );
                Fees {
                    max_fee_per_gas: 0,
                    max_priority_fee_per_gas: 0,
                }
            }
        };
        let current = Fees {
            max_fee_per_gas: record.max_fee_per_gas,
            max_priority_fee_per_gas: record.max_priority_fee_per_gas,
        };
        let Some(fees) = current.bumped(estimate, config.bump_percent, config.max_fee_per_gas_cap)
        else {
            tracing::warn!(
                intent = record.intent,
                nonce,
                tx_hash = %record.tx_hash,
                bumps = record.bumps,
                max_fee_per_gas = record.max_fee_per_gas,
                cap = config.max_fee_per_gas_cap,
                "fee cap reached: broadcasting again without raising the fees"
            );
            return self.rebroadcast(&record).await;
        };
        let (tx_hash, raw) = self.sign(
            nonce,
            record.to,
            &record.input,
            record.value,
            record.gas_limit,
            fees,
        )?;
        // On record before it is broadcast, like the first version: it may be the one mined.
        self.inner
            .log
            .replace(
                nonce,
                tx_hash,
                &raw,
                fees.max_fee_per_gas,
                fees.max_priority_fee_per_gas,
            )
            .await?;
        tracing::info!(
            intent = record.intent,
            nonce,
            %tx_hash,
            replaces = %record.tx_hash,
            bumps = record.bumps.saturating_add(1),
            gas_limit = record.gas_limit,
            max_fee_per_gas = fees.max_fee_per_gas,
            max_priority_fee_per_gas = fees.max_priority_fee_per_gas,
            "transaction fee bumped"
        );
        match self.broadcast(nonce, &raw).await? {
            Broadcast::Accepted | Broadcast::AlreadyKnown | Broadcast::NonceUsed => {}
            Broadcast::Underpriced => tracing::warn!(
                intent = record.intent,
                nonce,
                %tx_hash,
                "the node wants more for a replacement; the next bump raises the fees further"
            ),
            Broadcast::Refused(reason) => tracing::warn!(
                intent = record.intent,
                nonce,
                %tx_hash,
                %reason,
                "the node refused the replacement; the earlier versions stay in play"
            ),
        }
        Ok(())
    }

    /// Broadcasts a pending record's latest version again. The node's answers all mean the
    /// transaction is in hand or will be judged by waiting; only a transport failure is an error.
    pub(super) async fn rebroadcast(&self, record: &TxRecord) -> Result<(), TxError> {
        match self.broadcast(record.nonce, &record.raw).await? {
            answer @ (Broadcast::Accepted | Broadcast::AlreadyKnown | Broadcast::NonceUsed) => {
                tracing::debug!(
                    intent = record.intent,
                    nonce = record.nonce,
                    tx_hash = %record.tx_hash,
                    ?answer,
                    "transaction broadcast again"
                );
            }
            Broadcast::Underpriced => tracing::debug!(
                intent = record.intent,
                nonce = record.nonce,
                tx_hash = %record.tx_hash,
                "an earlier version is still pending at the node"
            ),
            Broadcast::Refused(reason) => tracing::warn!(
                intent = record.intent,
                nonce = record.nonce,
                tx_hash = %record.tx_hash,
                %reason,
                "the node refused the transaction again; it stays pending"
            ),
        }
        Ok(())
    }

    /// `eth_sendRawTransaction` with retries, the answer sorted, the time noted for bumping.
    pub(super) async fn broadcast(&self, nonce: u64, raw: &Bytes) -> Result<Broadcast, TxError> {
        let provider = &self.inner.provider;
        let result = self
            .inner
            .retry
            .call("eth_sendRawTransaction", || async {
                provider.send_raw_transaction(raw).await.map(|_| ())
            })
            .await;
        let answer = Broadcast::of(result)?;
        self.note_broadcast(nonce);
        Ok(answer)
    }

    /// The outcome of a record settled as mined or reverted, with its receipt.
    pub(super) async fn settled(&self, record: TxRecord) -> Result<Sent, TxError> {
        match self.receipt(record.tx_hash).await? {
            Some((receipt, block)) => Ok(Sent::new(
                &record.intent,
                record.nonce,
                record.bumps,
                block,
                receipt,
            )),
            None => Err(TxError::ReceiptUnavailable {
                intent: record.intent,
                tx_hash: record.tx_hash,
            }),
        }
    }

    pub(super) async fn settle_mined(
        &self,
        record: &TxRecord,
        bumps: u32,
        block: u64,
        receipt: TransactionReceipt,
    ) -> Result<Sent, TxError> {
        let sent = Sent::new(&record.intent, record.nonce, bumps, block, receipt);
        let status = match sent.status {
            TxOutcome::Success => TxStatus::Mined,
            TxOutcome::Reverted => TxStatus::Reverted,
        };
        self.inner
            .log
            .settle(
                record.nonce,
                status,
                Some((sent.tx_hash, block, sent.gas_used)),
            )
            .await?;
        self.forget(record.nonce);
        tracing::info!(
            intent = record.intent,
            nonce = record.nonce,
            tx_hash = %sent.tx_hash,
            block,
            gas_used = sent.gas_used,
            bumps,
            status = status.as_str(),
            "transaction mined"
        );
        Ok(sent)
    }

    pub(super) async fn settle_dropped(
        &self,
        record: &TxRecord,
        mined_nonce: u64,
    ) -> Result<Sent, TxError> {
        self.inner
            .log
            .settle(record.nonce, TxStatus::Dropped, None)
            .await?;
        self.forget(record.nonce);
        // Whatever took the nonce may have taken later ones too: new transactions start past it.
        {
            let mut next = self.inner.next_nonce.lock().await;
            *next = (*next).max(mined_nonce);
        }
        tracing::warn!(
            intent = record.intent,
            nonce = record.nonce,
            tx_hash = %record.tx_hash,
            mined_nonce,
            "transaction dropped: its nonce was used by a transaction not on record"
        );
        Err(self.dropped(record))
    }

    pub(super) fn dropped(&self, record: &TxRecord) -> TxError {
        TxError::Dropped {
            intent: record.intent.clone(),
            nonce: record.nonce,
            sender: self.inner.address,
        }
    }

    pub(super) fn broadcasts(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Instant>> {
        // The map holds only timestamps: a panic elsewhere cannot leave it inconsistent.
        self.inner
            .broadcasts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn note_broadcast(&self, nonce: u64) {
        self.broadcasts().insert(nonce, Instant::now());
    }

    pub(super) fn last_broadcast(&self, nonce: u64) -> Option<Instant> {
        self.broadcasts().get(&nonce).copied()
    }

    pub(super) fn holes(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<u64>> {
        // A set of nonces, each only ever inserted: a panic elsewhere cannot corrupt it.
        self.inner
            .holes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn forget(&self, nonce: u64) {
        self.broadcasts().remove(&nonce);
    }

    /// Whether a bump of `nonce` is due, and if so takes it: the clock restarts now, so a
    /// concurrent waiter on the same nonce does not bump it too.
    pub(super) fn claim_bump(&self, nonce: u64) -> bool {
        let bump_after = self.inner.config.bump_after;
        let now = Instant::now();
        let mut broadcasts = self.broadcasts();
        match broadcasts.get_mut(&nonce) {
            Some(last) if now.duration_since(*last) >= bump_after => {
                *last = now;
                true
            }
            Some(_) => false,
            None => {
                broadcasts.insert(nonce, now);
                false
            }
        }
    }
}
