//! The documented sample configuration is one the aggregator accepts, and a bad configuration
//! stops the binary with an error that names the problem.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use warden_aggregator::config::{AggregatorConfig, ENV_PREFIX};
use warden_runtime::config::ServiceConfig;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/aggregator.toml");

#[test]
fn the_sample_configuration_is_valid() {
    let config: AggregatorConfig =
        warden_runtime::config::load(Some(Path::new(SAMPLE)), ENV_PREFIX).unwrap();
    config.validate_settings().unwrap();
    assert_eq!(config.aggregator.keeper_agents, vec![1]);
    assert_eq!(
        config.aggregator.http_limits(),
        warden_runtime::http::HttpLimits::default(),
        "the sample documents the defaults"
    );
    config.transactions.manager_config().unwrap();
}

#[test]
fn the_binary_names_what_is_wrong() {
    let binary = env!("CARGO_BIN_EXE_warden-aggregator");
    let missing = Command::new(binary)
        .args(["run", "--config", "/nonexistent/aggregator.toml"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");

    let bad = Command::new(binary)
        .env("WARDEN_AGGREGATOR_TRANSACTIONS__BUMP_PERCENT", "5")
        .args(["run", "--config", SAMPLE])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("bump_percent"), "{stderr}");

    let duplicate = Command::new(binary)
        .env("WARDEN_AGGREGATOR_AGGREGATOR__KEEPER_AGENTS", "[1, 1]")
        .args(["run", "--config", SAMPLE])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&duplicate.stderr);
    assert!(stderr.contains("aggregator.keeper_agents"), "{stderr}");

    for key in ["HEADER_READ_TIMEOUT_MS", "MAX_CONNECTIONS"] {
        let zero = Command::new(binary)
            .env(format!("WARDEN_AGGREGATOR_AGGREGATOR__{key}"), "0")
            .args(["run", "--config", SAMPLE])
            .output()
            .unwrap();
        assert!(!zero.status.success());
        let stderr = String::from_utf8_lossy(&zero.stderr);
        assert!(
            stderr.contains(&format!("aggregator.{}", key.to_lowercase())),
            "{stderr}"
        );
    }
}
