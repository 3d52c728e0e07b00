//! What every long-running Warden service sets up the same way before doing its own work: the
//! database, the metrics registry, an instrumented RPC client, and the operations endpoints
//! with the probes every service has (RPC and database) plus its own.

use std::sync::Arc;
use std::time::Duration;

use alloy::providers::DynProvider;
use alloy::transports::http::reqwest::Url;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_store::{Store, StoreError};

use crate::config::OpsConfig;
use crate::metrics::{MetricsError, NodeMetrics, RpcMetrics, Telemetry};
use crate::node_api::{DatabaseProbe, NodeApi, Probe, RpcProbe};
use crate::ops::{OpsEndpoints, OpsError};
use crate::rpc::{self, RetryPolicy};

/// How long a health probe waits for the RPC endpoint or the database.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("opening the database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error(transparent)]
    Ops(#[from] OpsError),
}

/// A service's shared machinery.
#[derive(Debug, Clone)]
pub struct ServiceRuntime {
    pub store: Store,
    pub telemetry: Telemetry,
    pub rpc_metrics: RpcMetrics,
    pub node_metrics: NodeMetrics,
    /// Retries requests that get no answer; for the service's work.
    pub provider: DynProvider,
    rpc_url: Url,
}

impl ServiceRuntime {
    /// Opens (and migrates) the database at `database_url` and connects to `rpc_url`.
    pub async fn start(
        rpc_url: Url,
        retry: RetryPolicy,
        database_url: &str,
    ) -> Result<Self, ServiceError> {
        let store = Store::open(database_url).await?;
        let telemetry = Telemetry::new();
        let rpc_metrics = RpcMetrics::register(&telemetry)?;
        let node_metrics = NodeMetrics::register(&telemetry)?;
        let provider = rpc::connect(rpc_url.clone(), rpc_metrics.clone(), retry);
        rpc::observe_client_version(&provider, &rpc_metrics).await;
        Ok(Self {
            store,
            telemetry,
            rpc_metrics,
            node_metrics,
            provider,
            rpc_url,
        })
    }

    /// Serves metrics and the node API named `node_name`, probing the RPC endpoint, the database
    /// and `probes`, until `shutdown`.
    pub async fn serve_ops(
        &self,
        node_name: &str,
        ops: &OpsConfig,
        probes: Vec<Arc<dyn Probe>>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(OpsEndpoints, Vec<JoinHandle<()>>), ServiceError> {
        let mut all: Vec<Arc<dyn Probe>> = vec![
            Arc::new(RpcProbe {
                provider: rpc::connect(
                    self.rpc_url.clone(),
                    self.rpc_metrics.clone(),
                    RetryPolicy::none(),
                ),
                timeout: PROBE_TIMEOUT,
            }),
            Arc::new(DatabaseProbe {
                store: self.store.clone(),
                timeout: PROBE_TIMEOUT,
            }),
        ];
        all.extend(probes);
        let name = ops.node_name.as_deref().unwrap_or(node_name);
        let api = NodeApi::new(name, all);
        Ok(crate::ops::serve(
            self.telemetry.clone(),
            api,
            ops.metrics_listen,
            ops.node_api_listen,
            shutdown,
        )
        .await?)
    }

    /// Counts a failed database operation and passes the error on.
    pub fn database_error(&self, operation: &'static str, error: StoreError) -> StoreError {
        self.node_metrics
            .database_errors
            .with_label_values(&[operation])
            .inc();
        error
    }
}
