//! The aggregator's own metrics, beside the EigenLayer ones every service has.

use prometheus::{HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts};
use warden_runtime::metrics::{MetricsError, NodeMetrics, Telemetry};

/// Why a signature was refused, as the `reason` label says it.
pub mod reason {
    pub const MALFORMED_SIGNATURE: &str = "malformed_signature";
    /// The submission's signature did not verify: counted against the submission, never against
    /// the operator it names (nothing unverified is recorded).
    pub const INVALID_SIGNATURE: &str = "invalid_signature";
    pub const UNKNOWN_OPERATOR: &str = "unknown_operator";
    pub const UNKNOWN_TASK: &str = "unknown_task";
    pub const TASK_CLOSED: &str = "task_closed";
    pub const AGENT_NOT_SERVED: &str = "agent_not_served";
    /// A verified signature over another run (output or trace) than the operator's verified one
    /// on record.
    pub const EQUIVOCATION: &str = "equivocation";
    pub const OUTPUT_TOO_LARGE: &str = "output_too_large";
    /// A trace longer than the task manager's `MAX_TRACE_LENGTH`.
    pub const TRACE_TOO_LONG: &str = "trace_too_long";
    pub const UNAVAILABLE: &str = "unavailable";
    /// Deferred, not refused: it came in a batch with invalid signatures once the quorum was
    /// complete, and is to be sent again.
    pub const UNVERIFIED: &str = "unverified";
}

/// The aggregator's metrics.
#[derive(Debug, Clone)]
pub struct AggregatorMetrics {
    /// `warden_signatures_received_total{result}`: `accepted`, `duplicate`, `rejected`.
    pub signatures_received: IntCounterVec,
    /// `warden_signatures_rejected_total{reason}`: see [`reason`].
    pub signatures_rejected: IntCounterVec,
    /// `warden_quorum_latency_seconds{agent}`: first signature to verified quorum.
    pub quorum_latency: HistogramVec,
    /// `warden_tasks{state}`: tasks the aggregator follows, by state.
    pub tasks: IntGaugeVec,
    /// `warden_task_events_total{event}`: `opened`, `committed`, `executed`, `expired`,
    /// `closed`.
    pub task_events: IntCounterVec,
    /// `warden_commitments_total{result}`: `confirmed`, `reverted`, `failed`.
    pub commitments: IntCounterVec,
    /// Committed actions the vault refused by its owner's policy, by the vault's error.
    pub execute_refusals: IntCounterVec,
    /// Execution attempts the vault deferred because of the market (spot off its TWAP), by the
    /// vault's error; each is retried.
    pub execute_deferrals: IntCounterVec,
    /// `warden_weight_age_blocks`: blocks since the registry's last full refresh of the weights
    /// (quorums on weights older than the registry's `maxWeightAge` are refused).
    pub weight_age: IntGauge,
    /// `warden_weight_refreshes_total`: `refreshWeights` transactions this keeper confirmed.
    pub weight_refreshes: prometheus::IntCounter,
    /// `warden_task_fees_accrued_total`: `WardenRewards.accrue` transactions this keeper
    /// confirmed, each paying one task's fee to its signers.
    pub fees_accrued: prometheus::IntCounter,
    /// `warden_rewards_distributions_total`: `WardenRewards.distribute` transactions this keeper
    /// confirmed, each one operator-directed submission to EigenLayer's RewardsCoordinator.
    pub rewards_distributions: prometheus::IntCounter,
    /// `warden_operator_set_reads_total{source}`: operator sets a task needed that were not
    /// cached, by where they came from: `registry` (read from the chain) or `unchanged` (an
    /// earlier block's set, the registry having changed nothing since).
    pub operator_set_reads: IntCounterVec,
    /// `warden_operator_set_calls_total`: chain requests spent on operator sets, reads and
    /// unchanged-checks together.
    pub operator_set_calls: prometheus::IntCounter,
    pub node: NodeMetrics,
}

