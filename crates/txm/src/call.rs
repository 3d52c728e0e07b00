//! What the manager sends: a request checked down to what a record can hold, and what the
//! node's refusal to estimate it means.

use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::rpc::json_rpc::ErrorPayload;
use alloy::rpc::types::{TransactionInput, TransactionRequest};
use alloy::sol_types::decode_revert_reason;

use crate::TxError;
use crate::rpc::is_rate_limited;

/// What a request asks for, checked: only what a record can hold, so that a fee bump can
/// re-sign exactly the same call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) to: Address,
    pub(crate) input: Bytes,
    pub(crate) value: U256,
    pub(crate) gas_limit: Option<u64>,
    pub(crate) max_fee_per_gas: Option<u128>,
    pub(crate) max_priority_fee_per_gas: Option<u128>,
}

impl Call {
    pub(crate) fn of(
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
    pub(crate) fn estimate_request(&self, from: Address) -> TransactionRequest {
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

/// The reason and revert data when an `eth_estimateGas` error response means the call fails
/// when executed (a revert, lack of funds, running out of gas), or `None` when the node did
/// not get as far as executing it (malformed request, unknown method, rate limit): that is an
/// RPC failure, not a verdict on the transaction.
pub(crate) fn would_revert(payload: &ErrorPayload) -> Option<(String, Option<Bytes>)> {
    if is_rate_limited(payload) {
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
