//! Whether the aggregator's work loops get their work done, for the node API and the metrics.
//!
//! Two loops: the **keeper** (opens, executes, expires tasks, refreshes weights, pays
//! operators) and the **committer** (sends the quorums the intake reached). Each reports its
//! progress to a [`LoopProgress`]: a transaction of its mined is progress; a failed attempt keeps
//! its work pending; a keeper round in which nothing failed (everything it sent was mined, or the
//! chain said it is not due yet) leaves nothing pending; a quorum settled another way (committed
//! by someone else, or given up) leaves the committer with nothing pending. A loop with work
//! pending and no progress for more than `aggregator.stall_blocks` blocks makes
//! `/eigen/node/health` answer 503, naming the loop and its last failure.

use std::sync::Arc;
use std::time::Duration;

use alloy::providers::DynProvider;
use prometheus::{IntGaugeVec, Opts};
use warden_runtime::metrics::{MetricsError, Telemetry};
use warden_runtime::node_api::{LoopProbe, LoopProgress, Probe};

/// The keeper loop's name (metric label, health reason).
pub const KEEPER: &str = "keeper";
/// The committer loop's name.
pub const COMMITTER: &str = "committer";

/// The aggregator's loops and their `warden_loop_last_progress_block{loop}` gauge.
#[derive(Debug)]
pub struct LoopHealth {
    pub keeper: Arc<LoopProgress>,
    pub committer: Arc<LoopProgress>,
    last_progress: IntGaugeVec,
}

impl LoopHealth {
    /// The loops, with their gauge registered among the service's metrics.
    pub fn register(telemetry: &Telemetry) -> Result<Self, MetricsError> {
        let last_progress = telemetry.register(IntGaugeVec::new(
            Opts::new(
                "warden_loop_last_progress_block",
                "The block of each work loop's latest progress (a transaction of it mined); \
                 compare with the head to see a loop that runs without getting anything done",
            ),
            &["loop"],
        )?)?;
        Ok(Self {
            keeper: Arc::new(LoopProgress::new(KEEPER)),
            committer: Arc::new(LoopProgress::new(COMMITTER)),
            last_progress,
        })
    }

    /// The chain head is `block`, for both loops.
    pub fn saw_head(&self, block: u64) {
        self.keeper.saw_head(block);
        self.committer.saw_head(block);
    }

    /// `which` (one of this set's loops) got work done in `block`.
    pub fn progressed(&self, which: &LoopProgress, block: u64) {
        which.progressed(block);
        if let Ok(block) = i64::try_from(block) {
            self.last_progress
                .with_label_values(&[which.name()])
                .set(block);
        }
    }

    /// The node API's probes of both loops: down once a loop has had work pending without
    /// progress for more than `max_blocks` blocks, the head read through `provider` (one that
    /// does not retry).
    pub fn probes(
        &self,
        max_blocks: u64,
        provider: DynProvider,
        timeout: Duration,
    ) -> Vec<Arc<dyn Probe>> {
        [
            (
                &self.keeper,
                "keeper-loop",
                "Keeper loop",
                "Gets the keeper's transactions (open, execute, expire, refresh weights, pay \
                 operators) mined",
            ),
            (
                &self.committer,
                "committer-loop",
                "Committer loop",
                "Gets the quorums' commitOutput transactions mined",
            ),
        ]
        .into_iter()
        .map(|(progress, id, name, description)| {
            Arc::new(LoopProbe {
                id: id.into(),
                name: name.into(),
                description: description.into(),
                progress: Arc::clone(progress),
                max_blocks,
                provider: Some(provider.clone()),
                timeout,
            }) as Arc<dyn Probe>
        })
        .collect()
    }
}
