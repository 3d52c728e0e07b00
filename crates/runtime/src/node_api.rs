//! The EigenLayer AVS node API (`/eigen/node/...`), the interface operators' tooling expects of
//! every AVS node: its identity, its health and the health of each service it depends on.
//! Health is measured when asked: the RPC endpoint is called, the database is queried and the
//! node's sync progress is compared with the chain head.
//!
//! Health codes: 200 every service up; 206 up but syncing or partially healthy (a non-critical
//! service down); 503 a critical service down, such as a work loop stalled with work pending
//! ([`LoopProbe`]). The body of `/eigen/node/health` names each service that is not up and why.

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

/// Whether a work loop (the aggregator's keeper, its committer) gets its work done, for
/// [`LoopProbe`]. A loop that keeps running is not enough: the issue this answers had a keeper
/// whose every transaction failed, round after round, while health said 200.
///
/// **Progress** is work done: a transaction mined, a quorum settled. A loop iteration that only
/// failed is not progress, and neither is one that found nothing to do (that is idleness). Work
/// is **pending** from the first block at which the loop took work on (or failed at it) until
/// work is done or the loop finds nothing left to do. A loop is **stalled** when work has been
/// pending, with no progress, for more than the probe's bound in blocks.
///
/// Updated by the loop, read by the probe; the lock is never held across an await.
#[derive(Debug)]
pub struct LoopProgress {
    name: &'static str,
    state: std::sync::Mutex<LoopState>,
}

#[derive(Debug, Default, Clone)]
struct LoopState {
    /// The latest chain head the loop saw.
    head: Option<u64>,
    /// The block of the loop's latest progress.
    last_progress: Option<u64>,
    /// Whether work is pending (taken on or failed at, not done nor found unnecessary since).
    pending: bool,
    /// The head when work became pending; `None` until a head is known.
    pending_since: Option<u64>,
    /// Why the latest attempt failed, while work is pending.
    last_failure: Option<String>,
    /// Whether an attempt failed since [`LoopProgress::round_started`].
    failed_this_round: bool,
}

/// A stalled loop, as [`LoopProgress::stall`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    pub blocks: u64,
    pub reason: String,
}

