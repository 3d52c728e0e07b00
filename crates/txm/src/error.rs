//! Why a transaction was not sent, not mined, or not known.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::transports::TransportError;
use warden_store::StoreError;

/// What went wrong. The variants separate what a caller must tell apart: a transaction that
/// could never succeed ([`WouldRevert`](Self::WouldRevert), [`InvalidRequest`](Self::InvalidRequest)),
/// one still in flight ([`Timeout`](Self::Timeout), and [`Rpc`](Self::Rpc) or
/// [`Rejected`](Self::Rejected) after it was recorded), one that will never be mined
/// ([`Dropped`](Self::Dropped)) and one mined but reverted ([`Reverted`](Self::Reverted), only
/// from [`Sent::success`](crate::Sent::success)).
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// The [`TxManagerConfig`](crate::TxManagerConfig) cannot work.
    #[error("invalid transaction manager configuration: {0}")]
    Config(String),

    /// The request asks for something the manager does not send (a contract creation, a nonce
    /// of its own, a legacy gas price, an access list...). Nothing was recorded.
    #[error("transaction {intent:?} cannot be sent by the transaction manager: {reason}")]
    InvalidRequest { intent: String, reason: String },

    /// The node refused to estimate the transaction's gas: executed now it would revert (or
    /// fail for lack of funds). Nothing was recorded and no nonce was used.
    #[error("transaction {intent:?} would revert: {reason}")]
    WouldRevert {
        intent: String,
        /// The decoded `Error(string)`/`Panic(uint256)` reason, or the node's message.
        reason: String,
        /// The raw revert data, for custom errors the caller can decode.
        data: Option<Bytes>,
    },

    /// The key cannot pay for the transaction at its fee cap (gas limit × `maxFeePerGas` plus the
    /// value sent). Nothing was recorded and no nonce was used: funding the key and sending the
    /// intent again is all it takes.
    #[error("{0}")]
    InsufficientFunds(Box<Shortfall>),

    /// An RPC call kept failing at the transport level (or failed with an error response that
    /// is not retried). If it happened after the transaction was recorded, the record stays
    /// pending and a later `wait`, `send` of the same intent or `resume` carries on.
    #[error("RPC call {method} failed after {attempts} attempt(s): {source}")]
    Rpc {
        method: &'static str,
        attempts: u32,
        #[source]
        source: TransportError,
    },

    /// The node refused the first broadcast of a newly recorded transaction (for example for
    /// lack of funds). The record keeps its nonce and stays pending, so later transactions
    /// queue behind it; `wait`/`resume` broadcast it again.
    #[error(
        "the node refused transaction {intent:?} (nonce {nonce}, {tx_hash}): {reason}; it stays on record as pending"
    )]
    Rejected {
        intent: String,
        nonce: u64,
        tx_hash: B256,
        reason: String,
    },

    /// No version of the transaction was mined within the receipt timeout. It stays pending on
    /// record; `wait`, `send` of the same intent or `resume` carries on.
    #[error(
        "no receipt for transaction {intent:?} (nonce {nonce}, latest version {tx_hash}) within the receipt timeout; it stays pending"
    )]
    Timeout {
        intent: String,
        nonce: u64,
        tx_hash: B256,
    },

    /// The key's nonce moved past this transaction's without any recorded version being mined:
    /// another transaction of the key (sent outside this manager) took the nonce. Settled as
    /// dropped; the intent will not be sent again — use a new intent to retry the action.
    #[error(
        "transaction {intent:?} was dropped: nonce {nonce} of {sender} was used by a transaction not on record"
    )]
    Dropped {
        intent: String,
        nonce: u64,
        sender: Address,
    },

    /// The transaction was mined and reverted (from [`Sent::success`](crate::Sent::success)).
    #[error("transaction {intent:?} ({tx_hash}, nonce {nonce}) reverted in block {block}")]
    Reverted {
        intent: String,
        nonce: u64,
        tx_hash: B256,
        block: u64,
    },

    /// `wait` was asked for a nonce this key has no record of.
    #[error("no transaction with nonce {nonce} is on record")]
    UnknownNonce { nonce: u64 },

    /// The record says the transaction was mined and the chain counts its nonce, but the node
    /// has no receipt of any of its versions and no block to tell whether it is still there
    /// (pruned history). A transaction a rollback or reorg took out is repaired instead: sent
    /// again, or settled as dropped when another transaction took its nonce.
    #[error(
        "transaction {intent:?} is on record as mined in {tx_hash}, but the node has no receipt for it"
    )]
    ReceiptUnavailable { intent: String, tx_hash: B256 },

    /// The local key could not sign.
    #[error("signing the transaction: {0}")]
    Sign(#[from] alloy::signers::Error),

    /// The transaction log could not be read or written.
    #[error("transaction log: {0}")]
    Store(#[from] StoreError),
}

/// What a key lacks to pay for a transaction ([`TxError::InsufficientFunds`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "insufficient funds for transaction {intent:?}: key {address} holds {} ETH and the transaction may cost up to {} ETH (gas limit {gas_limit} at up to {max_fee_per_gas} wei per gas, plus {} ETH sent); fund the key",
    ether(*balance),
    ether(*needed),
    ether(*value)
)]
pub struct Shortfall {
    pub intent: String,
    pub address: Address,
    pub balance: U256,
    pub needed: U256,
    pub gas_limit: u64,
    pub max_fee_per_gas: u128,
    pub value: U256,
}

/// `wei` in ether, to six decimals (rounded down), for messages.
pub fn ether(wei: U256) -> String {
    let micro = wei / U256::from(1_000_000_000_000u64);
    let whole = micro / U256::from(1_000_000u64);
    let fraction = micro % U256::from(1_000_000u64);
    format!("{whole}.{fraction:0>6}")
}

/// A fee of `wei` per gas in gwei, exactly (`1.5`, `0.000000007`), for messages.
pub fn gwei(wei: u128) -> String {
    let fraction = format!("{:0>9}", wei % 1_000_000_000);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        (wei / 1_000_000_000).to_string()
    } else {
        format!("{}.{fraction}", wei / 1_000_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_ether_and_gwei() {
        assert_eq!(ether(U256::from(1_500_000_000_000_000_000u128)), "1.500000");
        assert_eq!(ether(U256::from(999_999_999_999u64)), "0.000000");
        assert_eq!(gwei(1_500_000_000), "1.5");
        assert_eq!(gwei(7), "0.000000007");
        assert_eq!(gwei(30_000_000_000), "30");
        assert_eq!(gwei(0), "0");
    }
}
