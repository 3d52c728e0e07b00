//! What every long-running Warden service sets up the same way before doing its own work: the
//! database, the metrics registry, an instrumented RPC client, and the operations endpoints
//! with the probes every service has (RPC and database) plus its own.

use std::sync::Arc;
use std::time::Duration;

use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use tokio::sync::watch;
use warden_bindings::core_release::{ReleaseError, check_task_manager_core};
use warden_store::{Store, StoreError};
use warden_txm::{TransactionsConfig, TxError, TxManager};

use crate::config::ServiceConfig;
use crate::launcher::CriticalTasks;
use crate::metrics::{MetricsError, NodeMetrics, RpcMetrics, Telemetry};
use crate::node_api::{DatabaseProbe, NodeApi, Probe, RpcProbe, SyncProbe};
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
    /// The chain's EigenLayer core is not one this build's interfaces were written for, or the
    /// configured task manager is not on this chain.
    #[error("the configured deployment: {0}")]
    EigenLayer(#[from] ReleaseError),
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
    rpc_urls: Vec<Url>,
}

impl ServiceRuntime {
    /// Opens (and migrates) the database at `database_url` and connects to `rpc_url`.
    pub async fn start(
        rpc_url: Url,
        retry: RetryPolicy,
        database_url: &str,
    ) -> Result<Self, ServiceError> {
        Self::start_with_endpoints(vec![rpc_url], retry, database_url).await
    }

    /// [`ServiceRuntime::start`] over several endpoints of one chain, the first preferred
    /// ([`rpc::Failover`]).
    pub async fn start_with_endpoints(
        rpc_urls: Vec<Url>,
        retry: RetryPolicy,
        database_url: &str,
    ) -> Result<Self, ServiceError> {
        let store = Store::open(database_url).await?;
        let telemetry = Telemetry::new();
        let rpc_metrics = RpcMetrics::register(&telemetry)?;
        let node_metrics = NodeMetrics::register(&telemetry)?;
        let provider = rpc::connect_endpoints(&rpc_urls, rpc_metrics.clone(), retry);
        rpc::observe_client_version(&provider, &rpc_metrics).await;
        Ok(Self {
            store,
            telemetry,
            rpc_metrics,
            node_metrics,
            provider,
            rpc_urls,
        })
    }

    /// Opens the database and connects to the chain as `config` says, then reads the EigenLayer
    /// core behind the configured task manager: a core of a release this build's interfaces were
    /// not written for, or a task manager with no code on this chain, stops the service here,
    /// before it acts on anything.
    pub async fn for_config<C: ServiceConfig>(config: &C) -> Result<Self, ServiceError> {
        let chain = config.chain();
        let runtime =
            Self::start_with_endpoints(chain.endpoints(), chain.retry(), &config.database().url)
                .await?;
        match check_task_manager_core(&runtime.provider, chain.task_manager).await {
            Ok(releases) => {
                for (contract, release) in releases {
                    tracing::info!(contract, %release, "EigenLayer core release supported");
                }
            }
            // A node down at start-up is the service's to ride out as it rides out any outage;
            // only an answer that rules the deployment out stops it here.
            Err(error) if error.is_unreachable() => tracing::warn!(
                %error,
                "could not read the EigenLayer core's release at start-up; going on"
            ),
            Err(error) => return Err(error.into()),
        }
        Ok(runtime)
    }

    /// A provider without retries, for a caller that retries on its own (the transaction
    /// manager): a failure is then not retried twice.
    pub fn unretried_provider(&self) -> DynProvider {
        rpc::connect_endpoints(
            &self.rpc_urls,
            self.rpc_metrics.clone(),
            RetryPolicy::none(),
        )
    }

    /// The transaction manager of the key `signer`, its log in this service's database. Its
    /// provider does not retry: the manager retries on its own, and a failure must not be
    /// retried twice.
    pub async fn transaction_manager(
        &self,
        signer: PrivateKeySigner,
        config: &TransactionsConfig,
    ) -> Result<TxManager, TxError> {
        TxManager::new(
            self.unretried_provider(),
            signer,
            self.store.clone(),
            config.manager_config()?,
        )
        .await
    }

    /// Serves metrics and the node API of the service configured by `config`, probing the RPC
    /// endpoint, the database and how the service keeps up with the chain (`sync`), until
    /// `shutdown`. The servers are critical tasks.
    pub async fn serve_ops<C: ServiceConfig>(
        &self,
        config: &C,
        sync: SyncProbe,
        shutdown: watch::Receiver<bool>,
        tasks: &mut CriticalTasks,
    ) -> Result<OpsEndpoints, ServiceError> {
        self.serve_ops_with(config, sync, Vec::new(), shutdown, tasks)
            .await
    }

    /// [`serve_ops`](Self::serve_ops), with the service's own probes (`extra`, checked after
    /// the common ones): its work loops, for instance.
    pub async fn serve_ops_with<C: ServiceConfig>(
        &self,
        config: &C,
        sync: SyncProbe,
        extra: Vec<Arc<dyn Probe>>,
        shutdown: watch::Receiver<bool>,
        tasks: &mut CriticalTasks,
    ) -> Result<OpsEndpoints, ServiceError> {
        let ops = config.ops();
        let mut all: Vec<Arc<dyn Probe>> = vec![
            Arc::new(RpcProbe {
                provider: self.unretried_provider(),
                timeout: PROBE_TIMEOUT,
            }),
            Arc::new(DatabaseProbe {
                store: self.store.clone(),
                timeout: PROBE_TIMEOUT,
            }),
        ];
        all.push(Arc::new(sync));
        all.extend(extra);
        let name = ops.node_name.as_deref().unwrap_or(C::NAME);
        let api = NodeApi::new(name, all);
        let (endpoints, servers) = crate::ops::serve(
            self.telemetry.clone(),
            self.node_metrics.http_errors.clone(),
            api,
            ops.metrics_listen,
            ops.node_api_listen,
            shutdown,
        )
        .await?;
        for server in servers {
            tasks.watch("ops server", server);
        }
        Ok(endpoints)
    }

    /// Logs the line saying that `what` (`operator node`) has started, naming who it acts as,
    /// its database and its ops endpoints: people and tests read the endpoints from it.
    pub fn log_started(
        &self,
        what: &str,
        acting_as: &dyn std::fmt::Display,
        endpoints: &OpsEndpoints,
    ) {
        tracing::info!(
            %acting_as,
            database = self.store.location(),
            metrics = %endpoints.metrics_url(),
            node_api = %endpoints.node_api_url(),
            "{what} started"
        );
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