impl LoopProgress {
    /// A loop named `name` (as the metric labels and the health reasons name it).
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            state: std::sync::Mutex::new(LoopState::default()),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LoopState> {
        // Plain values only, each write complete: a panic elsewhere cannot leave them torn.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The chain head is `block`. A head below the last one is a rollback: blocks recorded past
    /// it no longer exist, so the counts restart from it.
    pub fn saw_head(&self, block: u64) {
        let mut state = self.state();
        state.head = Some(block);
        state.pending_since = match state.pending_since {
            Some(since) => Some(since.min(block)),
            // Pending from before the first head known: from now.
            None if state.pending => Some(block),
            None => None,
        };
        state.last_progress = state.last_progress.map(|last| last.min(block));
    }

    /// The loop takes work on: pending from the latest head seen, unless it already was.
    pub fn working(&self) {
        let mut state = self.state();
        if !state.pending {
            state.pending = true;
            state.pending_since = state.head;
        }
    }

    /// Work was done at `block` (a transaction mined there). Pending work is over.
    pub fn progressed(&self, block: u64) {
        let mut state = self.state();
        state.last_progress = Some(state.last_progress.map_or(block, |last| last.max(block)));
        state.pending = false;
        state.pending_since = None;
        state.last_failure = None;
    }

    /// An attempt failed: the work stays pending, `reason` is what health reports.
    pub fn failed(&self, reason: impl std::fmt::Display) {
        let mut state = self.state();
        if !state.pending {
            state.pending = true;
            state.pending_since = state.head;
        }
        state.last_failure = Some(reason.to_string());
        state.failed_this_round = true;
    }

    /// Nothing is left to do (the work was settled another way, or there was none).
    pub fn idle(&self) {
        let mut state = self.state();
        state.pending = false;
        state.pending_since = None;
        state.last_failure = None;
    }

    /// A round of a loop that looks for its own work begins: see [`round_done`](Self::round_done).
    pub fn round_started(&self) {
        self.state().failed_this_round = false;
    }

    /// The round ended without error: if nothing in it failed, nothing is pending any more
    /// (what it did was done, or the chain said it is not due yet).
    pub fn round_done(&self) {
        let mut state = self.state();
        if !state.failed_this_round {
            state.pending = false;
            state.pending_since = None;
            state.last_failure = None;
        }
    }

    /// The block of the latest progress, if any.
    pub fn last_progress(&self) -> Option<u64> {
        self.state().last_progress
    }

    /// Whether the loop has had work pending without progress for more than `max_blocks`
    /// blocks at chain head `head` (the latest head the loop saw if `None`), and why.
    pub fn stall(&self, head: Option<u64>, max_blocks: u64) -> Option<Stall> {
        let state = {
            let mut state = self.state();
            if !state.pending {
                return None;
            }
            let head = head.or(state.head)?;
            // Pending since before any head was known: the probe's head is the first one.
            state.pending_since.get_or_insert(head);
            state.clone()
        };
        let pending_since = state.pending_since?;
        let head = head.or(state.head)?;
        // Past the head only after a rollback the loop has not seen yet: count from the head.
        let since = state
            .last_progress
            .map_or(pending_since, |last| last.max(pending_since))
            .min(head);
        let blocks = head.saturating_sub(since);
        if blocks <= max_blocks {
            return None;
        }
        let last = state
            .last_progress
            .map_or_else(|| "never".to_string(), |block| format!("at block {block}"));
        let failure = state
            .last_failure
            .map_or_else(String::new, |failure| format!("; last failure: {failure}"));
        Some(Stall {
            blocks,
            reason: format!(
                "{}: no progress for {blocks} blocks while work is pending (pending since block \
                 {pending_since}, last progress {last}, head {head}, bound {max_blocks}){failure}",
                self.name
            ),
        })
    }
}

/// A work loop gets its work done: down (critical, so the node answers 503) once it has had
/// work pending without progress for more than `max_blocks` blocks. The chain head is read from
/// `provider` when it answers, so a loop blocked inside one long wait still ages.
#[derive(Debug)]
pub struct LoopProbe {
    pub id: String,
    pub name: String,
    pub description: String,
    pub progress: Arc<LoopProgress>,
    pub max_blocks: u64,
    /// A provider that does not retry, or `None` to use the heads the loop reports.
    pub provider: Option<DynProvider>,
    pub timeout: Duration,
}

impl Probe for LoopProbe {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn check(&self) -> Pin<Box<dyn Future<Output = Health> + Send + '_>> {
        Box::pin(async move {
            let head = match &self.provider {
                Some(provider) => {
                    match tokio::time::timeout(self.timeout, provider.get_block_number()).await {
                        Ok(Ok(head)) => Some(head),
                        // The RPC probe reports the endpoint; here the loop's own view serves.
                        _ => None,
                    }
                }
                None => None,
            };
            match self.progress.stall(head, self.max_blocks) {
                Some(stall) => Health::Down(stall.reason),
                None => Health::Up,
            }
        })
    }
}

/// What `/eigen/node/health` answers in its body: in the `{code, message}` shape of every
/// Warden error answer (`healthy`, `partially_healthy` or `unhealthy`, and the reasons joined),
/// with the HTTP status and each service that is not up with its reason.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    #[serde(skip)]
    pub status_code: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub status: u16,
    pub services: Vec<ServiceHealth>,
}

