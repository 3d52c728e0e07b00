//! The challenger's metrics, registered in its service's Prometheus registry next to the ones
//! every Warden service has.
//!
//! `eigen_performance_score` for a challenger is the share, in percent, of the wrong commitments
//! this watchtower found whose challenge it got upheld before the deadline. A wrong commitment it
//! could not get challenged in time (found after its window closed or the task executed, while
//! the watchtower was down or behind; or its challenge failed until the window closed) and a
//! challenge the verifier rejected (the watchtower's agent was the one that was wrong) each count
//! against it. A challenge that reverted and was then sent again in time does not. Commitments
//! someone else challenged first, vetoed ones and ones a reorg removed count neither way. 100
//! until the watchtower has found anything wrong. Counted since the process started; a first
//! start with `start_block` far in the past counts the old wrong commitments it finds executed
//! as missed, which is why the sample configuration starts near the head.
//!
//! Pool health: `warden_challenger_bounty_pool_gwei` is the challenges contract's bounty pool, read
//! whenever the watchtower moves on to new blocks, and `warden_challenger_bounty_pool_covers_bounty`
//! is 1 while it holds at least one full bounty (an empty pool pays upheld challenges and slashing
//! batches nothing, which is when challengers stop being paid to watch).

use prometheus::{CounterVec, Histogram, IntCounter, IntCounterVec, IntGauge, Opts};
use warden_runtime::metrics::{MetricsError, NodeMetrics, Telemetry};

/// How one commitment was judged: the `verdict` label of `warden_challenger_commitments_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictLabel {
    Correct,
    Wrong,
    Missed,
    OtherAgent,
    Superseded,
    Unjudgeable,
    Settled,
    /// A large agent's commitment whose trace could not be read (a contract forwarded it).
    Untraceable,
}

impl VerdictLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictLabel::Correct => "correct",
            VerdictLabel::Wrong => "wrong",
            VerdictLabel::Missed => "missed",
            VerdictLabel::OtherAgent => "other_agent",
            VerdictLabel::Superseded => "superseded",
            VerdictLabel::Unjudgeable => "unjudgeable",
            VerdictLabel::Settled => "settled",
            VerdictLabel::Untraceable => "untraceable",
        }
    }
}

/// What became of a challenge: the `result` label of `warden_challenger_challenges_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeResult {
    /// Recorded and broadcast.
    Sent,
    /// Mined, and the task became Fraudulent.
    Upheld,
    /// Mined, and the verifier agreed with the committed output: the bond is forfeited.
    Rejected,
    /// Mined and reverted (the window closed or someone else was first).
    Reverted,
    /// Not sent: simulating it showed the on-chain verifier agrees with the committed output.
    Withheld,
}

impl ChallengeResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeResult::Sent => "sent",
            ChallengeResult::Upheld => "upheld",
            ChallengeResult::Rejected => "rejected",
            ChallengeResult::Reverted => "reverted",
            ChallengeResult::Withheld => "withheld",
        }
    }
}

/// What became of clearing a slash to the restitution contract: the `result` label of
/// `warden_challenger_slashes_cleared_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearResult {
    /// This watchtower's `clearSlash` was mined: the slashed stake reached the restitution
    /// contract.
    Cleared,
    /// Someone else cleared it first (`SlashAlreadyCleared`).
    AlreadyCleared,
    /// A `clearSlash` or `settle` of this watchtower was mined and reverted.
    Reverted,
}

impl ClearResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ClearResult::Cleared => "cleared",
            ClearResult::AlreadyCleared => "already_cleared",
            ClearResult::Reverted => "reverted",
        }
    }
}

/// What the watchtower was paid for: the `source` label of
/// `warden_challenger_earned_gwei_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Earning {
    /// The bounty of an upheld challenge it had committed to (payout minus bond).
    Bounty,
    /// The fee `slashSigners` pays per signer it took shares from.
    SlashingFee,
}

impl Earning {
    pub fn as_str(self) -> &'static str {
        match self {
            Earning::Bounty => "bounty",
            Earning::SlashingFee => "slashing_fee",
        }
    }
}

