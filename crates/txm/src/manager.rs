//! [`TxManager`]: record, sign, broadcast, wait, bump, resume.

mod rollback;
mod waiting;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::json_rpc::RpcError;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::Mutex;
use warden_store::Store;
use warden_store::transactions::{Inserted, TransactionLog, TxRecord, TxStatus};

use crate::call::{Call, would_revert};
use crate::error::Shortfall;
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
    /// Nonces the chain stopped counting (a rollback) that nothing on record can fill, each
    /// reported once.
    holes: SyncMutex<HashSet<u64>>,
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
        let manager = Self {
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
                holes: SyncMutex::new(HashSet::new()),
            }),
        };
        // Records above the chain's nonce are pending, or were mined in blocks the chain has
        // since lost (a rollback while this process was down). The lost ones are pending again
        // from here, so `resume` (or the first wait) broadcasts them in nonce order and the
        // new transactions above them can be mined.
        if let Some(recorded) = recorded
            && recorded > mined
        {
            manager.repair_gap(mined, recorded, false).await?;
        }
        Ok(manager)
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
    pub async fn lookup(
        &self,
        intent: &(impl fmt::Display + ?Sized),
    ) -> Result<Option<TxRecord>, TxError> {
        Ok(self.inner.log.by_intent(&intent.to_string()).await?)
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
    pub async fn send(
        &self,
        intent: &(impl fmt::Display + ?Sized),
        request: TransactionRequest,
    ) -> Result<Sent, TxError> {
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
        intent: &(impl fmt::Display + ?Sized),
        request: TransactionRequest,
    ) -> Result<TxRecord, TxError> {
        let intent = intent.to_string();
        let intent = intent.as_str();
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
        intent: &(impl fmt::Display + ?Sized),
        request: TransactionRequest,
    ) -> Result<TxRecord, TxError> {
        Ok(self.prepare_inner(&intent.to_string(), request).await?.0)
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
        self.ensure_funds(intent, gas_limit, fees.max_fee_per_gas, call.value)
            .await?;

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

    /// Refuses, before a nonce is taken, a transaction the key cannot pay for at its fee cap: the
    /// node would refuse it anyway, and a record that cannot be mined would hold up every later
    /// transaction of the key behind its nonce.
    async fn ensure_funds(
        &self,
        intent: &str,
        gas_limit: u64,
        max_fee_per_gas: u128,
        value: U256,
    ) -> Result<(), TxError> {
        let provider = &self.inner.provider;
        let address = self.inner.address;
        let balance = self
            .inner
            .retry
            .call("eth_getBalance", || async move {
                provider.get_balance(address).await
            })
            .await?;
        let needed = U256::from(gas_limit)
            .saturating_mul(U256::from(max_fee_per_gas))
            .saturating_add(value);
        if balance < needed {
            return Err(TxError::InsufficientFunds(Box::new(Shortfall {
                intent: intent.to_string(),
                address,
                balance,
                needed,
                gas_limit,
                max_fee_per_gas,
                value,
            })));
        }
        Ok(())
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
                // The value alone is more than the key holds: say so, with the figures.
                Some((reason, _)) if reason.to_lowercase().contains("insufficient funds") => {
                    self.ensure_funds(intent, 0, 0, call.value).await?;
                    Err(TxError::WouldRevert {
                        intent: intent.to_string(),
                        reason,
                        data: None,
                    })
                }
                Some((reason, data)) => {
                    // The caller decides what a refusal means and how loudly to say it.
                    tracing::debug!(intent, %reason, "transaction would revert; not sent");
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

    /// The chain's latest block number.
    pub(super) async fn head(&self) -> Result<u64, TxError> {
        let provider = &self.inner.provider;
        Ok(self
            .inner
            .retry
            .call("eth_blockNumber", || async {
                provider.get_block_number().await
            })
            .await?)
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
}

/// Milliseconds since the Unix epoch, like the store's `*_ms` columns.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}
