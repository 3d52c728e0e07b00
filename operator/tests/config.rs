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

/// A configuration written for the version that gave up after `submission_attempts` still
/// loads; a fallback that is not an http(s) URL, or a zero fallback delay, is refused by name.
#[test]
fn an_earlier_configuration_loads_and_bad_fallbacks_are_refused() {
    let sample = std::fs::read_to_string(SAMPLE).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let earlier = write(
        "earlier.toml",
        sample.replace(
            "fallback_aggregator_urls = []\nfallback_after_blocks = 10\n",
            "submission_attempts = 8\n",
        ),
    );
    let config: OperatorConfig = warden_runtime::config::load(Some(&earlier), ENV_PREFIX).unwrap();
    config.validate_settings().unwrap();
    assert_eq!(config.operator.submission_attempts, Some(8));
    assert!(config.operator.fallback_aggregator_urls.is_empty());
    assert_eq!(config.operator.fallback_after_blocks, 10);

    let cases = [
        (
            "fallback_aggregator_urls = [\"ftp://127.0.0.1:8091\"]",
            "operator.fallback_aggregator_urls",
        ),
        (
            "fallback_after_blocks = 0",
            "operator.fallback_after_blocks",
        ),
    ];
    for (line, key) in cases {
        let replaced = sample
            .replace("fallback_aggregator_urls = []", "")
            .replace("fallback_after_blocks = 10", "")
            .replace(
                "aggregator_url = \"http://127.0.0.1:8090\"",
                &format!("aggregator_url = \"http://127.0.0.1:8090\"\n{line}"),
            );
        let path = write("bad.toml", replaced);
        let config: OperatorConfig = warden_runtime::config::load(Some(&path), ENV_PREFIX).unwrap();
        let error = config.validate_settings().unwrap_err().to_string();
        assert!(error.contains(key), "{line}: {error}");
    }
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

/// The sample's commented `model` and `agent_hash` lines, filled in, configure a pinned large
/// agent; either alone is refused naming both keys, also when it comes from the environment.
#[test]
fn a_model_is_configured_with_the_agent_hash_it_must_make() {
    let sample = std::fs::read_to_string(SAMPLE).unwrap();
    let hash = format!("0x{}", "ab".repeat(32));
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let pinned = write(
        "pinned.toml",
        sample.replace("# model = ", "model = ").replace(
            "# agent_hash = \"0x…\"",
            &format!("agent_hash = \"{hash}\""),
        ),
    );
    let config: OperatorConfig = warden_runtime::config::load(Some(&pinned), ENV_PREFIX).unwrap();
    config.validate_settings().unwrap();
    let (model, agent_hash) = config.agent.pinned_model().unwrap().unwrap();
    assert_eq!(model.to_string(), "models/large.wnet");
    assert_eq!(agent_hash.to_string(), hash);

    let unpinned = write("unpinned.toml", sample.replace("# model = ", "model = "));
    let error = warden_runtime::config::load::<OperatorConfig>(Some(&unpinned), ENV_PREFIX)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("agent.model") && error.contains("agent.agent_hash"),
        "{error}"
    );

    let binary = env!("CARGO_BIN_EXE_warden-operator");
    let orphan = Command::new(binary)
        .env("WARDEN_OPERATOR_AGENT__AGENT_HASH", &hash)
        .args(["run", "--config", SAMPLE])
        .output()
        .unwrap();
    assert!(!orphan.status.success());
    let stderr = String::from_utf8_lossy(&orphan.stderr);
    assert!(
        stderr.contains("agent.model") && stderr.contains("agent.agent_hash"),
        "{stderr}"
    );
}
