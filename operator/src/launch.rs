//! The operator node as a service: database, metrics, node API and the node itself, started the
//! same way by `warden-operator run` and by the devnet.

use std::sync::Arc;

use tokio::sync::watch;
use warden_agent::Agent;
use warden_runtime::launcher::{CriticalTasks, Running};
use warden_runtime::node_api::{ProbeInfo, SyncProbe, SyncProgress};
use warden_runtime::service::{ServiceError, ServiceRuntime};

use crate::config::OperatorConfig;
use crate::delivery::Delivery;
use crate::node::{NodeConfig, NodeError, OperatorNode};
use warden_keys::OperatorKeys;

/// The node API's name for the node's progress through `TaskOpened` events.
const FOLLOWER: ProbeInfo = ProbeInfo {
    id: "task-follower",
    name: "Task follower",
    description: "Follows TaskOpened events and signs the agent's output",
};

/// Why the operator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(
        "operator.allowlist.agent_hashes does not list {own}, the hash of the agent this node \
         runs: the node could sign nothing (list it, or leave the list empty)"
    )]
    OwnAgentNotAllowed { own: alloy::primitives::B256 },
}

/// Opens the database, serves metrics and the node API, and runs the node until `shutdown`: the
/// node and the ops servers are the critical tasks.
pub async fn start(
    config: &OperatorConfig,
    keys: Arc<OperatorKeys>,
    agent: Arc<dyn Agent>,
    shutdown: watch::Receiver<bool>,
) -> Result<Running<OperatorNode>, StartError> {
    let own = agent.agent_hash();
    if !config.operator.allowlist.accepts_hash(own, &[own]) {
        return Err(StartError::OwnAgentNotAllowed { own });
    }
    let runtime = ServiceRuntime::for_config(config).await?;
    let progress = Arc::new(SyncProgress::default());
    let mut node_config = NodeConfig::new(
        config.chain.task_manager,
        config.operator.aggregator_url.clone(),
    );
    // Nothing of Warden's is older than its deployment: no need to read (or archive) before it.
    node_config.start_block = config
        .operator
        .start_block
        .max(config.chain.deployed_at_block);
    node_config.poll_interval = config.chain.poll_interval();
    node_config.max_block_range = config.operator.max_block_range;
    if config.operator.submission_attempts.is_some() {
        tracing::warn!(
            "operator.submission_attempts is no longer used and can be removed: a signature is \
             sent until its task is committed or its response window has passed"
        );
    }
    node_config.delivery = Delivery::new(
        config.operator.aggregator_url.clone(),
        &config.operator.fallback_aggregator_urls,
        config.operator.fallback_after_blocks,
    );
    node_config.allowlist = config.operator.allowlist.clone();
    let node = Arc::new(OperatorNode::new(
        node_config,
        keys,
        agent,
        &runtime,
        Arc::clone(&progress),
    )?);
    let sync = SyncProbe::new(FOLLOWER, progress, config.operator.max_lag_blocks);
    let mut tasks = CriticalTasks::new();
    let endpoints = runtime
        .serve_ops(config, sync, shutdown.clone(), &mut tasks)
        .await?;
    runtime.log_started("operator node", &node.operator_id(), &endpoints);
    tasks.spawn("operator node", Arc::clone(&node).run(shutdown));
    Ok(Running {
        service: node,
        endpoints,
        tasks,
    })
}
