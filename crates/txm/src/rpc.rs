//! RPC calls with retries, and what a node's answer to a broadcast means.
//!
//! Only failures that say nothing about the request itself are retried: the connection, a
//! hung request, an overloaded or rate-limiting server. An error response (a revert, invalid
//! params, "nonce too low") is the node's answer and comes back at once; the broadcast-specific
//! answers are sorted by [`Broadcast::of`].

use std::future::Future;
use std::time::Duration;

use alloy::rpc::json_rpc::RpcError;
use alloy::transports::{TransportError, TransportErrorKind, TransportResult};

use crate::{TxError, TxManagerConfig};

/// How RPC calls are retried (taken from [`TxManagerConfig`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    attempts: u32,
    backoff: Duration,
    backoff_max: Duration,
    timeout: Duration,
}

/// An RPC call that failed for good.
#[derive(Debug)]
pub(crate) struct RpcFailure {
    pub method: &'static str,
    pub attempts: u32,
    pub source: TransportError,
}

impl From<RpcFailure> for TxError {
    fn from(failure: RpcFailure) -> Self {
        TxError::Rpc {
            method: failure.method,
            attempts: failure.attempts,
            source: failure.source,
        }
    }
}

impl Retry {
    pub(crate) fn new(config: &TxManagerConfig) -> Self {
        Self {
            attempts: config.rpc_attempts.max(1),
            backoff: config.rpc_backoff,
            backoff_max: config.rpc_backoff_max,
            timeout: config.rpc_timeout,
        }
    }

    /// Runs `call` until it succeeds, fails with an error that is not transient, or has been
    /// made the configured number of times. Each attempt is bounded by the RPC timeout; each
    /// retry is logged.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        method: &'static str,
        mut call: F,
    ) -> Result<T, RpcFailure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = TransportResult<T>>,
    {
        let mut delay = self.backoff;
        let mut attempt = 1;
        loop {
            let result = match tokio::time::timeout(self.timeout, call()).await {
                Ok(result) => result,
                Err(_) => Err(TransportErrorKind::custom_str(&format!(
                    "no response within {:?}",
                    self.timeout
                ))),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(error) if attempt < self.attempts && is_transient(&error) => {
                    tracing::warn!(
                        method,
                        attempt,
                        attempts = self.attempts,
                        retry_in = ?delay,
                        %error,
                        "RPC call failed, retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2).min(self.backoff_max);
                    attempt += 1;
                }
                Err(source) => {
                    return Err(RpcFailure {
                        method,
                        attempts: attempt,
                        source,
                    });
                }
            }
        }
    }
}

/// Whether `error` is a failure of the transport rather than the node's answer to the
/// request: worth the same request again.
pub(crate) fn is_transient(error: &TransportError) -> bool {
    match error {
        RpcError::Transport(kind) => match kind {
            TransportErrorKind::HttpError(http) => {
                http.status >= 500 || http.status == 429 || http.status == 408
            }
            // Connection refused or reset, DNS, TLS, a timeout: reqwest's errors all land here,
            // as does our own per-attempt timeout.
            TransportErrorKind::Custom(_)
            | TransportErrorKind::BackendGone
            | TransportErrorKind::MissingBatchResponse(_) => true,
            _ => false,
        },
        // Rate limiting reported inside a JSON-RPC error (429, Infura's -32005, ...).
        RpcError::ErrorResp(payload) => payload.is_retry_err(),
        _ => false,
    }
}

/// What the node made of `eth_sendRawTransaction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Broadcast {
    /// Taken into the pool.
    Accepted,
    /// The node has this very transaction already (a re-broadcast).
    AlreadyKnown,
    /// The nonce is used on chain: this or another version of ours was mined, or a
    /// transaction not on record took it. Waiting tells which.
    NonceUsed,
    /// Another transaction with the nonce is pending with fees too close to these.
    Underpriced,
    /// Anything else the node said no to (insufficient funds, fee cap below base fee, ...).
    Refused(String),
}

impl Broadcast {
    /// Sorts the node's answer. Transport failures (after retries) stay errors: whether the
    /// node got the transaction is unknown, and the caller's record keeps it for later.
    pub(crate) fn of(result: Result<(), RpcFailure>) -> Result<Self, RpcFailure> {
        let failure = match result {
            Ok(()) => return Ok(Broadcast::Accepted),
            Err(failure) => failure,
        };
        let RpcError::ErrorResp(payload) = &failure.source else {
            return Err(failure);
        };
        if payload.is_retry_err() {
            // Rate limited until the attempts ran out: not an answer about the transaction.
            return Err(failure);
        }
        Ok(Self::of_message(&payload.message))
    }

