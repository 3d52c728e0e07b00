//! Warden's one RPC retry policy — which failures are worth the same request again, and how
//! often and how long to wait — used by the transaction manager here and by every service's
//! instrumented provider (`warden_runtime::rpc`); and what a node's answer to a broadcast means.
//!
//! Only failures that say nothing about the request itself are retried: the connection, a
//! hung request, an overloaded or rate-limiting server (HTTP 5xx, 408, 429, or a JSON-RPC
//! rate-limit error such as Infura's -32005), a missing or null response. An error response (a
//! revert, invalid params, "nonce too low") is the node's answer and comes back at once; the
//! broadcast-specific answers are sorted by [`Broadcast::of`].

use std::future::Future;
use std::time::Duration;

use alloy::rpc::json_rpc::{ErrorPayload, RpcError};
use alloy::transports::{TransportError, TransportErrorKind, TransportResult};

use crate::{TxError, TxManagerConfig};

/// How requests without an answer are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retrying).
    pub attempts: u32,
    /// Wait before the first retry; doubles on each retry up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// One attempt only: for health probes, which must report an outage, not wait it out.
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// Whether attempt number `attempt` (1 first) that failed with `error` is followed by
    /// another.
    pub fn retries(&self, attempt: u32, error: &TransportError) -> bool {
        attempt < self.attempts && is_transient(error)
    }
}

/// How RPC calls are retried (taken from [`TxManagerConfig`]): the policy, and a bound on each
/// attempt so a hung request counts as a failed one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    policy: RetryPolicy,
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
            policy: RetryPolicy {
                attempts: config.rpc_attempts.max(1),
                initial_backoff: config.rpc_backoff,
                max_backoff: config.rpc_backoff_max,
            },
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
                Err(error) if self.policy.retries(attempt, &error) => {
                    let delay = self.policy.backoff(attempt);
                    tracing::warn!(
                        method,
                        attempt,
                        attempts = self.policy.attempts,
                        retry_in = ?delay,
                        %error,
                        "RPC call failed, retrying"
                    );
                    tokio::time::sleep(delay).await;
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
pub fn is_transient(error: &TransportError) -> bool {
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
            _ => kind.is_retry_err(),
        },
        RpcError::ErrorResp(payload) => is_rate_limited(payload),
        // A node that answered `null` where a value is due was not ready (a load balancer
        // between backends, a node still syncing): asking again is what every client does.
        RpcError::NullResp => true,
        _ => false,
    }
}

/// Whether a JSON-RPC error response reports rate limiting (429, Infura's -32005, "rate
/// limit" messages) rather than answering the request.
pub fn is_rate_limited(payload: &ErrorPayload) -> bool {
    payload.is_retry_err()
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
            policy: RetryPolicy {
                attempts,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(2),
            },
            timeout: Duration::from_secs(5),
        }
    }

    fn http(status: u16) -> TransportError {
        TransportErrorKind::http_error(status, String::new())
    }

    #[test]
    fn an_unreachable_node_is_transient() {
        assert!(is_transient(&TransportErrorKind::custom_str(
            "connection refused"
        )));
        assert!(is_transient(&TransportErrorKind::backend_gone()));
    }

    #[test]
    fn server_errors_and_request_timeouts_are_transient_client_errors_are_not() {
        for status in [500, 502, 503, 504, 408] {
            assert!(is_transient(&http(status)), "HTTP {status}");
        }
        for status in [400, 401, 403, 404] {
            assert!(!is_transient(&http(status)), "HTTP {status}");
        }
    }

    #[test]
    fn rate_limits_are_transient_in_http_and_in_json_rpc() {
        assert!(is_transient(&http(429)));
        assert!(is_transient(&error_response(-32005, "limit exceeded")));
        assert!(is_transient(&error_response(429, "Too Many Requests")));
    }

    #[test]
    fn a_null_response_is_transient() {
        assert!(is_transient(&RpcError::NullResp));
    }

    #[test]
    fn answers_are_not_transient() {
        assert!(!is_transient(&error_response(3, "execution reverted")));
        assert!(!is_transient(&error_response(-32602, "invalid params")));
        assert!(!is_transient(&error_response(-32000, "nonce too low")));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_attempts_bound_the_retries() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1), Duration::from_millis(200));
        assert_eq!(policy.backoff(2), Duration::from_millis(400));
        assert_eq!(policy.backoff(5), Duration::from_millis(3_200));
        assert_eq!(policy.backoff(6), Duration::from_secs(5));
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(5));
        let down = TransportErrorKind::custom_str("connection refused");
        assert!(policy.retries(4, &down));
        assert!(!policy.retries(5, &down));
        assert!(!RetryPolicy::none().retries(1, &down));
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
