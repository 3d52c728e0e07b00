//! Scale (issue 13): a 32-operator devnet executes every task, and the aggregator's chain reads
//! for operator sets do not grow with the operator count. Before, every task's first submissions
//! each read the operator set with 4N + 2 sequential `eth_call`s (N × (4N + 2) per task); now one
//! set-up per task reads it with one `eth_call` (`operatorSetAt`), or confirms with one
//! (`setChangedAt`) that an earlier block's set still holds.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig};
use warden_testkit::ops::scrape;

const OPERATORS: usize = 32;
const TASKS: u32 = 3;

/// The aggregator's counts so far, from its metrics: every `eth_call`, and the chain requests
/// spent on operator sets.
async fn chain_reads(metrics_url: &str) -> (f64, f64) {
    let scrape = scrape(metrics_url)
        .await
        .expect("the aggregator serves metrics");
    let total = |metric: &str, label: Option<(&str, &str)>| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|sample| {
                sample.metric == metric
                    && label.is_none_or(|(name, value)| sample.labels.get(name) == Some(value))
            })
            .map(|sample| match sample.value {
                prometheus_parse::Value::Counter(value) => value,
                _ => 0.0,
            })
            .sum()
    };
    (
        total("eigen_rpc_request_total", Some(("method", "eth_call"))),
        total("warden_operator_set_calls_total", None),
    )
}

#[tokio::test]
async fn thirty_two_operators_execute_every_task_with_few_chain_reads_per_task() {
    let started = Instant::now();
    let mut devnet = Devnet::start(DevnetConfig::new(OPERATORS)).await.unwrap();
    let set_up = started.elapsed();
    let mut config = TickConfig::new(TASKS);
    config.challenger = false;
    config.pay_operators = false;
    config.timeout = Duration::from_secs(300);
    let progress = |line: &str| eprintln!("{line}");
    let mut run = devnet.start_services(&config, &progress).await.unwrap();
    let aggregator = devnet
        .summary()
        .metrics_url("aggregator")
        .unwrap()
        .to_string();
    let before = chain_reads(&aggregator).await;
    let final_tasks = devnet.tick(&mut run, &config, &progress).await.unwrap();
    let after = chain_reads(&aggregator).await;
    devnet.finish(run, Some(final_tasks)).await.unwrap();

    let tasks = &devnet.summary().tasks;
    assert_eq!(tasks.len(), TASKS as usize);
    for task in tasks {
        assert_eq!(task.state, "executed", "{task:?}");
    }
    let eth_calls = (after.0 - before.0) / f64::from(TASKS);
    let set_calls = (after.1 - before.1) / f64::from(TASKS);
    let non_signers: Vec<usize> = tasks.iter().map(|task| task.non_signers.len()).collect();
    eprintln!(
        "{OPERATORS} operators: set-up {:.1} s; per task at the aggregator {eth_calls:.1} \
         eth_calls in all (mostly the keeper's per-block rounds) and {set_calls:.1} for \
         operator sets; non-signers {non_signers:?}",
        set_up.as_secs_f64(),
    );
    // Reading the set used to take 4N + 2 = 130 calls per task (N + 2 once the identities
    // were known).
    assert!(
        (1.0..=2.0).contains(&set_calls),
        "{set_calls} chain requests per task for operator sets at {OPERATORS} operators"
    );
}
