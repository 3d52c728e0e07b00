//! The operator binary under the shared launcher: a critical task that dies takes the whole
//! process down with a failure status (so its supervisor restarts it), and SIGTERM stops it
//! cleanly with success.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use warden_devnet::{Devnet, DevnetConfig};
use warden_testkit::free_port;

const BINARY: &str = env!("CARGO_BIN_EXE_warden-operator");

/// Operator 0's configuration, written to `dir`, with its RPC endpoint replaced by `rpc_url`.
fn write_config(devnet: &Devnet, dir: &Path, rpc_url: Option<String>) -> PathBuf {
    write_config_with(devnet, dir, rpc_url, |_| {})
}

/// Operator 0's configuration as [`write_config`] writes it, changed by `change` first.
fn write_config_with(
    devnet: &Devnet,
    dir: &Path,
    rpc_url: Option<String>,
    change: impl FnOnce(&mut warden_operator::config::OperatorConfig),
) -> PathBuf {
    let operator = devnet.deployment().operators()[0].clone();
    let aggregator_url = format!("http://127.0.0.1:{}", free_port().unwrap())
        .parse()
        .unwrap();
    let mut config = devnet
        .deployment()
        .operator_config(&operator, &aggregator_url, 0)
        .unwrap();
    config.database.url = dir.join("operator.db").display().to_string();
    if let Some(rpc_url) = rpc_url {
        config.chain.rpc_url = rpc_url.parse().unwrap();
        config.chain.rpc_attempts = 1;
    }
    change(&mut config);
    let path = dir.join("operator.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    path
}

fn run(config: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(["run", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn a_dead_critical_task_makes_the_process_exit_with_failure() {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there: the node's first chain request fails, and with it the node.
    let nowhere = format!("http://127.0.0.1:{}", free_port().unwrap());
    let config = write_config(&devnet, dir.path(), Some(nowhere));
    let output = tokio::time::timeout(Duration::from_secs(120), run(&config).output())
        .await
        .expect("the operator kept running with its node task dead")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "exit status {}", output.status);
    assert!(
        stderr.contains("critical task operator node failed"),
        "stderr: {stderr}"
    );
}

/// An allowlist that leaves out the agent the node runs would make it sign nothing, silently:
/// refused at start, naming the key.
#[tokio::test]
async fn an_allowlist_without_the_nodes_own_agent_is_refused_at_start() {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config_with(&devnet, dir.path(), None, |config| {
        config.operator.allowlist.agent_hashes = vec![alloy::primitives::B256::repeat_byte(7)];
    });
    let output = tokio::time::timeout(Duration::from_secs(120), run(&config).output())
        .await
        .expect("the operator started anyway")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "exit status {}", output.status);
    assert!(
        stderr.contains("operator.allowlist.agent_hashes"),
        "stderr: {stderr}"
    );
}

#[tokio::test]
async fn sigterm_stops_the_process_with_success() {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&devnet, dir.path(), None);
    let mut child = run(&config).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let started = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("operator node started") {
                return true;
            }
        }
        false
    })
    .await
    .expect("the operator did not start");
    assert!(started, "the operator exited before starting");
    // Keep draining stderr so the child never blocks on a full pipe while stopping.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the operator did not stop on SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status}");
}