impl AggregatorMetrics {
    pub fn register(telemetry: &Telemetry, node: NodeMetrics) -> Result<Self, MetricsError> {
        let metrics = Self {
            signatures_received: telemetry.counter_vec(
                "warden_signatures_received_total",
                "Operator signatures received, by result",
                &["result"],
            )?,
            signatures_rejected: telemetry.counter_vec(
                "warden_signatures_rejected_total",
                "Operator signatures refused, by reason",
                &["reason"],
            )?,
            quorum_latency: telemetry.histogram_vec(
                "warden_quorum_latency_seconds",
                "Time from a task's first signature to its verified quorum",
                &["agent"],
                vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0],
            )?,
            tasks: telemetry.register(IntGaugeVec::new(
                Opts::new("warden_tasks", "Tasks the aggregator follows, by state"),
                &["state"],
            )?)?,
            task_events: telemetry.counter_vec(
                "warden_task_events_total",
                "Task state changes the aggregator saw or caused, by event",
                &["event"],
            )?,
            commitments: telemetry.counter_vec(
                "warden_commitments_total",
                "commitOutput transactions, by result",
                &["result"],
            )?,
            execute_refusals: telemetry.counter_vec(
                "warden_execute_refusals_total",
                "Committed actions the vault refused by its owner's policy (spending caps, stake \
                 bound), by the vault's error; each is refused once and its task expires",
                &["error"],
            )?,
            execute_deferrals: telemetry.counter_vec(
                "warden_execute_deferrals_total",
                "Execution attempts the vault deferred because the pair's spot price strayed from \
                 its TWAP beyond the vault's tolerance, by the vault's error; the keeper retries \
                 them within the execution window",
                &["error"],
            )?,
            weight_age: telemetry.register(IntGauge::new(
                "warden_weight_age_blocks",
                "Blocks since the registry last refreshed every operator's weight; quorums are \
                 refused once it passes the registry's maxWeightAge",
            )?)?,
            weight_refreshes: telemetry.register(prometheus::IntCounter::new(
                "warden_weight_refreshes_total",
                "refreshWeights transactions the keeper confirmed",
            )?)?,
            fees_accrued: telemetry.register(prometheus::IntCounter::new(
                "warden_task_fees_accrued_total",
                "Tasks whose fee the keeper accrued to their signers (WardenRewards.accrue)",
            )?)?,
            rewards_distributions: telemetry.register(prometheus::IntCounter::new(
                "warden_rewards_distributions_total",
                "Operator-directed rewards submissions the keeper made through EigenLayer's \
                 RewardsCoordinator (WardenRewards.distribute)",
            )?)?,
            operator_set_reads: telemetry.counter_vec(
                "warden_operator_set_reads_total",
                "Operator sets needed for new tasks, by source: registry (read from the chain) \
                 or unchanged (an earlier block's set, the registry having changed nothing since)",
                &["source"],
            )?,
            operator_set_calls: telemetry.register(prometheus::IntCounter::new(
                "warden_operator_set_calls_total",
                "Chain requests spent on operator sets (reads and unchanged-checks)",
            )?)?,
            node,
        };
        metrics.node.performance_score.set(100.0);
        for source in ["registry", "unchanged"] {
            metrics.operator_set_reads.with_label_values(&[source]);
        }
        // Series exist from the start, so dashboards and rates see zeros rather than nothing.
        for state in ["open", "committed"] {
            metrics.tasks.with_label_values(&[state]).set(0);
        }
        for result in ["accepted", "duplicate", "rejected"] {
            metrics.signatures_received.with_label_values(&[result]);
        }
        for result in ["confirmed", "reverted", "failed"] {
            metrics.commitments.with_label_values(&[result]);
        }
        for event in ["opened", "committed", "executed", "expired", "closed"] {
            metrics.task_events.with_label_values(&[event]);
        }
        Ok(metrics)
    }

    pub fn rejected(&self, reason: &str) {
        self.signatures_received
            .with_label_values(&["rejected"])
            .inc();
        self.signatures_rejected.with_label_values(&[reason]).inc();
    }

    /// `eigen_performance_score` for the aggregator: the share of settled tasks that got their
    /// output committed, in percent.
    pub fn task_settled(&self, event: &str) {
        self.task_events.with_label_values(&[event]).inc();
        let committed = self.task_events.with_label_values(&["committed"]).get();
        let expired = self.task_events.with_label_values(&["expired"]).get();
        if committed + expired > 0 {
            self.node
                .performance_score
                .set(100.0 * committed as f64 / (committed + expired) as f64);
        }
    }
}