    /// The answer in a node's error message. Nodes word these differently (geth and reth
    /// "already known", anvil "transaction already imported", Besu "Known transaction",
    /// Nethermind "AlreadyKnown"/"OldNonce"), so this matches loosely.
    pub(crate) fn of_message(message: &str) -> Self {
        let lower = message.to_ascii_lowercase();
        let has = |needle: &str| lower.contains(needle);
        if has("already known")
            || has("alreadyknown")
            || has("already imported")
            || has("known transaction")
            || has("already exists")
        {
            Broadcast::AlreadyKnown
        } else if has("nonce too low")
            || has("nonce is too low")
            || has("oldnonce")
            || has("nonce has already been used")
        {
            Broadcast::NonceUsed
        } else if has("underpriced") || has("replacementnotallowed") {
            Broadcast::Underpriced
        } else {
            Broadcast::Refused(message.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use alloy::rpc::json_rpc::ErrorPayload;

    use super::*;

    fn error_response(code: i64, message: &'static str) -> TransportError {
        RpcError::ErrorResp(ErrorPayload {
            code,
            message: message.into(),
            data: None,
        })
    }

    fn retry(attempts: u32) -> Retry {
        Retry {
            attempts,
            backoff: Duration::from_millis(1),
            backoff_max: Duration::from_millis(2),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn transport_failures_are_transient_answers_are_not() {
        assert!(is_transient(&TransportErrorKind::custom_str(
            "connection refused"
        )));
        assert!(is_transient(&TransportErrorKind::http_error(
            502,
            String::new()
        )));
        assert!(is_transient(&TransportErrorKind::http_error(
            429,
            String::new()
        )));
        assert!(!is_transient(&TransportErrorKind::http_error(
            401,
            String::new()
        )));
        assert!(is_transient(&error_response(-32005, "limit exceeded")));
        assert!(!is_transient(&error_response(3, "execution reverted")));
        assert!(!is_transient(&error_response(-32602, "invalid params")));
    }

    #[test]
    fn broadcast_answers_are_sorted() {
        for known in [
            "already known",
            "transaction already imported",
            "Known transaction: 0xabc",
            "AlreadyKnown",
        ] {
            assert_eq!(
                Broadcast::of_message(known),
                Broadcast::AlreadyKnown,
                "{known}"
            );
        }
        for used in [
            "nonce too low",
            "Nonce too low: next nonce 4, tx nonce 3",
            "OldNonce",
        ] {
            assert_eq!(Broadcast::of_message(used), Broadcast::NonceUsed, "{used}");
        }
        assert_eq!(
            Broadcast::of_message("replacement transaction underpriced"),
            Broadcast::Underpriced
        );
        assert_eq!(
            Broadcast::of_message("insufficient funds for gas * price + value"),
            Broadcast::Refused("insufficient funds for gas * price + value".to_string())
        );
        assert_eq!(
            Broadcast::of(Err(RpcFailure {
                method: "eth_sendRawTransaction",
                attempts: 1,
                source: error_response(-32000, "already known"),
            }))
            .ok(),
            Some(Broadcast::AlreadyKnown)
        );
        assert!(
            Broadcast::of(Err(RpcFailure {
                method: "eth_sendRawTransaction",
                attempts: 5,
                source: TransportErrorKind::custom_str("connection refused"),
            }))
            .is_err()
        );
    }

    #[tokio::test]
    async fn transient_failures_are_retried_up_to_the_attempts() {
        let calls = AtomicU32::new(0);
        let failure = retry(3)
            .call("eth_chainId", || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<u64, _>(TransportErrorKind::custom_str("connection refused")) }
            })
            .await
            .err();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(failure.map(|f| f.attempts), Some(3));
    }

    #[tokio::test]
    async fn answers_are_not_retried_and_success_ends_the_retries() {
        let calls = AtomicU32::new(0);
        let failure = retry(5)
            .call("eth_estimateGas", || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<u64, _>(error_response(3, "execution reverted")) }
            })
            .await
            .err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(failure.map(|f| f.attempts), Some(1));

        let calls = AtomicU32::new(0);
        let value = retry(5)
            .call("eth_chainId", || {
                let attempt = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if attempt < 2 {
                        Err(TransportErrorKind::http_error(503, String::new()))
                    } else {
                        Ok(31337u64)
                    }
                }
            })
            .await
            .ok();
        assert_eq!(value, Some(31337));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_hung_attempt_times_out_and_is_retried() {
        let calls = AtomicU32::new(0);
        let retry = Retry {
            timeout: Duration::from_millis(20),
            ..retry(2)
        };
        let failure = retry
            .call("eth_chainId", || {
                calls.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<TransportResult<u64>>()
            })
            .await
            .err();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(failure.map(|f| f.attempts), Some(2));
    }
}
