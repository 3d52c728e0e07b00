//! The EigenLayer AVS node API (`/eigen/node/...`), the interface operators' tooling expects of
//! every AVS node: its identity, its health and the health of each service it depends on.
//! Health is measured when asked: the RPC endpoint is called, the database is queried and the
//! node's sync progress is compared with the chain head.
//!
//! Health codes: 200 every service up; 206 up but syncing or partially healthy (a non-critical
//! service down); 503 a critical service down.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy::providers::{DynProvider, Provider};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use warden_store::Store;

/// The node API specification version implemented.
pub const SPEC_VERSION: &str = "v0.0.1";

/// A service's state, as the specification names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Up,
    /// Working but behind (catching up with the chain, for instance).
    Syncing(String),
    /// Not started yet.
    Initializing,
    Down(String),
}

impl Health {
    fn status(&self) -> &'static str {
        match self {
            Health::Up | Health::Syncing(_) => "Up",
            Health::Initializing => "Initializing",
            Health::Down(_) => "Down",
        }
    }
}

/// Something the node depends on, checked on every health request.
pub trait Probe: Send + Sync + std::fmt::Debug {
    /// Stable id, used in `/eigen/node/services/{id}/health`.
    fn id(&self) -> &str;
    fn name(&self) -> &str;
    fn description(&self) -> &str;
    /// A critical service down makes the node unhealthy (503); any other, partially healthy.
    fn critical(&self) -> bool {
        true
    }
    fn check(&self) -> Pin<Box<dyn Future<Output = Health> + Send + '_>>;
}

/// The Ethereum RPC endpoint answers `eth_blockNumber` in time.
#[derive(Debug)]
pub struct RpcProbe {
    /// A provider that does not retry: an outage must show, not be waited out.
    pub provider: DynProvider,
    pub timeout: Duration,
}

impl Probe for RpcProbe {
    fn id(&self) -> &str {
        "ethereum-rpc"
    }
    fn name(&self) -> &str {
        "Ethereum RPC"
    }
    fn description(&self) -> &str {
        "The Ethereum JSON-RPC endpoint this node reads the chain from and sends transactions to"
    }
    fn check(&self) -> Pin<Box<dyn Future<Output = Health> + Send + '_>> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.provider.get_block_number()).await {
                Ok(Ok(_)) => Health::Up,
                Ok(Err(error)) => Health::Down(error.to_string()),
                Err(_) => Health::Down(format!("no answer within {:?}", self.timeout)),
            }
        })
    }
}

/// The database answers a query in time.
#[derive(Debug)]
pub struct DatabaseProbe {
    pub store: Store,
    pub timeout: Duration,
}

impl Probe for DatabaseProbe {
    fn id(&self) -> &str {
        "database"
    }
    fn name(&self) -> &str {
        "Database"
    }
    fn description(&self) -> &str {
        "Where the node keeps the state it must not lose (SQLite or PostgreSQL)"
    }
    fn check(&self) -> Pin<Box<dyn Future<Output = Health> + Send + '_>> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.store.ping()).await {
                Ok(Ok(())) => Health::Up,
                Ok(Err(error)) => Health::Down(error.to_string()),
                Err(_) => Health::Down(format!("no answer within {:?}", self.timeout)),
            }
        })
    }
}

/// How far a chain follower has got, updated by the follower and read by [`SyncProbe`].
#[derive(Debug, Default)]
pub struct SyncProgress {
    /// Highest block processed, plus one (0: nothing yet).
    processed: AtomicU64,
    head: AtomicU64,
}

impl SyncProgress {
    /// Every block through `block` is processed; the chain head is `head`.
    pub fn update(&self, block: u64, head: u64) {
        self.processed
            .store(block.saturating_add(1), Ordering::Relaxed);
        self.head.store(head, Ordering::Relaxed);
    }

    /// (last processed block, head) once anything was processed.
    pub fn get(&self) -> Option<(u64, u64)> {
        match self.processed.load(Ordering::Relaxed) {
            0 => None,
            next => Some((next - 1, self.head.load(Ordering::Relaxed))),
        }
    }

    /// Blocks between the head and the last processed one.
    pub fn lag(&self) -> Option<u64> {
        self.get().map(|(block, head)| head.saturating_sub(block))
    }
}

/// How a service's sync probe is named in the node API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

/// The node keeps up with the chain: syncing while more than `max_lag` blocks behind.
#[derive(Debug)]
pub struct SyncProbe {
    pub id: String,
    pub name: String,
    pub description: String,
    pub progress: Arc<SyncProgress>,
    pub max_lag: u64,
}

