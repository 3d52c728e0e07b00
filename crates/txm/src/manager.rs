//! [`TxManager`]: record, sign, broadcast, wait, bump, resume.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::json_rpc::{ErrorPayload, RpcError};
use alloy::rpc::types::{TransactionInput, TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::decode_revert_reason;
use tokio::sync::Mutex;
use warden_store::Store;
use warden_store::transactions::{Inserted, TransactionLog, TxRecord, TxStatus};

use crate::fees::Fees;
use crate::rpc::{Broadcast, Retry};
use crate::{TxError, TxManagerConfig};

/// How many polls in a row must see the key's mined nonce past a transaction's, with no
/// version mined, before it is settled as dropped. One is enough against a single node; the
/// second guards against a load-balanced endpoint whose nodes disagree for a moment.
const DROPPED_CONFIRMATIONS: u32 = 2;

/// How a mined transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxOutcome {
    /// Mined, and execution succeeded.
    Success,
    /// Mined, and execution reverted: the fee was paid, nothing else happened.
    Reverted,
}

/// A transaction that was mined, successfully or not. Check [`Sent::status`] (or call
/// [`Sent::success`]): a revert comes back here, not as an error.
#[must_use = "a mined transaction may have reverted: check `status` or call `success()`"]
#[derive(Debug, Clone)]
pub struct Sent {
    pub intent: String,
    pub nonce: u64,
    /// The hash of the version that was mined (after fee bumps, not necessarily the first).
    pub tx_hash: B256,
    pub block_number: u64,
    pub gas_used: u64,
    pub status: TxOutcome,
    /// How many fee-bumped replacements were signed before it was mined.
    pub bumps: u32,
    /// The node's receipt of the mined version, with its logs.
    pub receipt: TransactionReceipt,
}

impl Sent {
    fn new(
        intent: &str,
        nonce: u64,
        bumps: u32,
        block_number: u64,
        receipt: TransactionReceipt,
    ) -> Self {
        Self {
            intent: intent.to_string(),
            nonce,
            tx_hash: receipt.transaction_hash,
            block_number,
            gas_used: receipt.gas_used,
            status: if receipt.status() {
                TxOutcome::Success
            } else {
                TxOutcome::Reverted
            },
            bumps,
            receipt,
        }
    }

    /// Whether execution succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == TxOutcome::Success
    }

    /// This transaction if it succeeded, [`TxError::Reverted`] if it reverted.
    pub fn success(self) -> Result<Self, TxError> {
        match self.status {
            TxOutcome::Success => Ok(self),
            TxOutcome::Reverted => Err(TxError::Reverted {
                intent: self.intent,
                nonce: self.nonce,
                tx_hash: self.tx_hash,
                block: self.block_number,
            }),
        }
    }
}

/// Sends one key's transactions on one chain: durably, once per intent, until mined. See the
/// [crate documentation](crate) for the guarantees. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct TxManager {
    inner: Arc<Inner>,
}

struct Inner {
    provider: DynProvider,
    signer: PrivateKeySigner,
    address: Address,
    chain_id: u64,
    log: TransactionLog,
    config: TxManagerConfig,
    retry: Retry,
    /// The nonce the next new transaction gets. Held only while a nonce is assigned, the
    /// transaction signed and its record inserted: the database is the one await under it.
    next_nonce: Mutex<u64>,
    /// When each pending nonce was last broadcast by this process. Absent means not since
    /// start-up (so a waiter broadcasts first). Decides when a bump is due; claiming a bump
    /// resets it under the lock, so two waiters on one nonce never both bump it.
    broadcasts: SyncMutex<HashMap<u64, Instant>>,
}

impl fmt::Debug for TxManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxManager")
            .field("address", &self.inner.address)
            .field("chain_id", &self.inner.chain_id)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What a request asks for, checked: only what a record can hold, so that a fee bump can
/// re-sign exactly the same call.
#[derive(Debug, Clone)]
struct Call {
    to: Address,
    input: Bytes,
    value: U256,
    gas_limit: Option<u64>,
    max_fee_per_gas: Option<u128>,
    max_priority_fee_per_gas: Option<u128>,
}

