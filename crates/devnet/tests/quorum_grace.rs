//! The aggregator's grace period after the threshold (issue 13): a quorum committed the instant
//! two thirds had signed named the fourth operator a non-signer on nearly every task (25–33 % of
//! the signers on an honest devnet), which costs gas and denies it its share of the fee. With a
//! few hundred milliseconds (or blocks) of grace the late signer joins.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig};

#[tokio::test]
async fn late_signers_join_the_quorum_within_its_grace_period() {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let mut config = TickConfig::new(3);
    config.challenger = false;
    config.pay_operators = false;
    config.timeout = Duration::from_secs(180);
    devnet
        .run_ticks(config, |line| eprintln!("{line}"))
        .await
        .unwrap();
    let tasks = &devnet.summary().tasks;
    assert_eq!(tasks.len(), 3);
    for task in tasks {
        assert_eq!(task.state, "executed", "{task:?}");
    }
    // Without a grace period every commitment named exactly one non-signer. A loaded machine
    // may still keep an operator out of one task, never out of all of them.
    let complete = tasks
        .iter()
        .filter(|task| task.non_signers.is_empty())
        .count();
    assert!(
        complete >= 1,
        "no task was signed by all four operators: {tasks:?}"
    );
}
