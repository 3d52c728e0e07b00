//! The watchtower as a service: database, start-up checks, metrics, node API and the watchtower
//! itself, started the same way by `warden-challenger run` and by the devnet.

use std::sync::Arc;

use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_agent::Agent;
use warden_runtime::node_api::{Probe, SyncProbe, SyncProgress};
use warden_runtime::ops::OpsEndpoints;
use warden_runtime::service::{ServiceError, ServiceRuntime};

use crate::config::ChallengerConfig;
use crate::preflight::{self, PreflightError};
use crate::watchtower::{Watchtower, WatchtowerError};

/// Why the challenger could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("refusing to start: {0}")]
    Preflight(#[from] PreflightError),
    #[error(transparent)]
    Watchtower(#[from] WatchtowerError),
}

/// A started challenger.
#[derive(Debug)]
pub struct RunningChallenger {
    pub watchtower: Arc<Watchtower>,
    pub endpoints: OpsEndpoints,
    /// Ends when the watchtower stops (on shutdown).
    pub task: JoinHandle<Result<(), WatchtowerError>>,
    pub ops: Vec<JoinHandle<()>>,
}

/// Opens the database, checks the chain ([`preflight::check`]) and builds the watchtower, without
/// serving or running it: for tests and tools that step it themselves with
/// [`Watchtower::sync`]. `progress` is what the node API's sync probe reads.
pub async fn build(
    config: &ChallengerConfig,
    signer: PrivateKeySigner,
    agent: Arc<dyn Agent>,
    progress: Arc<SyncProgress>,
) -> Result<(ServiceRuntime, Watchtower), StartError> {
    let runtime = ServiceRuntime::start(
        config.chain.rpc_url.clone(),
        config.chain.retry(),
        &config.database.url,
    )
    .await?;
    let limits = preflight::check(&runtime.provider, config, agent.agent_hash()).await?;
    let watchtower = Watchtower::new(config, &runtime, signer, agent, limits, progress).await?;
    Ok((runtime, watchtower))
}

/// Opens the database, checks the chain, serves metrics and the node API, and runs the
/// watchtower until `shutdown`.
pub async fn start(
    config: &ChallengerConfig,
    signer: PrivateKeySigner,
    agent: Arc<dyn Agent>,
    shutdown: watch::Receiver<bool>,
) -> Result<RunningChallenger, StartError> {
    let progress = Arc::new(SyncProgress::default());
    let (runtime, watchtower) = build(config, signer, agent, Arc::clone(&progress)).await?;
    let probes: Vec<Arc<dyn Probe>> = vec![Arc::new(SyncProbe {
        id: "commitment-follower".into(),
        name: "Commitment follower".into(),
        description:
            "Follows OutputCommitted events, re-executes the agent and challenges wrong outputs"
                .into(),
        progress,
        max_lag: config.challenger.max_lag_blocks,
    })];
    let (endpoints, ops) = runtime
        .serve_ops("warden-challenger", &config.ops, probes, shutdown.clone())
        .await?;
    tracing::info!(
        challenger = %watchtower.address(),
        database = runtime.store.location(),
        metrics = %endpoints.metrics_url(),
        node_api = %endpoints.node_api_url(),
        "challenger started"
    );
    let watchtower = Arc::new(watchtower);
    let task = tokio::spawn(Arc::clone(&watchtower).run(shutdown));
    Ok(RunningChallenger {
        watchtower,
        endpoints,
        task,
        ops,
    })
}
