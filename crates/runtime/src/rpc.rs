//! Instrumented Ethereum JSON-RPC: every request is timed and counted for Prometheus, and a
//! request that gets no answer (connection refused, timeout, HTTP 5xx or 429) is retried with
//! exponential backoff, each retry logged. JSON-RPC error responses (a revert, bad parameters)
//! are answers, returned as they are.

use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::http::reqwest::Url;
use alloy::transports::{TransportError, TransportFut};
use tower::{Layer, Service};

use crate::metrics::RpcMetrics;

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
}

/// A provider for `url` whose requests are measured into `metrics` and retried per `retry`.
pub fn connect(url: Url, metrics: RpcMetrics, retry: RetryPolicy) -> DynProvider {
    let client = ClientBuilder::default()
        .layer(ObservedRpcLayer { metrics, retry })
        .http(url);
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client)
        .erased()
}

/// Reads the node's client version into the `client_version` label. Failure is only logged:
/// metrics then say `unknown`.
pub async fn observe_client_version(provider: &DynProvider, metrics: &RpcMetrics) {
    match provider.get_client_version().await {
        Ok(version) => metrics.set_client_version(&version),
        Err(error) => tracing::warn!(%error, "reading the RPC node's client version"),
    }
}

/// The tower layer behind [`connect`].
#[derive(Debug, Clone)]
pub struct ObservedRpcLayer {
    pub metrics: RpcMetrics,
    pub retry: RetryPolicy,
}

impl<S> Layer<S> for ObservedRpcLayer {
    type Service = ObservedRpc<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ObservedRpc {
            inner,
            metrics: self.metrics.clone(),
            retry: self.retry,
        }
    }
}

/// See [`ObservedRpcLayer`].
#[derive(Debug, Clone)]
pub struct ObservedRpc<S> {
    inner: S,
    metrics: RpcMetrics,
    retry: RetryPolicy,
}

impl<S> Service<RequestPacket> for ObservedRpc<S>
where
    S: Service<RequestPacket, Response = ResponsePacket, Error = TransportError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        // The service polled ready is the one that must be called; keep a fresh clone for later.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let metrics = self.metrics.clone();
        let retry = self.retry;
        Box::pin(async move {
            let method = method_label(&request);
            let mut backoff = retry.initial_backoff;
            let mut attempt = 1;
            loop {
                let client_version = metrics.client_version();
                let labels = [method.as_str(), client_version.as_str()];
                let started = Instant::now();
                let result = inner.call(request.clone()).await;
                metrics
                    .duration
                    .with_label_values(&labels)
                    .observe(started.elapsed().as_secs_f64());
                metrics.total.with_label_values(&labels).inc();
                match result {
                    Ok(response) => {
                        if response.as_error().is_some() {
                            metrics.errors.with_label_values(&[&method, "rpc"]).inc();
                        }
                        return Ok(response);
                    }
                    Err(error) => {
                        metrics
                            .errors
                            .with_label_values(&[&method, "transport"])
                            .inc();
                        if attempt >= retry.attempts || !is_unanswered(&error) {
                            return Err(error);
                        }
                        tracing::warn!(
                            method = %method,
                            attempt,
                            of = retry.attempts,
                            retry_in_ms = backoff.as_millis() as u64,
                            %error,
                            "RPC request failed; retrying"
                        );
                        metrics.retries.with_label_values(&[&method]).inc();
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(retry.max_backoff);
                        attempt += 1;
                        // Wait until the transport can take the request again.
                        std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
                    }
                }
            }
        })
    }
}

/// `eth_call`, or `batch` for a batch request.
fn method_label(request: &RequestPacket) -> String {
    match request {
        RequestPacket::Single(single) => single.method().to_string(),
        RequestPacket::Batch(_) => "batch".to_string(),
    }
}

/// The request got no usable answer: worth sending again.
fn is_unanswered(error: &TransportError) -> bool {
    match error {
        alloy::transports::RpcError::Transport(kind) => {
            kind.is_retry_err()
                || match kind {
                    alloy::transports::TransportErrorKind::HttpError(http) => {
                        http.status == 429 || http.status >= 500
                    }
                    alloy::transports::TransportErrorKind::Custom(_)
                    | alloy::transports::TransportErrorKind::BackendGone => true,
                    _ => false,
                }
        }
        alloy::transports::RpcError::NullResp => true,
        _ => false,
    }
}
