//! Where an operator's signature goes, and what an aggregator's answer means.
//!
//! A signature goes to the node's aggregator as soon as it is signed, and keeps going (with
//! backoff) while the task can still commit: an outage of the aggregator, or a restart of it,
//! costs the task nothing as long as it comes back within the response window. If the task is
//! still not committed `fallback_after_blocks` after it opened, the signature also goes to a
//! fallback aggregator, then every `fallback_after_blocks` to one more. Every operator derives
//! the same order from the task id, so honest operators converge on the same fallback and it
//! gathers a quorum; a different task starts the rotation elsewhere, so no single fallback is
//! everyone's first.

use alloy::transports::http::reqwest::{StatusCode, Url};

/// The aggregators an operator's signatures go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    primary: Url,
    /// Sorted and without duplicates or the primary: the same list on every operator whose
    /// configuration names the same aggregators.
    fallbacks: Vec<Url>,
    fallback_after_blocks: u64,
}

impl Delivery {
    /// Sends to `primary` first, then, every `fallback_after_blocks` blocks the task stays
    /// uncommitted, to one more of `fallbacks`.
    pub fn new(primary: Url, fallbacks: &[Url], fallback_after_blocks: u64) -> Self {
        let mut fallbacks: Vec<Url> = fallbacks
            .iter()
            .filter(|url| **url != primary)
            .cloned()
            .collect();
        fallbacks.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        fallbacks.dedup();
        Self {
            primary,
            fallbacks,
            fallback_after_blocks: fallback_after_blocks.max(1),
        }
    }

    /// The aggregators a signature for `task_id`, opened in block `opened_at`, goes to at block
    /// `head`: the primary, and the fallbacks whose turn has come, in the order they joined.
    pub fn targets(&self, task_id: u64, opened_at: u64, head: u64) -> Vec<&Url> {
        let mut targets = vec![&self.primary];
        if self.fallbacks.is_empty() {
            return targets;
        }
        let turns = head.saturating_sub(opened_at) / self.fallback_after_blocks;
        let count = self.fallbacks.len() as u64;
        for turn in 0..turns.min(count) {
            // `count` is at least 1 here, and the index is below it.
            let index = (task_id.wrapping_add(turn) % count) as usize;
            targets.push(&self.fallbacks[index]);
        }
        targets
    }
}

/// What an aggregator's answer to a submission means for sending it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// It has the signature (new, known, or the task is committed already): nothing more to send
    /// to it.
    Taken,
    /// The task can no longer be committed (`task_closed`, `already_committed`): stop sending it
    /// anywhere.
    TaskDone,
    /// Sending the same signature to this aggregator again cannot succeed (it does not serve the
    /// agent, or finds the signature itself bad); other aggregators may still take it.
    Refused,
    /// Worth sending again later: the aggregator is down or busy, or has not seen the task yet.
    Retry,
}

impl Answer {
    /// Classifies a response by its status and, for refusals, its `{code}`.
    pub fn of(status: StatusCode, code: Option<&str>) -> Self {
        if status.is_success() {
            return Self::Taken;
        }
        if !status.is_client_error() {
            return Self::Retry;
        }
        match code {
            Some("already_committed" | "task_closed") => Self::TaskDone,
            // The aggregator's node may be behind the operator's: it learns of the task soon.
            Some("unknown_task") => Self::Retry,
            // Timeouts, rate limits and the connection cap are load, not a verdict.
            _ if status == StatusCode::REQUEST_TIMEOUT
                || status == StatusCode::TOO_MANY_REQUESTS =>
            {
                Self::Retry
            }
            // agent_not_served, unknown_operator, invalid_signature, malformed_signature,
            // output_too_large, equivocation, and anything unknown: the same bytes get the same
            // answer from this aggregator.
            _ => Self::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(port: u16) -> Url {
        Url::parse(&format!("http://127.0.0.1:{port}")).unwrap()
    }

    #[test]
    fn fallbacks_join_one_per_delay_in_an_order_every_operator_shares() {
        let one = Delivery::new(url(1), &[url(4), url(3), url(2), url(3), url(1)], 10);
        let other = Delivery::new(url(1), &[url(2), url(3), url(4)], 10);
        assert_eq!(one, other, "the same aggregators make the same delivery");
        assert_eq!(one.targets(7, 100, 109), vec![&url(1)]);
        // Task 7 over 3 fallbacks starts at index 1.
        assert_eq!(one.targets(7, 100, 110), vec![&url(1), &url(3)]);
        assert_eq!(one.targets(7, 100, 125), vec![&url(1), &url(3), &url(4)]);
        assert_eq!(
            one.targets(7, 100, 1_000),
            vec![&url(1), &url(3), &url(4), &url(2)]
        );
        // The next task starts its rotation at the next fallback.
        assert_eq!(one.targets(8, 100, 110), vec![&url(1), &url(4)]);
        // No fallbacks: the primary, however long it takes.
        assert_eq!(
            Delivery::new(url(1), &[], 10).targets(7, 100, 1_000),
            vec![&url(1)]
        );
    }

    #[test]
    fn answers_are_read_by_their_code() {
        let cases = [
            (202, None, Answer::Taken),
            (200, None, Answer::Taken),
            (503, Some("database_unavailable"), Answer::Retry),
            (502, None, Answer::Retry),
            (404, Some("unknown_task"), Answer::Retry),
            (429, None, Answer::Retry),
            (408, Some("header_timeout"), Answer::Retry),
            (409, Some("already_committed"), Answer::TaskDone),
            (410, Some("task_closed"), Answer::TaskDone),
            (403, Some("agent_not_served"), Answer::Refused),
            (400, Some("invalid_signature"), Answer::Refused),
            (409, Some("equivocation"), Answer::Refused),
            (404, Some("not_found"), Answer::Refused),
            (400, None, Answer::Refused),
        ];
        for (status, code, answer) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(Answer::of(status, code), answer, "{status} {code:?}");
        }
    }
}