/// The challenger's metrics.
#[derive(Debug, Clone)]
pub struct ChallengerMetrics {
    /// `warden_challenger_commitments_total{verdict}`: every `OutputCommitted` judged (again
    /// after a restart or a reorg).
    pub commitments: IntCounterVec,
    /// `warden_challenger_challenges_total{result}`.
    pub challenges: IntCounterVec,
    /// `warden_challenger_trace_frauds_total{step}`: large agents' commitments found wrong, by the
    /// kind of step their run departs at (`trace_length`, `output_chunk`, `decoded_action`).
    pub trace_frauds: IntCounterVec,
    /// `warden_challenger_operators_slashed_total`: signers slashed by this watchtower's
    /// `slashSigners` batches.
    pub operators_slashed: IntCounter,
    /// `warden_challenger_slash_batches_total{result}`: `success` or `reverted`.
    pub slash_batches: IntCounterVec,
    /// `warden_challenger_slashes_cleared_total{result}`: slashes cleared to the restitution
    /// contract after slashing, by [`ClearResult`].
    pub slashes_cleared: IntCounterVec,
    /// `warden_agent_run_seconds`.
    pub agent_run: Histogram,
    /// `warden_chain_reorgs_total{follower}`.
    pub reorgs: IntCounterVec,
    /// `eigen_fees_earned_total{token}`: the bounties of upheld challenges (payout minus bond) and
    /// the fees of slashing batches, in ETH. Gas is not subtracted.
    pub fees_earned: CounterVec,
    /// `warden_challenger_earned_gwei_total{source}`: the same, exact to the gwei, by [`Earning`].
    pub earned_gwei: IntCounterVec,
    /// `warden_challenger_bounty_pool_gwei`: the bounty pool when last read.
    pub bounty_pool_gwei: IntGauge,
    /// `warden_challenger_bounty_pool_covers_bounty`: 1 while the pool holds a full bounty, else 0.
    pub bounty_pool_covers_bounty: IntGauge,
    node: NodeMetrics,
}

impl ChallengerMetrics {
    pub fn register(telemetry: &Telemetry, node: NodeMetrics) -> Result<Self, MetricsError> {
        let metrics = Self {
            commitments: telemetry.counter_vec(
                "warden_challenger_commitments_total",
                "Committed outputs judged, by verdict",
                &["verdict"],
            )?,
            challenges: telemetry.counter_vec(
                "warden_challenger_challenges_total",
                "Challenges, by what became of them",
                &["result"],
            )?,
            trace_frauds: telemetry.counter_vec(
                "warden_challenger_trace_frauds_total",
                "Large agents' committed runs found wrong, by the kind of step that disproves them",
                &["step"],
            )?,
            operators_slashed: telemetry.register(IntCounter::new(
                "warden_challenger_operators_slashed_total",
                "Signers of fraudulent outputs slashed by this watchtower's slashSigners batches",
            )?)?,
            slash_batches: telemetry.counter_vec(
                "warden_challenger_slash_batches_total",
                "slashSigners transactions mined, by result",
                &["result"],
            )?,
            slashes_cleared: telemetry.counter_vec(
                "warden_challenger_slashes_cleared_total",
                "Slashes of fraudulent signers cleared to the restitution contract, by result",
                &["result"],
            )?,
            agent_run: warden_runtime::metrics::agent_run_seconds(telemetry)?,
            reorgs: warden_runtime::metrics::chain_reorgs_total(telemetry)?,
            fees_earned: telemetry.register(CounterVec::new(
                Opts::new(
                    "eigen_fees_earned_total",
                    "Bounties of upheld challenges and slashing fees earned, by token (ETH, in ether)",
                ),
                &["token"],
            )?)?,
            earned_gwei: telemetry.counter_vec(
                "warden_challenger_earned_gwei_total",
                "Bounties and slashing fees earned, in gwei, by source",
                &["source"],
            )?,
            bounty_pool_gwei: telemetry.register(IntGauge::new(
                "warden_challenger_bounty_pool_gwei",
                "The challenges contract's bounty pool when last read, in gwei",
            )?)?,
            bounty_pool_covers_bounty: telemetry.register(IntGauge::new(
                "warden_challenger_bounty_pool_covers_bounty",
                "1 while the bounty pool holds at least one full challenge bounty, else 0",
            )?)?,
            node,
        };
        // Present from the start, so a dashboard shows 0 rather than no data.
        metrics.fees_earned.with_label_values(&["ETH"]).inc_by(0.0);
        for earning in [Earning::Bounty, Earning::SlashingFee] {
            metrics
                .earned_gwei
                .with_label_values(&[earning.as_str()])
                .inc_by(0);
        }
        for step in TRACE_STEPS {
            metrics.trace_frauds.with_label_values(&[step]).inc_by(0);
        }
        metrics.node.performance_score.set(100.0);
        Ok(metrics)
    }

    pub fn verdict(&self, verdict: VerdictLabel) {
        self.commitments
            .with_label_values(&[verdict.as_str()])
            .inc();
        if verdict == VerdictLabel::Missed {
            self.update_score();
        }
    }

    /// Counts a large agent's commitment found wrong at a step of kind `step` (one of
    /// [`TRACE_STEPS`]).
    pub fn trace_fraud(&self, step: &'static str) {
        self.trace_frauds.with_label_values(&[step]).inc();
    }

    pub fn slash_cleared(&self, result: ClearResult) {
        self.slashes_cleared
            .with_label_values(&[result.as_str()])
            .inc();
    }