/// A service that is not up, in [`HealthReport`].
#[derive(Debug, Clone, Serialize)]
pub struct ServiceHealth {
    pub id: String,
    pub status: &'static str,
    pub reason: String,
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
        self.health_report().await.status_code
    }

    /// The node's health code, with every service that is not up and why.
    pub async fn health_report(&self) -> HealthReport {
        let mut code = StatusCode::OK;
        let mut services = Vec::new();
        for (probe, health) in self.check().await {
            let reason = match &health {
                Health::Up => continue,
                Health::Down(reason) if probe.critical() => {
                    tracing::warn!(service = probe.id(), %reason, "unhealthy");
                    code = StatusCode::SERVICE_UNAVAILABLE;
                    reason.clone()
                }
                Health::Down(reason) | Health::Syncing(reason) => {
                    if code != StatusCode::SERVICE_UNAVAILABLE {
                        code = StatusCode::PARTIAL_CONTENT;
                    }
                    reason.clone()
                }
                Health::Initializing => {
                    if code != StatusCode::SERVICE_UNAVAILABLE {
                        code = StatusCode::PARTIAL_CONTENT;
                    }
                    "not started yet".to_string()
                }
            };
            services.push(ServiceHealth {
                id: probe.id().to_string(),
                status: health.status(),
                reason,
            });
        }
        let message = if services.is_empty() {
            "every service is up".to_string()
        } else {
            services
                .iter()
                .map(|service| format!("{} {}: {}", service.id, service.status, service.reason))
                .collect::<Vec<_>>()
                .join("; ")
        };
        HealthReport {
            status_code: code,
            code: match code {
                StatusCode::OK => "healthy",
                StatusCode::PARTIAL_CONTENT => "partially_healthy",
                _ => "unhealthy",
            },
            message,
            status: code.as_u16(),
            services,
        }
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

/// The code, with a body naming each service that is not up and why (the specification asks
/// only for the code; the body is for the people and tools reading it).
async fn node_health(State(api): State<NodeApi>) -> (StatusCode, Json<HealthReport>) {
    let report = api.health_report().await;
    (report.status_code, Json(report))
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

#[cfg(test)]
mod tests {
    use super::LoopProgress;

    /// Before: a loop whose every attempt failed looked as healthy as one getting work done.
    /// Now it is stalled once its work has been pending without progress past the bound, with
    /// the failure as the reason, and healthy again at its next progress.
    #[test]
    fn a_loop_failing_with_work_pending_is_stalled_past_the_bound_until_it_progresses() {
        let keeper = LoopProgress::new("keeper");
        keeper.saw_head(100);
        keeper.progressed(100);
        keeper.round_started();
        keeper.working();
        keeper.failed("openTask/agent/1/after/90: insufficient funds");
        assert_eq!(keeper.stall(Some(110), 10), None, "at the bound");
        let stall = keeper.stall(Some(111), 10).expect("past the bound");
        assert_eq!(stall.blocks, 11);
        assert!(
            stall
                .reason
                .starts_with("keeper: no progress for 11 blocks"),
            "{stall:?}"
        );
        assert!(stall.reason.contains("insufficient funds"), "{stall:?}");
        // A round in which something failed leaves the work pending.
        keeper.round_done();
        assert!(keeper.stall(Some(120), 10).is_some());
        keeper.progressed(121);
        assert_eq!(keeper.stall(Some(200), 10), None);
        assert_eq!(keeper.last_progress(), Some(121));
    }

    /// A loop that fails before it ever saw the chain head (its first round's RPC call failed)
    /// is timed from the first head anyone sees, not from block 0.
    #[test]
    fn work_failing_before_any_head_is_timed_from_the_first_head_seen() {
        let keeper = LoopProgress::new("keeper");
        keeper.failed("eth_blockNumber: connection refused");
        assert_eq!(keeper.stall(None, 10), None, "no head known yet");
        assert_eq!(keeper.stall(Some(5_000), 10), None, "the first head seen");
        assert_eq!(keeper.stall(Some(5_010), 10), None);
        assert_eq!(
            keeper.stall(Some(5_011), 10).map(|stall| stall.blocks),
            Some(11)
        );
    }

    /// A rollback takes the head below blocks on record: the stall is counted from the new head,
    /// not from blocks that no longer exist (nor left at zero until the chain passes them).
    #[test]
    fn after_a_rollback_the_stall_is_counted_from_the_new_head() {
        let keeper = LoopProgress::new("keeper");
        keeper.saw_head(500);
        keeper.progressed(500);
        keeper.saw_head(505);
        keeper.failed("ReceiptUnavailable");
        // The probe sees the chain 20 blocks back before the loop does.
        assert_eq!(keeper.stall(Some(485), 10), None);
        keeper.saw_head(485);
        assert_eq!(keeper.last_progress(), Some(485));
        assert_eq!(keeper.stall(Some(495), 10), None);
        assert_eq!(
            keeper.stall(Some(496), 10).map(|stall| stall.blocks),
            Some(11)
        );
    }

    /// A loop with nothing to do, or whose rounds end with nothing failed (the chain said "not
    /// due"), is never stalled, however long since its last progress; when work turns up, the
    /// bound counts from then, not from the last progress long ago.
    #[test]
    fn an_idle_loop_is_not_stalled_and_new_work_is_timed_from_when_it_came() {
        let committer = LoopProgress::new("committer");
        committer.saw_head(5);
        assert_eq!(committer.stall(Some(1_000), 10), None, "never had work");
        committer.round_started();
        committer.working();
        committer.round_done();
        assert_eq!(
            committer.stall(Some(1_000), 10),
            None,
            "a round with nothing failed"
        );
        committer.saw_head(1_000);
        committer.working();
        assert_eq!(committer.stall(Some(1_010), 10), None);
        assert!(committer.stall(Some(1_011), 10).is_some());
        committer.idle();
        assert_eq!(
            committer.stall(Some(2_000), 10),
            None,
            "settled another way"
        );
    }
}
