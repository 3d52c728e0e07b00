//! `warden devnet` as a user runs it: summary file, status, the services ticking until Ctrl-C
//! or `--ticks`, quiet logs unless `RUST_LOG` asks, clean shutdown on Ctrl-C.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use alloy::providers::{Provider, ProviderBuilder};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Deployment, the first tick's interval and its challenge window, on a loaded machine.
const FIRST_TASK_TIMEOUT: Duration = Duration::from_secs(240);

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

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A devnet started with `args`, its stdout and stderr kept in files of a temporary directory.
struct Started {
    running: Running,
    dir: tempfile::TempDir,
    json: std::path::PathBuf,
}

impl Started {
    fn new(args: &[&str], rust_log: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("summary.json");
        let mut command = warden();
        command
            .arg("devnet")
            .args(args)
            .arg("--json")
            .arg(&json)
            .stdout(std::fs::File::create(dir.path().join("stdout")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap());
        match rust_log {
            Some(filter) => command.env("RUST_LOG", filter),
            None => command.env_remove("RUST_LOG"),
        };
        Self {
            running: Running(command.spawn().unwrap()),
            dir,
            json,
        }
    }

    fn output(&self, stream: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(stream)).unwrap_or_default()
    }

    /// The running summary, once it lists the services' endpoints.
    fn summary_with_endpoints(&self) -> serde_json::Value {
        wait_for(STARTUP_TIMEOUT, "a summary with endpoints", || {
            read_summary(&self.json).filter(|summary| {
                summary["endpoints"]
                    .as_array()
                    .is_some_and(|endpoints| !endpoints.is_empty())
            })
        })
    }

    /// Waits for the progress line of `task` reaching `state`.
    fn wait_for_task(&self, task: u64, state: &str) {
        let line = format!("task {task}: {state}");
        wait_for(FIRST_TASK_TIMEOUT, &line, || {
            self.output("stdout").contains(&line).then_some(())
        });
    }

    /// Ctrl-C, a clean exit, and the summary written at exit.
    fn interrupt_and_read_final_summary(&mut self) -> serde_json::Value {
        interrupt(&self.running.0);
        let exit = wait_for_exit(&mut self.running.0);
        assert!(
            exit.success(),
            "warden exited with {exit}: {}",
            self.output("stderr")
        );
        let stopped = read_summary(&self.json).unwrap();
        assert_eq!(stopped["state"], "stopped");
        stopped
    }
}

/// Every service the devnet runs by default is listed, each with its metrics and node API.
fn assert_all_services_listed(summary: &serde_json::Value, operators: usize) {
    let endpoints = summary["endpoints"].as_array().unwrap();
    let services: Vec<&str> = endpoints
        .iter()
        .map(|endpoint| endpoint["service"].as_str().unwrap())
        .collect();
    let mut expected = vec!["aggregator".to_string()];
    expected.extend((0..operators).map(|index| format!("operator-{index}")));
    expected.push("challenger".to_string());
    assert_eq!(services, expected, "{endpoints:?}");
    for endpoint in endpoints {
        assert!(
            endpoint["metrics"]
                .as_str()
                .is_some_and(|url| url.ends_with("/metrics")),
            "{endpoint}"
        );
        assert!(
            endpoint["node_api"]
                .as_str()
                .is_some_and(|url| url.ends_with("/eigen/node")),
            "{endpoint}"
        );
    }
}

/// The final summary holds task 1 as executed, and the vault's balances.
fn assert_holds_the_first_task_and_the_vault(stopped: &serde_json::Value) {
    let tasks = stopped["tasks"].as_array().unwrap();
    assert!(
        tasks
            .iter()
            .any(|task| task["id"] == 1 && task["state"] == "executed"),
        "{tasks:?}"
    );
    for side in ["balances_before", "balances_after"] {
        for token in ["weth", "dollar"] {
            assert!(
                stopped["vault"][side][token]
                    .as_str()
                    .is_some_and(|amount| amount.parse::<u128>().is_ok()),
                "vault {side} {token}: {}",
                stopped["vault"]
            );
        }
    }
}

#[tokio::test]
async fn without_ticks_the_services_run_and_tick_until_ctrl_c() {
    let mut devnet = Started::new(&["--operators", "2"], Some("info"));
    // The endpoints are in the summary written while running, as soon as the services listen.
    let running = devnet.summary_with_endpoints();
    assert_eq!(running["state"], "running");
    assert_all_services_listed(&running, 2);

    devnet.wait_for_task(1, "executed");
    let stopped = devnet.interrupt_and_read_final_summary();
    assert_holds_the_first_task_and_the_vault(&stopped);
    assert_all_services_listed(&stopped, 2);
    // RUST_LOG brings the services' logs back.
    assert!(
        devnet.output("stderr").contains("INFO"),
        "{}",
        devnet.output("stderr")
    );
}