impl Call {
    fn of(
        intent: &str,
        request: TransactionRequest,
        sender: Address,
        chain_id: u64,
    ) -> Result<Self, TxError> {
        let invalid = |reason: String| TxError::InvalidRequest {
            intent: intent.to_string(),
            reason,
        };
        if intent.is_empty() {
            return Err(invalid("the intent is empty".to_string()));
        }
        let to = match request.to {
            Some(TxKind::Call(to)) => to,
            Some(TxKind::Create) | None => {
                return Err(invalid(
                    "contract creation is not supported: a transaction needs a recipient"
                        .to_string(),
                ));
            }
        };
        if let Some(from) = request.from.filter(|from| *from != sender) {
            return Err(invalid(format!(
                "`from` is {from}, but the manager signs as {sender}"
            )));
        }
        if request.nonce.is_some() {
            return Err(invalid(
                "the manager assigns nonces; leave `nonce` unset".to_string(),
            ));
        }
        if let Some(id) = request.chain_id.filter(|id| *id != chain_id) {
            return Err(invalid(format!(
                "`chain_id` is {id}, but the node is on chain {chain_id}"
            )));
        }
        if request.gas_price.is_some() {
            return Err(invalid(
                "a legacy `gas_price` is not supported; set the EIP-1559 fees or leave them unset"
                    .to_string(),
            ));
        }
        if request.transaction_type.is_some_and(|kind| kind != 2) {
            return Err(invalid(
                "only EIP-1559 (type 2) transactions are sent".to_string(),
            ));
        }
        if request
            .access_list
            .as_ref()
            .is_some_and(|list| !list.0.is_empty())
            || request.blob_versioned_hashes.is_some()
            || request.sidecar.is_some()
            || request.max_fee_per_blob_gas.is_some()
            || request.authorization_list.is_some()
        {
            return Err(invalid(
                "access lists, blobs and authorizations are not recorded, so a fee bump could not re-sign them"
                    .to_string(),
            ));
        }
        let input = request
            .input
            .try_into_unique_input()
            .map_err(|_| invalid("`input` and `data` differ".to_string()))?
            .unwrap_or_default();
        Ok(Self {
            to,
            input,
            value: request.value.unwrap_or_default(),
            gas_limit: request.gas,
            max_fee_per_gas: request.max_fee_per_gas,
            max_priority_fee_per_gas: request.max_priority_fee_per_gas,
        })
    }

    /// The call as `eth_estimateGas` should see it: from the manager's key, nothing else set.
    fn estimate_request(&self, from: Address) -> TransactionRequest {
        TransactionRequest {
            from: Some(from),
            to: Some(TxKind::Call(self.to)),
            value: Some(self.value),
            input: TransactionInput::new(self.input.clone()),
            max_fee_per_gas: self.max_fee_per_gas,
            max_priority_fee_per_gas: self.max_priority_fee_per_gas,
            ..TransactionRequest::default()
        }
    }
}

