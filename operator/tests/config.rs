//! The documented sample configuration is one the operator accepts, and a bad configuration
//! stops the binary with an error that names the problem.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use warden_operator::config::{ENV_PREFIX, OperatorConfig};
use warden_runtime::config::ServiceConfig;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/operator.toml");

#[test]
fn the_sample_configuration_is_valid() {
    let config: OperatorConfig =
        warden_runtime::config::load(Some(Path::new(SAMPLE)), ENV_PREFIX).unwrap();
    config.validate_settings().unwrap();
    assert_eq!(config.operator.max_block_range, 2000);
    assert_eq!(config.ops.node_api_listen.port(), 9010);
}

#[test]
fn the_binary_names_what_is_wrong() {
    let binary = env!("CARGO_BIN_EXE_warden-operator");
    let missing = Command::new(binary)
        .args(["run", "--config", "/nonexistent/operator.toml"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("/nonexistent/operator.toml"), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");

    // The sample's keystores do not exist relative to a fresh directory: refused before
    // anything starts, naming the key.
    let dir = tempfile::tempdir().unwrap();
    let no_keys = Command::new(binary)
        .current_dir(dir.path())
        .args(["run", "--config", SAMPLE])
        .output()
        .unwrap();
    assert!(!no_keys.status.success());
    let stderr = String::from_utf8_lossy(&no_keys.stderr);
    assert!(stderr.contains("keys.ecdsa_keystore"), "{stderr}");

    // An environment override with a bad value is refused with the key's name.
    let bad = Command::new(binary)
        .env("WARDEN_OPERATOR_OPERATOR__MAX_BLOCK_RANGE", "0")
        .args(["run", "--config", SAMPLE])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("operator.max_block_range"), "{stderr}");
}
