//! The operator node as a service: database, metrics, node API and the node itself, started the
//! same way by `warden-operator run` and by the devnet.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_agent::Agent;
use warden_runtime::node_api::{Probe, SyncProbe, SyncProgress};
use warden_runtime::ops::OpsEndpoints;
use warden_runtime::service::{ServiceError, ServiceRuntime};

use crate::config::OperatorConfig;
use crate::node::{NodeConfig, NodeError, OperatorNode};
use warden_keys::OperatorKeys;

/// Why the operator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// A started operator.
#[derive(Debug)]
pub struct RunningOperator {
    pub node: Arc<OperatorNode>,
    pub endpoints: OpsEndpoints,
    /// Ends when the node stops (on shutdown, or with the error that stopped it).
    pub task: JoinHandle<Result<(), NodeError>>,
    pub ops: Vec<JoinHandle<()>>,
}

/// Opens the database, serves metrics and the node API, and runs the node until `shutdown`.
pub async fn start(
    config: &OperatorConfig,
    keys: Arc<OperatorKeys>,
    agent: Arc<dyn Agent>,
    shutdown: watch::Receiver<bool>,
) -> Result<RunningOperator, StartError> {
    let runtime = ServiceRuntime::start(
        config.chain.rpc_url.clone(),
        config.chain.retry(),
        &config.database.url,
    )
    .await?;
    let progress = Arc::new(SyncProgress::default());
    let mut node_config = NodeConfig::new(
        config.chain.task_manager,
        config.operator.aggregator_url.clone(),
    );
    node_config.start_block = config.operator.start_block;
    node_config.poll_interval = config.chain.poll_interval();
    node_config.max_block_range = config.operator.max_block_range;
    node_config.max_attempts = config.operator.submission_attempts;
    let node = Arc::new(OperatorNode::new(
        node_config,
        keys,
        agent,
        &runtime,
        Arc::clone(&progress),
    )?);
    let probes: Vec<Arc<dyn Probe>> = vec![Arc::new(SyncProbe {
        id: "task-follower".into(),
        name: "Task follower".into(),
        description: "Follows TaskOpened events and signs the agent's output".into(),
        progress,
        max_lag: config.operator.max_lag_blocks,
    })];
    let (endpoints, ops) = runtime
        .serve_ops("warden-operator", &config.ops, probes, shutdown.clone())
        .await?;
    tracing::info!(
        operator_id = %node.operator_id(),
        database = runtime.store.location(),
        metrics = %endpoints.metrics_url(),
        node_api = %endpoints.node_api_url(),
        "operator node started"
    );
    let task = tokio::spawn(Arc::clone(&node).run(shutdown));
    Ok(RunningOperator {
        node,
        endpoints,
        task,
        ops,
    })
}