impl SyncProbe {
    pub fn new(info: ProbeInfo, progress: Arc<SyncProgress>, max_lag: u64) -> Self {
        Self {
            id: info.id.into(),
            name: info.name.into(),
            description: info.description.into(),
            progress,
            max_lag,
        }
    }
}

impl Probe for SyncProbe {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn critical(&self) -> bool {
        false
    }
    fn check(&self) -> Pin<Box<dyn Future<Output = Health> + Send + '_>> {
        Box::pin(async move {
            match self.progress.get() {
                None => Health::Initializing,
                Some((block, head)) if head.saturating_sub(block) > self.max_lag => {
                    Health::Syncing(format!("at block {block}, head {head}"))
                }
                Some(_) => Health::Up,
            }
        })
    }
}

/// The node API of one binary.
#[derive(Debug, Clone)]
pub struct NodeApi {
    inner: Arc<NodeApiInner>,
}

#[derive(Debug)]
struct NodeApiInner {
    node_name: String,
    node_version: String,
    probes: Vec<Arc<dyn Probe>>,
}

#[derive(Debug, Serialize)]
struct NodeInfo<'a> {
    node_name: &'a str,
    spec_version: &'a str,
    node_version: &'a str,
}

#[derive(Debug, Serialize)]
struct ServiceInfo {
    id: String,
    name: String,
    description: String,
    status: &'static str,
}

#[derive(Debug, Serialize)]
struct Services {
    services: Vec<ServiceInfo>,
}

impl NodeApi {
    pub fn new(node_name: impl Into<String>, probes: Vec<Arc<dyn Probe>>) -> Self {
        Self {
            inner: Arc::new(NodeApiInner {
                node_name: node_name.into(),
                node_version: format!("v{}", env!("CARGO_PKG_VERSION")),
                probes,
            }),
        }
    }

    /// Every probe's current health, checked concurrently, in the probes' order.
    pub async fn check(&self) -> Vec<(Arc<dyn Probe>, Health)> {
        let mut checks = tokio::task::JoinSet::new();
        for (index, probe) in self.inner.probes.iter().enumerate() {
            let probe = Arc::clone(probe);
            checks.spawn(async move { (index, probe.check().await) });
        }
        let mut healths: Vec<Option<Health>> = vec![None; self.inner.probes.len()];
        while let Some(joined) = checks.join_next().await {
            if let Ok((index, health)) = joined {
                healths[index] = Some(health);
            }
        }
        self.inner
            .probes
            .iter()
            .zip(healths)
            .map(|(probe, health)| {
                let health =
                    health.unwrap_or_else(|| Health::Down("the health check crashed".into()));
                (Arc::clone(probe), health)
            })
            .collect()
    }

    /// The node's health code: see the module documentation.
    pub async fn health(&self) -> StatusCode {
        let mut code = StatusCode::OK;
        for (probe, health) in self.check().await {
            match health {
                Health::Up => {}
                Health::Down(reason) if probe.critical() => {
                    tracing::warn!(service = probe.id(), %reason, "unhealthy");
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                Health::Down(_) | Health::Syncing(_) | Health::Initializing => {
                    code = StatusCode::PARTIAL_CONTENT;
                }
            }
        }
        code
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/eigen/node", get(node_info))
            .route("/eigen/node/health", get(node_health))
            .route("/eigen/node/services", get(services))
            .route("/eigen/node/services/{id}/health", get(service_health))
            .with_state(self.clone())
    }
}

async fn node_info(State(api): State<NodeApi>) -> Json<serde_json::Value> {
    Json(serde_json::json!(NodeInfo {
        node_name: &api.inner.node_name,
        spec_version: SPEC_VERSION,
        node_version: &api.inner.node_version,
    }))
}

async fn node_health(State(api): State<NodeApi>) -> StatusCode {
    api.health().await
}

async fn services(State(api): State<NodeApi>) -> Json<Services> {
    let services = api
        .check()
        .await
        .into_iter()
        .map(|(probe, health)| ServiceInfo {
            id: probe.id().to_string(),
            name: probe.name().to_string(),
            description: probe.description().to_string(),
            status: health.status(),
        })
        .collect();
    Json(Services { services })
}

async fn service_health(State(api): State<NodeApi>, Path(id): Path<String>) -> StatusCode {
    let Some(probe) = api.inner.probes.iter().find(|probe| probe.id() == id) else {
        return StatusCode::NOT_FOUND;
    };
    match probe.check().await {
        Health::Up => StatusCode::OK,
        Health::Syncing(_) | Health::Initializing => StatusCode::PARTIAL_CONTENT,
        Health::Down(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}
