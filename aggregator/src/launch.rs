//! The aggregator as a service: database, transaction manager, metrics, node API, the intake's
//! HTTP server and the keeper, started the same way by `warden-aggregator run` and by the devnet.

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;
use warden_runtime::launcher::CriticalTasks;
use warden_runtime::node_api::{ProbeInfo, SyncProbe, SyncProgress};
use warden_runtime::ops::OpsEndpoints;
use warden_runtime::service::ServiceRuntime;

use crate::config::AggregatorConfig;
use crate::service::{Aggregator, AggregatorSettings, ServiceError};

/// The node API's name for the keeper's progress, block by block.
const KEEPER: ProbeInfo = ProbeInfo {
    id: "keeper",
    name: "Keeper",
    description: "Opens, commits, executes and expires tasks every block",
};

/// Why the aggregator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Runtime(#[from] warden_runtime::service::ServiceError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("starting the transaction manager: {0}")]
    Transactions(#[from] warden_txm::TxError),
}

/// A started aggregator.
#[derive(Debug)]
pub struct RunningAggregator {
    pub aggregator: Arc<Aggregator>,
    /// Where operators send signatures.
    pub api: SocketAddr,
    pub endpoints: OpsEndpoints,
    /// The API server, the keeper and the ops servers; all end on shutdown.
    pub tasks: CriticalTasks,
}

/// Opens the database, serves the API, metrics and the node API, and keeps tasks until
/// `shutdown`. `signer` pays for every transaction.
pub async fn start(
    config: &AggregatorConfig,
    signer: PrivateKeySigner,
    shutdown: watch::Receiver<bool>,
) -> Result<RunningAggregator, StartError> {
    let runtime = ServiceRuntime::for_config(config).await?;
    let txm = runtime
        .transaction_manager(signer, &config.transactions)
        .await?;
    let progress = Arc::new(SyncProgress::default());
    let aggregator = Aggregator::connect(
        AggregatorSettings {
            task_manager: config.chain.task_manager,
            listen: config.aggregator.listen,
            keeper_agents: config.aggregator.keeper_agents.clone(),
            standby_blocks: config.aggregator.standby_blocks,
            allowlist: config.aggregator.allowlist.clone(),
            poll_interval: config.chain.poll_interval(),
            http: config.aggregator.http_limits(),
            quorum_grace: config.aggregator.quorum_grace(),
        },
        txm,
        &runtime,
        Arc::clone(&progress),
    )
    .await?;
    let sync = SyncProbe::new(KEEPER, progress, 0);
    // The keeper and committer loops: 503 once one has work pending without progress for more
    // than `stall_blocks` blocks.
    let loops = aggregator.loops().probes(
        config.aggregator.stall_blocks,
        runtime.unretried_provider(),
        warden_runtime::service::PROBE_TIMEOUT,
    );
    let mut tasks = CriticalTasks::new();
    let endpoints = runtime
        .serve_ops_with(config, sync, loops, shutdown.clone(), &mut tasks)
        .await?;
    let listener = aggregator.bind().await?;
    let api = listener
        .local_addr()
        .map_err(|error| ServiceError::bind(config.aggregator.listen, error))?;
    tasks.spawn(
        "aggregator API",
        Arc::clone(&aggregator).serve(listener, shutdown.clone()),
    );
    let keeper = Arc::clone(&aggregator);
    tasks.spawn("keeper", async move {
        keeper.keep(shutdown).await;
        Ok::<(), std::convert::Infallible>(())
    });
    tracing::info!(%api, "aggregator API listening");
    runtime.log_started("aggregator", &aggregator.address(), &endpoints);
    Ok(RunningAggregator {
        aggregator,
        api,
        endpoints,
        tasks,
    })
}