#[tokio::test]
async fn ctrl_c_on_a_ticks_devnet_records_the_tasks_so_far_and_logs_quietly() {
    let mut devnet = Started::new(&["--operators", "2", "--ticks", "50"], None);
    devnet.summary_with_endpoints();
    devnet.wait_for_task(1, "executed");
    let stopped = devnet.interrupt_and_read_final_summary();
    assert_holds_the_first_task_and_the_vault(&stopped);

    // Without RUST_LOG: one line per task event and the table, no service logs.
    let stderr = devnet.output("stderr");
    assert!(!stderr.contains("INFO"), "{stderr}");
    let stdout = devnet.output("stdout");
    // (The loop polls task states each block: a task committed within a block of opening is
    // never seen open.)
    for line in ["task 1: committed", "task 1: executed"] {
        assert_eq!(
            stdout.lines().filter(|l| l.trim() == line).count(),
            1,
            "{line}: {stdout}"
        );
    }
    let table = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("task") && line.contains("signers"))
        .unwrap_or_else(|| panic!("no task table: {stdout}"));
    assert!(table.contains("action"), "{table}");
    assert!(stdout.contains("vault:"), "{stdout}");
}

#[tokio::test]
async fn devnet_writes_its_summary_and_stops_cleanly_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("summary.json");
    let stdout = std::fs::File::create(dir.path().join("stdout")).unwrap();
    let mut running = Running(
        warden()
            .args(["devnet", "--no-services", "--operators", "3", "--json"])
            .arg(&json)
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let summary = wait_for(STARTUP_TIMEOUT, "the summary file", || read_summary(&json));
    assert_eq!(summary["state"], "running");
    assert_eq!(summary["endpoints"], serde_json::json!([]), "chain only");
    assert_eq!(summary["chain_id"], 31337);
    assert_eq!(summary["eigenlayer"]["version"], "v1.5+redistribution");
    for field in [
        "allocation_manager",
        "delegation_manager",
        "strategy_manager",
        "rewards_coordinator",
        "strategy",
    ] {
        assert!(
            summary["eigenlayer"][field]
                .as_str()
                .is_some_and(|a| a.starts_with("0x")),
            "{field}"
        );
    }
    for field in ["registry", "redistribution_recipient"] {
        assert!(
            summary["warden"][field]
                .as_str()
                .is_some_and(|a| a.starts_with("0x")),
            "{field}"
        );
    }
    let operators = summary["operators"].as_array().unwrap();
    assert_eq!(operators.len(), 3);
    for operator in operators {
        assert!(operator["address"].as_str().is_some_and(|a| a.len() == 42));
        assert_eq!(
            operator["bls_public_key"].as_str().map(str::len),
            Some(2 + 96)
        );
        // The default stake, all of it allocated.
        assert_eq!(operator["weight"], "100000000000000000000");
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
        assert!(row.contains("100.0000"), "{row}");
    }

    interrupt(&running.0);
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

/// Before: `warden deploy` (and docker-compose) deployed three operators at a two-thirds
/// threshold, which cannot lose one. Now such a set is refused before anything is sent, unless
/// asked for by name.
#[test]
fn deploy_refuses_an_operator_set_that_cannot_lose_one_operator() {
    let out = tempfile::tempdir().unwrap();
    // Nothing listens there: the refusal must come before any RPC.
    let args = |operators: &str| {
        let mut command = warden();
        command.args([
            "deploy",
            "--rpc-url",
            "http://127.0.0.1:9",
            "--out",
            out.path().to_str().unwrap(),
            "--operators",
            operators,
        ]);
        command
    };
    let refused = args("3").output().unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("cannot lose a single one")
            && stderr.contains("--allow-no-fault-tolerance"),
        "{stderr}"
    );
    // With the override, or four operators, it goes on (and fails only for want of a chain).
    for attempt in [
        args("3")
            .arg("--allow-no-fault-tolerance")
            .output()
            .unwrap(),
        args("4").output().unwrap(),
    ] {
        let stderr = String::from_utf8_lossy(&attempt.stderr);
        assert!(!stderr.contains("cannot lose a single one"), "{stderr}");
        assert!(stderr.contains("127.0.0.1:9"), "{stderr}");
    }
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

#[test]
fn a_late_challenger_outside_the_fraud_proof_window_is_refused_before_anything_starts() {
    let too_late = warden()
        .args([
            "devnet",
            "--byzantine",
            "3",
            "--no-challenger",
            "--late-challenger",
            "89",
            "--ticks",
            "1",
            "--anvil",
            "/nonexistent/anvil",
        ])
        .output()
        .unwrap();
    assert!(!too_late.status.success());
    let stderr = String::from_utf8_lossy(&too_late.stderr);
    assert!(
        stderr.contains("--late-challenger 89") && stderr.contains("at most 88"),
        "{stderr}"
    );

    let honest = warden()
        .args([
            "devnet",
            "--no-challenger",
            "--late-challenger",
            "20",
            "--ticks",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!honest.status.success());
    let stderr = String::from_utf8_lossy(&honest.stderr);
    assert!(stderr.contains("--byzantine"), "{stderr}");

    // Without --no-challenger a challenger runs from the start: nothing would be late.
    let without = warden()
        .args(["devnet", "--byzantine", "3", "--late-challenger", "20"])
        .output()
        .unwrap();
    assert!(!without.status.success());
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(stderr.contains("--no-challenger"), "{stderr}");
}