    pub fn challenge(&self, result: ChallengeResult) {
        self.challenges.with_label_values(&[result.as_str()]).inc();
        if matches!(result, ChallengeResult::Upheld | ChallengeResult::Rejected) {
            self.update_score();
        }
    }

    /// Adds `wei` earned from `source` to `eigen_fees_earned_total{token="ETH"}` and
    /// `warden_challenger_earned_gwei_total{source}`.
    pub fn earned_wei(&self, source: Earning, wei: u128) {
        // f64 has 53 bits of mantissa: exact to the gwei for any realistic bounty.
        self.fees_earned
            .with_label_values(&["ETH"])
            .inc_by(wei as f64 / 1e18);
        self.earned_gwei
            .with_label_values(&[source.as_str()])
            .inc_by(u64::try_from(wei / GWEI).unwrap_or(u64::MAX));
    }

    /// Records the bounty pool (`pool`) and whether it covers one `bounty` (both in wei).
    pub fn bounty_pool(&self, pool: u128, bounty: u128) {
        self.bounty_pool_gwei
            .set(i64::try_from(pool / GWEI).unwrap_or(i64::MAX));
        self.bounty_pool_covers_bounty
            .set(i64::from(pool >= bounty));
    }

    pub fn count_database_error(&self, operation: &'static str) {
        self.node
            .database_errors
            .with_label_values(&[operation])
            .inc();
    }

    /// See the module documentation.
    fn update_score(&self) {
        let caught = self.challenges.with_label_values(&["upheld"]).get();
        let failed = self.challenges.with_label_values(&["rejected"]).get()
            + self.commitments.with_label_values(&["missed"]).get();
        self.node.performance_score.set(score(caught, failed));
    }
}

const GWEI: u128 = 1_000_000_000;

/// The `step` label's values: `crate::trace::step_kind` of each kind of fraud step.
pub const TRACE_STEPS: [&str; 3] = ["trace_length", "output_chunk", "decoded_action"];

/// `eigen_performance_score` from the wrong commitments caught in time and the ones missed.
pub fn score(caught: u64, failed: u64) -> f64 {
    if caught + failed == 0 {
        100.0
    } else {
        100.0 * caught as f64 / (caught + failed) as f64
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_score_is_the_share_caught_in_time() {
        assert_eq!(score(0, 0), 100.0);
        assert_eq!(score(3, 0), 100.0);
        assert_eq!(score(3, 1), 75.0);
        assert_eq!(score(0, 2), 0.0);
    }

    #[test]
    fn a_miss_lowers_the_score_and_an_upheld_challenge_raises_it() {
        let telemetry = Telemetry::new();
        let node = NodeMetrics::register(&telemetry).unwrap();
        let metrics = ChallengerMetrics::register(&telemetry, node.clone()).unwrap();
        assert_eq!(node.performance_score.get(), 100.0);
        metrics.verdict(VerdictLabel::Missed);
        assert_eq!(node.performance_score.get(), 0.0);
        metrics.challenge(ChallengeResult::Upheld);
        assert_eq!(node.performance_score.get(), 50.0);
        metrics.earned_wei(Earning::Bounty, 500_000_000_000_000_000);
        let text = telemetry.encode();
        assert!(
            text.contains("eigen_fees_earned_total{token=\"ETH\"} 0.5"),
            "{text}"
        );
    }

    #[test]
    fn earnings_are_counted_by_source_and_the_pool_health_is_a_gauge() {
        let telemetry = Telemetry::new();
        let node = NodeMetrics::register(&telemetry).unwrap();
        let metrics = ChallengerMetrics::register(&telemetry, node).unwrap();
        metrics.earned_wei(Earning::Bounty, 500_000_000_000_000_000);
        metrics.earned_wei(Earning::SlashingFee, 10_000_000_000_000_000);
        metrics.earned_wei(Earning::SlashingFee, 20_000_000_000_000_000);
        let text = telemetry.encode();
        for line in [
            "warden_challenger_earned_gwei_total{source=\"bounty\"} 500000000",
            "warden_challenger_earned_gwei_total{source=\"slashing_fee\"} 30000000",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }

        metrics.slash_cleared(ClearResult::Cleared);
        metrics.slash_cleared(ClearResult::Cleared);
        let text = telemetry.encode();
        assert!(
            text.contains("warden_challenger_slashes_cleared_total{result=\"cleared\"} 2"),
            "{text}"
        );

        metrics.bounty_pool(5_000_000_000_000_000_000, 500_000_000_000_000_000);
        assert_eq!(metrics.bounty_pool_gwei.get(), 5_000_000_000);
        assert_eq!(metrics.bounty_pool_covers_bounty.get(), 1);
        metrics.bounty_pool(400_000_000_000_000_000, 500_000_000_000_000_000);
        assert_eq!(metrics.bounty_pool_covers_bounty.get(), 0);
    }
}
