//! `warden devnet` as a user runs it: summary file, status, clean shutdown on Ctrl-C.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use alloy::providers::{Provider, ProviderBuilder};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

fn warden() -> Command {
    Command::new(env!("CARGO_BIN_EXE_warden"))
}

/// Polls `condition` until it yields a value or `timeout` passes.
fn wait_for<T>(timeout: Duration, what: &str, mut condition: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = condition() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_summary(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Stops the process on drop, so a failing assertion does not leave a devnet running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-INT", &self.0.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.0.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.0.kill();
        }
    }
}

fn wait_for_exit(child: &mut Child) -> ExitStatus {
    wait_for(Duration::from_secs(30), "warden to exit", || {
        child.try_wait().ok().flatten()
    })
}

#[tokio::test]
async fn devnet_writes_its_summary_and_stops_cleanly_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("summary.json");
    let stdout = std::fs::File::create(dir.path().join("stdout")).unwrap();
    let mut running = Running(
        warden()
            .args(["devnet", "--operators", "3", "--json"])
            .arg(&json)
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let summary = wait_for(STARTUP_TIMEOUT, "the summary file", || read_summary(&json));
    assert_eq!(summary["state"], "running");
    assert_eq!(summary["chain_id"], 31337);
    assert_eq!(summary["eigenlayer"]["version"], "v1.3.0");
    for field in [
        "allocation_manager",
        "delegation_manager",
        "strategy_manager",
        "strategy",
    ] {
        assert!(
            summary["eigenlayer"][field]
                .as_str()
                .is_some_and(|a| a.starts_with("0x")),
            "{field}"
        );
    }
    assert!(
        summary["warden"]["registry"]
            .as_str()
            .is_some_and(|a| a.starts_with("0x"))
    );
    let operators = summary["operators"].as_array().unwrap();
    assert_eq!(operators.len(), 3);
    for operator in operators {
        assert!(operator["address"].as_str().is_some_and(|a| a.len() == 42));
        assert_eq!(
            operator["bls_public_key"].as_str().map(str::len),
            Some(2 + 96)
        );
        assert_eq!(operator["weight"], "32000000000000000000");
    }

    let rpc_url = summary["rpc_url"].as_str().unwrap().to_string();
    let provider = ProviderBuilder::new().connect_http(rpc_url.parse().unwrap());
    assert!(provider.get_block_number().await.unwrap() > 0);

    // The status table names every operator with its weight in tokens.
    let table = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
    for operator in operators {
        let address = operator["address"].as_str().unwrap().to_lowercase();
        let row = table
            .lines()
            .find(|line| line.to_lowercase().contains(&address))
            .unwrap_or_else(|| panic!("{address} not in {table}"));
        assert!(row.contains("32.0000"), "{row}");
    }

    let pid = running.0.id().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let exit = wait_for_exit(&mut running.0);
    assert!(exit.success(), "warden exited with {exit}");

    let stopped = read_summary(&json).unwrap();
    assert_eq!(stopped["state"], "stopped");
    assert!(
        provider.get_block_number().await.is_err(),
        "anvil must not outlive warden"
    );
}

#[test]
fn zero_operators_is_refused_with_a_clear_error() {
    let output = warden()
        .args(["devnet", "--operators", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--operators"), "{stderr}");
}

#[test]
fn missing_anvil_is_reported_with_the_fix() {
    let output = warden()
        .args([
            "devnet",
            "--operators",
            "1",
            "--anvil",
            "/nonexistent/anvil",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("make setup"), "{stderr}");
}
