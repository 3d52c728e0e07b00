//! The watchtower as a service: database, start-up checks, metrics, node API and the watchtower
//! itself, started the same way by `warden-challenger run` and by the devnet.

use std::sync::Arc;

use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;
use warden_agent::Agent;
use warden_runtime::launcher::{CriticalTasks, Running};
use warden_runtime::node_api::{ProbeInfo, SyncProbe, SyncProgress};
use warden_runtime::service::{ServiceError, ServiceRuntime};

use crate::config::ChallengerConfig;
use crate::preflight::{self, PreflightError};
use crate::watchtower::{Watchtower, WatchtowerError};

/// The node API's name for the watchtower's progress through `OutputCommitted` events.
const FOLLOWER: ProbeInfo = ProbeInfo {
    id: "commitment-follower",
    name: "Commitment follower",
    description: "Follows OutputCommitted events, re-executes the agent and challenges wrong outputs",
};

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

/// Opens the database, checks the chain ([`preflight::check`]) and builds the watchtower, without
/// serving or running it: for tests and tools that step it themselves with
/// [`Watchtower::sync`]. `progress` is what the node API's sync probe reads.
pub async fn build(
    config: &ChallengerConfig,
    signer: PrivateKeySigner,
    agent: Arc<dyn Agent>,
    progress: Arc<SyncProgress>,
) -> Result<(ServiceRuntime, Watchtower), StartError> {
    let runtime = ServiceRuntime::for_config(config).await?;
    let limits = preflight::check(&runtime.provider, config, agent.agent_hash()).await?;
    let watchtower = Watchtower::new(config, &runtime, signer, agent, limits, progress).await?;
    Ok((runtime, watchtower))
}

/// Opens the database, checks the chain, serves metrics and the node API, and runs the
/// watchtower until `shutdown`: the watchtower and the ops servers are the critical tasks.
pub async fn start(
    config: &ChallengerConfig,
    signer: PrivateKeySigner,
    agent: Arc<dyn Agent>,
    shutdown: watch::Receiver<bool>,
) -> Result<Running<Watchtower>, StartError> {
    let progress = Arc::new(SyncProgress::default());
    let (runtime, watchtower) = build(config, signer, agent, Arc::clone(&progress)).await?;
    let sync = SyncProbe::new(FOLLOWER, progress, config.challenger.max_lag_blocks);
    let mut tasks = CriticalTasks::new();
    let endpoints = runtime
        .serve_ops(config, sync, shutdown.clone(), &mut tasks)
        .await?;
    runtime.log_started("challenger", &watchtower.address(), &endpoints);
    let watchtower = Arc::new(watchtower);
    tasks.spawn("watchtower", Arc::clone(&watchtower).run(shutdown));
    Ok(Running {
        service: watchtower,
        endpoints,
        tasks,
    })
}
