//! The aggregator as a service: database, transaction manager, metrics, node API, the intake's
//! HTTP server and the keeper, started the same way by `warden-aggregator run` and by the devnet.

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_runtime::node_api::{Probe, SyncProbe, SyncProgress};
use warden_runtime::ops::OpsEndpoints;
use warden_runtime::rpc::{self, RetryPolicy};
use warden_runtime::service::ServiceRuntime;
use warden_txm::TxManager;

use crate::config::AggregatorConfig;
use crate::service::{Aggregator, AggregatorSettings, ServiceError};

/// Why the aggregator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Runtime(#[from] warden_runtime::service::ServiceError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("starting the transaction manager: {0}")]
    Transactions(#[from] warden_txm::TxError),
    #[error("the aggregator API did not start")]
    Api,
}

/// A started aggregator.
#[derive(Debug)]
pub struct RunningAggregator {
    pub aggregator: Arc<Aggregator>,
    /// Where operators send signatures.
    pub api: SocketAddr,
    pub endpoints: OpsEndpoints,
    /// The API server, the keeper and the ops servers; all end on shutdown.
    pub tasks: Vec<JoinHandle<()>>,
}

/// Opens the database, serves the API, metrics and the node API, and keeps tasks until
/// `shutdown`. `signer` pays for every transaction.
pub async fn start(
    config: &AggregatorConfig,
    signer: PrivateKeySigner,
    shutdown: watch::Receiver<bool>,
) -> Result<RunningAggregator, StartError> {
    let runtime = ServiceRuntime::start(
        config.chain.rpc_url.clone(),
        config.chain.retry(),
        &config.database.url,
    )
    .await?;
    // The manager retries on its own; its provider does not, so a failure is not retried twice.
    let txm = TxManager::new(
        rpc::connect(
            config.chain.rpc_url.clone(),
            runtime.rpc_metrics.clone(),
            RetryPolicy::none(),
        ),
        signer,
        runtime.store.clone(),
        config.transactions.manager_config()?,
    )
    .await?;
    let progress = Arc::new(SyncProgress::default());
    let aggregator = Aggregator::connect(
        AggregatorSettings {
            task_manager: config.chain.task_manager,
            listen: config.aggregator.listen,
            keeper_agents: config.aggregator.keeper_agents.clone(),
            poll_interval: config.chain.poll_interval(),
        },
        txm,
        &runtime,
        Arc::clone(&progress),
    )
    .await?;
    let probes: Vec<Arc<dyn Probe>> = vec![Arc::new(SyncProbe {
        id: "keeper".into(),
        name: "Keeper".into(),
        description: "Opens, commits, executes and expires tasks every block".into(),
        progress,
        max_lag: 0,
    })];
    let (endpoints, mut tasks) = runtime
        .serve_ops("warden-aggregator", &config.ops, probes, shutdown.clone())
        .await?;
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    {
        let aggregator = Arc::clone(&aggregator);
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(error) = aggregator.serve(shutdown, bound_tx).await {
                tracing::error!(%error, "aggregator API stopped");
            }
        }));
    }
    let api = bound_rx.await.map_err(|_| StartError::Api)?;
    tasks.push(tokio::spawn(Arc::clone(&aggregator).keep(shutdown)));
    tracing::info!(
        address = %aggregator.address(),
        %api,
        database = runtime.store.location(),
        metrics = %endpoints.metrics_url(),
        node_api = %endpoints.node_api_url(),
        "aggregator started"
    );
    Ok(RunningAggregator {
        aggregator,
        api,
        endpoints,
        tasks,
    })
}