impl TxManager {
    /// A manager sending with `signer` through `provider` (a plain provider: the manager
    /// estimates, signs and fills everything itself) and recording in `store`.
    ///
    /// Reads the chain id and the key's mined nonce (with retries); the first new transaction
    /// gets the larger of that nonce and the one after the highest on record.
    pub async fn new(
        provider: DynProvider,
        signer: PrivateKeySigner,
        store: Store,
        config: TxManagerConfig,
    ) -> Result<Self, TxError> {
        config.validate()?;
        let retry = Retry::new(&config);
        let chain_id = retry
            .call("eth_chainId", || async { provider.get_chain_id().await })
            .await?;
        let address = signer.address();
        let log = TransactionLog::new(store, chain_id, address)?;
        let recorded = log.next_nonce().await?;
        let mined = retry
            .call("eth_getTransactionCount", || async {
                provider.get_transaction_count(address).latest().await
            })
            .await?;
        let next = recorded.unwrap_or(0).max(mined);
        tracing::info!(
            %address,
            chain_id,
            next_nonce = next,
            recorded_next_nonce = ?recorded,
            mined_nonce = mined,
            "transaction manager ready"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                provider,
                signer,
                address,
                chain_id,
                log,
                config,
                retry,
                next_nonce: Mutex::new(next),
                broadcasts: SyncMutex::new(HashMap::new()),
            }),
        })
    }

    /// The address transactions are sent from.
    pub fn address(&self) -> Address {
        self.inner.address
    }

    pub fn chain_id(&self) -> u64 {
        self.inner.chain_id
    }

    pub fn config(&self) -> &TxManagerConfig {
        &self.inner.config
    }

    /// The transaction recorded for `intent`, if any.
    pub async fn lookup(&self, intent: &str) -> Result<Option<TxRecord>, TxError> {
        Ok(self.inner.log.by_intent(intent).await?)
    }

    /// The transactions on record without a final status, lowest nonce first.
    pub async fn pending(&self) -> Result<Vec<TxRecord>, TxError> {
        Ok(self.inner.log.pending().await?)
    }

    /// Sends `request` for `intent` and waits until it is mined: [`submit`](Self::submit), then
    /// [`wait`](Self::wait). If `intent` is on record, nothing new is sent: this waits for the
    /// recorded transaction (broadcasting and bumping it as needed) and returns its outcome,
    /// whatever `request` says now.
    ///
    /// A revert comes back as `Ok` with [`TxOutcome::Reverted`]; see [`Sent::success`].
    pub async fn send(&self, intent: &str, request: TransactionRequest) -> Result<Sent, TxError> {
        let record = self.submit(intent, request).await?;
        self.wait(record.nonce).await
    }

    /// Records and broadcasts `request` for `intent` without waiting for it to be mined. If
    /// `intent` is on record, returns that record whatever its status (broadcasting it again
    /// if it is pending).
    ///
    /// The record is written before the broadcast, so an error from the broadcast itself
    /// ([`TxError::Rpc`] for `eth_sendRawTransaction`, [`TxError::Rejected`]) leaves the
    /// transaction on record as pending, holding its nonce: [`wait`](Self::wait),
    /// [`resume`](Self::resume) or a `send` of the same intent carries on with it.
    pub async fn submit(
        &self,
        intent: &str,
        request: TransactionRequest,
    ) -> Result<TxRecord, TxError> {
        let (record, new) = self.prepare_inner(intent, request).await?;
        if record.status != TxStatus::Pending {
            return Ok(record);
        }
        if !new {
            self.rebroadcast(&record).await?;
            return Ok(record);
        }
        match self.broadcast(record.nonce, &record.raw).await? {
            Broadcast::Accepted | Broadcast::AlreadyKnown => {
                tracing::info!(
                    intent,
                    nonce = record.nonce,
                    tx_hash = %record.tx_hash,
                    gas_limit = record.gas_limit,
                    max_fee_per_gas = record.max_fee_per_gas,
                    max_priority_fee_per_gas = record.max_priority_fee_per_gas,
                    "transaction sent"
                );
            }
            Broadcast::NonceUsed | Broadcast::Underpriced => {
                // Another transaction of the key, not on record, has this nonce (mined or
                // pending). Waiting settles it as dropped if that one is mined.
                tracing::warn!(
                    intent,
                    nonce = record.nonce,
                    tx_hash = %record.tx_hash,
                    "the nonce is taken by a transaction not on record"
                );
            }
            Broadcast::Refused(reason) => {
                tracing::warn!(
                    intent,
                    nonce = record.nonce,
                    tx_hash = %record.tx_hash,
                    %reason,
                    "the node refused the transaction; it stays on record as pending"
                );
                return Err(TxError::Rejected {
                    intent: intent.to_string(),
                    nonce: record.nonce,
                    tx_hash: record.tx_hash,
                    reason,
                });
            }
        }
        Ok(record)
    }

    /// Estimates, signs and records `request` for `intent` **without broadcasting it**; what
    /// [`submit`](Self::submit) does before it broadcasts. Returns the record of `intent` if it
    /// exists. A transaction prepared and never broadcast is broadcast by
    /// [`resume`](Self::resume) or [`wait`](Self::wait), exactly as after a crash between the two
    /// steps.
    ///
    /// Gas (unless the request sets a limit) and fees (unless it sets both) are estimated
    /// before a nonce is taken: a request the node says would revert returns
    /// [`TxError::WouldRevert`] and uses no nonce.
    pub async fn prepare(
        &self,
        intent: &str,
        request: TransactionRequest,
    ) -> Result<TxRecord, TxError> {
        Ok(self.prepare_inner(intent, request).await?.0)
    }

    /// [`prepare`](Self::prepare), and whether the record is new.
    async fn prepare_inner(
        &self,
        intent: &str,
        request: TransactionRequest,
    ) -> Result<(TxRecord, bool), TxError> {
        let inner = &self.inner;
        // Before anything else: the call may no longer estimate (its effect is on chain now).
        if let Some(existing) = inner.log.by_intent(intent).await? {
            tracing::debug!(
                intent,
                nonce = existing.nonce,
                tx_hash = %existing.tx_hash,
                status = existing.status.as_str(),
                "intent already on record"
            );
            return Ok((existing, false));
        }
        let call = Call::of(intent, request, inner.address, inner.chain_id)?;
        let gas_limit = match call.gas_limit {
            Some(limit) => limit,
            None => self.estimate_gas(intent, &call).await?,
        };
        let fees = self.initial_fees(intent, &call).await?;

        let mut next = inner.next_nonce.lock().await;
        let nonce = *next;
        let (tx_hash, raw) = self.sign(nonce, call.to, &call.input, call.value, gas_limit, fees)?;
        let now = now_ms();
        let record = TxRecord {
            nonce,
            intent: intent.to_string(),
            to: call.to,
            input: call.input,
            value: call.value,
            gas_limit,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            tx_hash,
            raw,
            status: TxStatus::Pending,
            bumps: 0,
            block_number: None,
            gas_used: None,
            first_sent_ms: now,
            last_sent_ms: now,
        };
        match inner.log.insert(&record).await {
            Ok(Inserted::New) => {
                *next = nonce.saturating_add(1);
                drop(next);
                tracing::debug!(intent, nonce, %tx_hash, gas_limit, "transaction recorded");
                Ok((record, true))
            }
            // A concurrent call recorded the intent first; the nonce stays free.
            Ok(Inserted::IntentExists(existing)) => Ok((*existing, false)),
            Err(error) => {
                // A nonce already on record means something else wrote this key's log (another
                // manager for the key): move past it so the next call does not fail the same way.
                if let Ok(Some(recorded)) = inner.log.next_nonce().await {
                    *next = (*next).max(recorded);
                }
                Err(error.into())
            }
        }
    }

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
            TxStatus::Mined | TxStatus::Reverted => return self.settled(record).await,
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
    async fn watch(&self, record: TxRecord) -> Result<Sent, TxError> {
        let config = &self.inner.config;
        let nonce = record.nonce;
        let deadline = Instant::now() + config.receipt_timeout;
        let mut passed = 0;
        loop {
            // The mined nonce first: if it is past ours, any version of ours that was mined
            // was mined before the receipts below were asked for, so none means dropped.
            let mined_nonce = self.mined_nonce().await?;
            let versions = self.inner.log.versions(nonce).await?;
            for hash in versions.iter().rev() {
                if let Some((receipt, block)) = self.receipt(*hash).await? {
                    let bumps = u32::try_from(versions.len().saturating_sub(1)).unwrap_or(u32::MAX);
                    return self.settle_mined(&record, bumps, block, receipt).await;
                }
            }
            if mined_nonce > nonce {
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
            if passed == 0 && self.claim_bump(nonce) {
                self.bump(nonce).await?;
            }
            tokio::time::sleep(config.poll_interval.min(deadline - now)).await;
        }
    }

    /// Re-signs the pending transaction with `nonce` with higher fees, records the new version
    /// and broadcasts it; at the fee cap, broadcasts the latest version again instead.
    async fn bump(&self, nonce: u64) -> Result<(), TxError> {
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
    async fn rebroadcast(&self, record: &TxRecord) -> Result<(), TxError> {
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
    async fn broadcast(&self, nonce: u64, raw: &Bytes) -> Result<Broadcast, TxError> {
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

    /// The padded gas limit of `call`, or why the node would not execute it.
    async fn estimate_gas(&self, intent: &str, call: &Call) -> Result<u64, TxError> {
        let provider = &self.inner.provider;
        let request = call.estimate_request(self.inner.address);
        let estimate = self
            .inner
            .retry
            .call("eth_estimateGas", || {
                let request = request.clone();
                async move { provider.estimate_gas(request).await }
            })
            .await;
        let failure = match estimate {
            Ok(gas) => return Ok(self.inner.config.gas_padding.padded(gas)),
            Err(failure) => failure,
        };
        match &failure.source {
            RpcError::ErrorResp(payload) => match would_revert(payload) {
                Some((reason, data)) => {
                    tracing::info!(intent, %reason, "transaction would revert; not sent");
                    Err(TxError::WouldRevert {
                        intent: intent.to_string(),
                        reason,
                        data,
                    })
                }
                None => Err(failure.into()),
            },
            _ => Err(failure.into()),
        }
    }

    /// The fees a new transaction is signed with: the request's, completed by the node's
    /// estimate, at most the cap.
    async fn initial_fees(&self, intent: &str, call: &Call) -> Result<Fees, TxError> {
        let wanted = match (call.max_fee_per_gas, call.max_priority_fee_per_gas) {
            (Some(max_fee_per_gas), Some(max_priority_fee_per_gas)) => Fees {
                max_fee_per_gas,
                max_priority_fee_per_gas,
            },
            (max_fee, tip) => {
                let estimate = self.estimate_fees().await?;
                let max_fee_per_gas = max_fee.unwrap_or(estimate.max_fee_per_gas);
                Fees {
                    max_fee_per_gas,
                    max_priority_fee_per_gas: tip
                        .unwrap_or(estimate.max_priority_fee_per_gas)
                        .min(max_fee_per_gas),
                }
            }
        };
        let cap = self.inner.config.max_fee_per_gas_cap;
        if wanted.max_fee_per_gas > cap {
            tracing::warn!(
                intent,
                max_fee_per_gas = wanted.max_fee_per_gas,
                cap,
                "fee above the cap; signing at the cap, mining may wait for lower base fees"
            );
        }
        Ok(wanted.capped(cap))
    }

    async fn estimate_fees(&self) -> Result<Fees, TxError> {
        let provider = &self.inner.provider;
        let estimate = self
            .inner
            .retry
            .call("eth_feeHistory", || async {
                provider.estimate_eip1559_fees().await
            })
            .await?;
        Ok(Fees {
            max_fee_per_gas: estimate.max_fee_per_gas,
            max_priority_fee_per_gas: estimate.max_priority_fee_per_gas,
        })
    }

    /// The key's nonce as of the latest block: how many of its transactions are mined.
    async fn mined_nonce(&self) -> Result<u64, TxError> {
        let provider = &self.inner.provider;
        let address = self.inner.address;
        Ok(self
            .inner
            .retry
            .call("eth_getTransactionCount", || async {
                provider.get_transaction_count(address).latest().await
            })
            .await?)
    }

    /// The receipt of `hash` and its block, if it is mined.
    async fn receipt(&self, hash: B256) -> Result<Option<(TransactionReceipt, u64)>, TxError> {
        let provider = &self.inner.provider;
        let receipt = self
            .inner
            .retry
            .call("eth_getTransactionReceipt", || async {
                provider.get_transaction_receipt(hash).await
            })
            .await?;
        // Some nodes answer for the pending block, without a block number: not mined yet.
        Ok(receipt.and_then(|receipt| receipt.block_number.map(|block| (receipt, block))))
    }

    /// A signed EIP-1559 transaction: its hash and EIP-2718 bytes.
    fn sign(
        &self,
        nonce: u64,
        to: Address,
        input: &Bytes,
        value: U256,
        gas_limit: u64,
        fees: Fees,
    ) -> Result<(B256, Bytes), TxError> {
        let mut tx = TxEip1559 {
            chain_id: self.inner.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input: input.clone(),
        };
        let signature = self.inner.signer.sign_transaction_sync(&mut tx)?;
        let signed = tx.into_signed(signature);
        let hash = *signed.hash();
        Ok((hash, TxEnvelope::from(signed).encoded_2718().into()))
    }

    /// The outcome of a record settled as mined or reverted, with its receipt.
    async fn settled(&self, record: TxRecord) -> Result<Sent, TxError> {
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

    async fn settle_mined(
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

    async fn settle_dropped(&self, record: &TxRecord, mined_nonce: u64) -> Result<Sent, TxError> {
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

    fn dropped(&self, record: &TxRecord) -> TxError {
        TxError::Dropped {
            intent: record.intent.clone(),
            nonce: record.nonce,
            sender: self.inner.address,
        }
    }

    fn broadcasts(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Instant>> {
        // The map holds only timestamps: a panic elsewhere cannot leave it inconsistent.
        self.inner
            .broadcasts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn note_broadcast(&self, nonce: u64) {
        self.broadcasts().insert(nonce, Instant::now());
    }

    fn last_broadcast(&self, nonce: u64) -> Option<Instant> {
        self.broadcasts().get(&nonce).copied()
    }

    fn forget(&self, nonce: u64) {
        self.broadcasts().remove(&nonce);
    }

    /// Whether a bump of `nonce` is due, and if so takes it: the clock restarts now, so a
    /// concurrent waiter on the same nonce does not bump it too.
    fn claim_bump(&self, nonce: u64) -> bool {
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

/// The reason and revert data when an `eth_estimateGas` error response means the call fails
/// when executed (a revert, lack of funds, running out of gas), or `None` when the node did
/// not get as far as executing it (malformed request, unknown method, rate limit): that is an
/// RPC failure, not a verdict on the transaction.
fn would_revert(payload: &ErrorPayload) -> Option<(String, Option<Bytes>)> {
    if payload.is_retry_err() {
        return None;
    }
    let data = payload.as_revert_data();
    let reverted = data.is_some() || payload.message.to_ascii_lowercase().contains("revert");
    // JSON-RPC's own codes: parse error, invalid request, method not found, invalid params,
    // internal error.
    let unexecuted = matches!(payload.code, -32700 | -32600 | -32601 | -32602 | -32603);
    if unexecuted && !reverted {
        return None;
    }
    let reason = data
        .as_ref()
        .and_then(|data| decode_revert_reason(data))
        .unwrap_or_else(|| payload.message.to_string());
    Some((reason, data))
}

/// Milliseconds since the Unix epoch, like the store's `*_ms` columns.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use alloy::sol_types::{Revert, SolError};
    use serde_json::value::RawValue;

    use super::*;

    fn payload(code: i64, message: &'static str, data: Option<String>) -> ErrorPayload {
        ErrorPayload {
            code,
            message: message.into(),
            data: data.map(|data| RawValue::from_string(data).unwrap()),
        }
    }

    #[test]
    fn a_revert_reason_is_decoded() {
        let encoded = Revert::from("no").abi_encode();
        let data = format!("\"{}\"", alloy::primitives::hex::encode_prefixed(&encoded));
        let (reason, raw) = would_revert(&payload(3, "execution reverted", Some(data))).unwrap();
        assert_eq!(reason, "revert: no");
        assert_eq!(raw.unwrap().as_ref(), &encoded[..]);
    }

    #[test]
    fn execution_failures_are_reverts_and_malformed_requests_are_not() {
        assert!(would_revert(&payload(-32000, "execution reverted", None)).is_some());
        assert!(would_revert(&payload(-32000, "insufficient funds for transfer", None)).is_some());
        // Hardhat reports reverts as internal errors.
        assert!(would_revert(&payload(-32603, "VM Exception: reverted", None)).is_some());
        assert!(would_revert(&payload(-32602, "invalid params", None)).is_none());
        assert!(would_revert(&payload(-32601, "method not found", None)).is_none());
        assert!(would_revert(&payload(429, "rate limited", None)).is_none());
    }
}
