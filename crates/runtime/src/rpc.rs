//! Instrumented Ethereum JSON-RPC: every request is timed and counted for Prometheus, and a
//! request that gets no answer is retried with exponential backoff, each retry logged, by
//! Warden's one retry policy ([`warden_txm::rpc`]: connection failures, HTTP 5xx/408/429, null
//! responses and JSON-RPC rate limits). Other JSON-RPC error responses (a revert, bad
//! parameters) are answers, returned as they are.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::http::Http;
use alloy::transports::http::reqwest::{Client as HttpClient, Url};
use alloy::transports::{TransportError, TransportErrorKind, TransportFut};
use tower::{Layer, Service};
pub use warden_txm::rpc::RetryPolicy;
use warden_txm::rpc::is_rate_limited;

use crate::metrics::RpcMetrics;

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

/// A provider over several endpoints of one chain ([`Failover`]); with one, [`connect`]'s.
pub fn connect_endpoints(urls: &[Url], metrics: RpcMetrics, retry: RetryPolicy) -> DynProvider {
    match urls {
        [url] => connect(url.clone(), metrics, retry),
        urls => {
            let client = ClientBuilder::default()
                .layer(ObservedRpcLayer { metrics, retry })
                .transport(Failover::new(urls), false);
            ProviderBuilder::new()
                .disable_recommended_fillers()
                .connect_client(client)
                .erased()
        }
    }
}

/// Several endpoints of one chain, in order of preference. A request the endpoint in use gives
/// no answer to (connection refused, timeout, an HTTP error) goes to the next one, which is used
/// from then on until it fails in turn; a JSON-RPC error response is an answer and is returned
/// as it is. Endpoints are logged by position, never by URL: a provider's URL often holds its
/// API key.
#[derive(Debug, Clone)]
pub struct Failover {
    endpoints: Arc<[Http<HttpClient>]>,
    current: Arc<AtomicUsize>,
}

impl Failover {
    /// The endpoints at `urls`, the first preferred.
    pub fn new(urls: &[Url]) -> Self {
        Self {
            endpoints: urls.iter().cloned().map(Http::new).collect(),
            current: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Service<RequestPacket> for Failover {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each attempt clones its endpoint's HTTP transport, which is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let endpoints = Arc::clone(&self.endpoints);
        let current = Arc::clone(&self.current);
        Box::pin(async move {
            let count = endpoints.len();
            let start = current.load(Ordering::Relaxed);
            let mut last_error = None;
            for offset in 0..count {
                let index = (start + offset) % count;
                let Some(endpoint) = endpoints.get(index) else {
                    continue;
                };
                match endpoint.clone().call(request.clone()).await {
                    Ok(response) => {
                        if index != start {
                            current.store(index, Ordering::Relaxed);
                            tracing::warn!(
                                endpoint = index,
                                of = count,
                                "RPC endpoint {start} gave no answer; using endpoint {index}"
                            );
                        }
                        return Ok(response);
                    }
                    Err(error) => {
                        tracing::debug!(endpoint = index, %error, "RPC endpoint gave no answer");
                        last_error = Some(error);
                    }
                }
            }
            Err(last_error
                .unwrap_or_else(|| TransportErrorKind::custom_str("no RPC endpoint configured")))
        })
    }
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
                let failure = match result {
                    Ok(response) => {
                        let Some(payload) = response.as_error() else {
                            return Ok(response);
                        };
                        metrics.errors.with_label_values(&[&method, "rpc"]).inc();
                        // An error response is the node's answer, unless it only says "slow
                        // down": that one is retried like an HTTP 429.
                        if attempt >= retry.attempts || !is_rate_limited(payload) {
                            return Ok(response);
                        }
                        payload.to_string()
                    }
                    Err(error) => {
                        metrics
                            .errors
                            .with_label_values(&[&method, "transport"])
                            .inc();
                        if !retry.retries(attempt, &error) {
                            return Err(error);
                        }
                        error.to_string()
                    }
                };
                let backoff = retry.backoff(attempt);
                tracing::warn!(
                    method = %method,
                    attempt,
                    of = retry.attempts,
                    retry_in_ms = backoff.as_millis() as u64,
                    error = %failure,
                    "RPC request failed; retrying"
                );
                metrics.retries.with_label_values(&[&method]).inc();
                tokio::time::sleep(backoff).await;
                attempt += 1;
                // Wait until the transport can take the request again.
                std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
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
