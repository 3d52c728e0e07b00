//! Prometheus metrics. Every binary has one [`Telemetry`] registry, served at `/metrics`; the
//! EigenLayer AVS node specification's metrics (`eigen_*`) live here, each role registers its
//! own `warden_*` metrics in the same registry.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Why a metric could not be registered (a name registered twice: a programming error, but one
/// reported rather than panicking).
#[derive(Debug, thiserror::Error)]
#[error("registering metric: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// A binary's metrics registry.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    registry: Registry,
    /// Every metric name registered, whether or not it has a sample yet (a labelled metric
    /// appears in a scrape only once a label value is used).
    names: Arc<Mutex<BTreeSet<String>>>,
}

impl Telemetry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Registers `collector`, returning it for keeping.
    pub fn register<C>(&self, collector: C) -> Result<C, MetricsError>
    where
        C: prometheus::core::Collector + Clone + 'static,
    {
        self.registry.register(Box::new(collector.clone()))?;
        if let Ok(mut names) = self.names.lock() {
            names.extend(collector.desc().iter().map(|desc| desc.fq_name.clone()));
        }
        Ok(collector)
    }

    /// The names of every metric registered so far.
    pub fn metric_names(&self) -> BTreeSet<String> {
        self.names
            .lock()
            .map(|names| names.clone())
            .unwrap_or_default()
    }

    /// A counter vector named `name`.
    pub fn counter_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntCounterVec, MetricsError> {
        self.register(IntCounterVec::new(Opts::new(name, help), labels)?)
    }

    /// A histogram vector named `name` with `buckets` (seconds, usually).
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: Vec<f64>,
    ) -> Result<HistogramVec, MetricsError> {
        self.register(HistogramVec::new(
            HistogramOpts::new(name, help).buckets(buckets),
            labels,
        )?)
    }

    /// A gauge named `name`.
    pub fn gauge(&self, name: &str, help: &str) -> Result<Gauge, MetricsError> {
        self.register(Gauge::new(name, help)?)
    }

    /// The registry in Prometheus' text exposition format.
    pub fn encode(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec fails only on metric families the registry would have refused.
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "encoding metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Latency buckets for RPC requests and database queries: 1 ms to 10 s.
pub fn latency_buckets() -> Vec<f64> {
    vec![
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ]
}

/// `warden_agent_run_seconds`: how long the agent takes to decide (operators and challengers run
/// it).
pub fn agent_run_seconds(telemetry: &Telemetry) -> Result<prometheus::Histogram, MetricsError> {
    telemetry.register(prometheus::Histogram::with_opts(
        HistogramOpts::new("warden_agent_run_seconds", "Time the agent takes to decide")
            .buckets(latency_buckets()),
    )?)
}

/// `warden_chain_reorgs_total{follower}`: reorganisations a chain follower undid.
pub fn chain_reorgs_total(telemetry: &Telemetry) -> Result<IntCounterVec, MetricsError> {
    telemetry.counter_vec(
        "warden_chain_reorgs_total",
        "Chain reorganisations the node followed",
        &["follower"],
    )
}

/// The EigenLayer node specification's RPC metrics, plus Warden's error and retry counts.
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    /// `eigen_rpc_request_duration_seconds{method, client_version}`.
    pub duration: HistogramVec,
    /// `eigen_rpc_request_total{method, client_version}`.
    pub total: IntCounterVec,
    /// `warden_rpc_errors_total{method, kind}`: `transport` (no answer) or `rpc` (an error
    /// response).
    pub errors: IntCounterVec,
    /// `warden_rpc_retries_total{method}`.
    pub retries: IntCounterVec,
    client_version: Arc<RwLock<String>>,
}

impl RpcMetrics {
    pub fn register(telemetry: &Telemetry) -> Result<Self, MetricsError> {
        Ok(Self {
            duration: telemetry.histogram_vec(
                "eigen_rpc_request_duration_seconds",
                "Duration of Ethereum JSON-RPC requests, by method and client version",
                &["method", "client_version"],
                latency_buckets(),
            )?,
            total: telemetry.counter_vec(
                "eigen_rpc_request_total",
                "Ethereum JSON-RPC requests, by method and client version",
                &["method", "client_version"],
            )?,
            errors: telemetry.counter_vec(
                "warden_rpc_errors_total",
                "Failed Ethereum JSON-RPC requests, by method and kind (transport or rpc)",
                &["method", "kind"],
            )?,
            retries: telemetry.counter_vec(
                "warden_rpc_retries_total",
                "Ethereum JSON-RPC requests retried after a transport failure, by method",
                &["method"],
            )?,
            client_version: Arc::new(RwLock::new("unknown".to_string())),
        })
    }

    /// The node's `web3_clientVersion`, used as the `client_version` label from now on.
    pub fn set_client_version(&self, version: &str) {
        if let Ok(mut current) = self.client_version.write() {
            *current = version.to_string();
        }
    }

    pub fn client_version(&self) -> String {
        self.client_version
            .read()
            .map(|version| version.clone())
            .unwrap_or_default()
    }
}

/// Metrics every role has.
#[derive(Debug, Clone)]
pub struct NodeMetrics {
    /// `eigen_performance_score`: 0 to 100, how well the node is doing its job; each role
    /// documents what it measures.
    pub performance_score: Gauge,
    /// `warden_database_errors_total{operation}`.
    pub database_errors: IntCounterVec,
    /// `warden_http_errors_total{server, code}`: every error answer of the node's HTTP servers
    /// (`api`, `ops`), by its `code` (see [`crate::http`]).
    pub http_errors: IntCounterVec,
}

impl NodeMetrics {
    pub fn register(telemetry: &Telemetry) -> Result<Self, MetricsError> {
        Ok(Self {
            performance_score: telemetry.gauge(
                "eigen_performance_score",
                "How well this node performs its AVS duty, from 0 to 100",
            )?,
            database_errors: telemetry.counter_vec(
                "warden_database_errors_total",
                "Failed database operations, by operation",
                &["operation"],
            )?,
            http_errors: telemetry.counter_vec(
                "warden_http_errors_total",
                "Error answers of the node's HTTP servers, by server and error code",
                &["server", "code"],
            )?,
        })
    }
}
