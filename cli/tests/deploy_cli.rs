//! `warden deploy` into a real anvil, as a user runs it on one host: every service it configures
//! gets ports of its own, the aggregator listens where `--aggregator-url` points, every
//! generated configuration starts at once on this host, and `deployment.json` says what the
//! deployer is doing (`running`) and how it ended (`stopped`: `deployed` or `failed`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use warden_aggregator::config::AggregatorConfig;
use warden_challenger::config::ChallengerConfig;
use warden_keys::KeysConfig;
use warden_operator::config::OperatorConfig;
use warden_runtime::config::{OpsConfig, ServiceConfig};
use warden_runtime::launcher;
use warden_runtime::ops::OpsEndpoints;

/// A deployment on a loaded 2-core machine.
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(300);

fn warden() -> Command {
    Command::new(env!("CARGO_BIN_EXE_warden"))
}

/// `warden deploy` into `rpc_url`, writing into `out`, with `extra` arguments.
fn deploy(rpc_url: &str, out: &Path, extra: &[&str]) -> Command {
    let mut command = warden();
    command
        .args(["deploy", "--rpc-url", rpc_url, "--out"])
        .arg(out)
        .args(extra)
        .env_remove("WARDEN_RPC_URL");
    command
}

fn run(mut command: Command) -> Output {
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn read_record(out: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(out.join("deployment.json")).ok()?;
    Some(serde_json::from_str(&text).expect("deployment.json is always whole JSON"))
}

/// The generated configuration files of a deployment with `operators` operators, loaded as each
/// service loads its own.
struct Configs {
    aggregator: AggregatorConfig,
    operators: Vec<OperatorConfig>,
    challenger: ChallengerConfig,
}

impl Configs {
    fn load(out: &Path, operators: usize) -> Self {
        let dir = out.join("config");
        Self {
            aggregator: AggregatorConfig::load(Some(&dir.join("aggregator.toml"))).unwrap(),
            operators: (0..operators)
                .map(|index| {
                    OperatorConfig::load(Some(&dir.join(format!("operator-{index}.toml")))).unwrap()
                })
                .collect(),
            challenger: ChallengerConfig::load(Some(&dir.join("challenger.toml"))).unwrap(),
        }
    }

    /// Each service's `[ops]`, by name.
    fn ops(&self) -> Vec<(String, &OpsConfig)> {
        let mut all = vec![("aggregator".to_string(), &self.aggregator.ops)];
        all.extend(
            self.operators
                .iter()
                .enumerate()
                .map(|(index, config)| (format!("operator-{index}"), &config.ops)),
        );
        all.push(("challenger".to_string(), &self.challenger.ops));
        all
    }

    /// Every address a service listens on, each named by its service and key.
    fn listen_addresses(&self) -> Vec<(String, SocketAddr)> {
        let mut all = vec![(
            "aggregator aggregator.listen".to_string(),
            self.aggregator.aggregator.listen,
        )];
        for (service, ops) in self.ops() {
            all.push((format!("{service} ops.metrics_listen"), ops.metrics_listen));
            all.push((
                format!("{service} ops.node_api_listen"),
                ops.node_api_listen,
            ));
        }
        all
    }
}

/// `len` consecutive loopback ports free a moment ago, below the ephemeral range so that no
/// outgoing connection takes one in the meantime.
fn free_ports(len: u16) -> u16 {
    use rand::Rng;
    loop {
        let base = rand::thread_rng().gen_range(20_000..30_000);
        let bound: Result<Vec<_>, _> = (base..base + len)
            .map(|port| std::net::TcpListener::bind(("127.0.0.1", port)))
            .collect();
        if bound.is_ok() {
            return base;
        }
    }
}

/// Before: every configuration `warden deploy` wrote listened on 9090 (metrics) and 9010 (node
/// API), and the aggregator on 8090 whatever `--aggregator-url` said; the second service started
/// on one host exited with "Address already in use". The deployer's `deployment.json` appeared
/// only once it had finished, and said nothing about the deployer.
#[test]
fn deploy_gives_every_service_its_own_ports_and_records_that_it_stopped() {
    let anvil = warden_testkit::anvil::anvil().spawn();
    let out = tempfile::tempdir().unwrap();
    let api_port = warden_testkit::free_port().unwrap();
    let aggregator_url = format!("http://127.0.0.1:{api_port}/");
    let standby_url = "http://127.0.0.1:18090/";
    let mut deployer = deploy(
        anvil.endpoint().as_str(),
        out.path(),
        &[
            "--aggregator-url",
            &aggregator_url,
            "--fallback-aggregator-url",
            standby_url,
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();

    // What the record says while the deployer runs, each change once.
    let deadline = Instant::now() + DEPLOY_TIMEOUT;
    let mut states = Vec::new();
    let exit = loop {
        let exited = deployer.try_wait().unwrap();
        if let Some(record) = read_record(out.path()) {
            let state = record["state"].as_str().unwrap_or("none").to_string();
            if states.last() != Some(&state) {
                states.push(state);
            }
        }
        if let Some(exit) = exited {
            break exit;
        }
        assert!(Instant::now() < deadline, "deploying took too long");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "warden deploy exited with {exit}");

    // Every listen address of every service on a port of its own, so that all of them can
    // run on this host; the aggregator where the operators are told to send signatures.
    let configs = Configs::load(out.path(), 4);
    let addresses = configs.listen_addresses();
    let mut by_port: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for (name, addr) in &addresses {
        by_port.entry(addr.port()).or_default().push(name);
    }
    let shared: Vec<_> = by_port.values().filter(|names| names.len() > 1).collect();
    assert!(shared.is_empty(), "listen ports shared: {shared:?}");
    assert_eq!(addresses.len(), 1 + 2 * (4 + 2));
    assert_eq!(
        configs.aggregator.aggregator.listen,
        SocketAddr::from(([127, 0, 0, 1], api_port))
    );
    for operator in &configs.operators {
        assert_eq!(operator.operator.aggregator_url.as_str(), aggregator_url);
        let fallbacks: Vec<&str> = operator
            .operator
            .fallback_aggregator_urls
            .iter()
            .map(|url| url.as_str())
            .collect();
        assert_eq!(fallbacks, [standby_url]);
    }
    // The documented defaults: service N on 9090 + N and 9010 + N.
    for (number, (service, ops)) in configs.ops().into_iter().enumerate() {
        let number = u16::try_from(number).unwrap();
        assert_eq!(ops.metrics_listen.port(), 9090 + number, "{service}");
        assert_eq!(ops.node_api_listen.port(), 9010 + number, "{service}");
    }

    // The record said `running` from the start, and `stopped` once the deployer had exited.
    assert_eq!(states, ["running", "stopped"]);
    let record = read_record(out.path()).unwrap();
    assert_eq!(record["outcome"], "deployed", "{record}");
    assert_eq!(record["chain_id"], 31337, "{record}");
    assert!(record.get("error").is_none(), "{record}");

    // Run again over the finished deployment: nothing to do, nothing rewritten.
    let before = std::fs::read(out.path().join("deployment.json")).unwrap();
    let again = run(deploy(
        anvil.endpoint().as_str(),
        out.path(),
        &["--aggregator-url", &aggregator_url],
    ));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to do"),
        "{again:?}"
    );
    assert_eq!(
        std::fs::read(out.path().join("deployment.json")).unwrap(),
        before
    );
}

/// Before: a deployer that failed left no `deployment.json` at all. Now the record says it has
/// stopped, that it failed and why; running again starts over rather than taking the failed
/// deployment for a finished one.
#[test]
fn a_failed_deploy_records_that_it_stopped_and_why() {
    let out = tempfile::tempdir().unwrap();
    // Nothing listens there: the deployment fails at its first request.
    let nowhere = format!("http://127.0.0.1:{}", warden_testkit::free_port().unwrap());
    for attempt in 0..2 {
        let failed = run(deploy(&nowhere, out.path(), &[]));
        assert!(!failed.status.success(), "attempt {attempt}");
        let record = read_record(out.path()).expect("a deployment record");
        assert_eq!(record["state"], "stopped", "{record}");
        assert_eq!(record["outcome"], "failed", "{record}");
        let error = record["error"].as_str().unwrap();
        assert!(error.contains(nowhere.as_str()), "{error}");
        assert!(record.get("chain_id").is_none(), "{record}");
        // The failure is reported once, on stderr, as the record has it.
        assert!(!String::from_utf8_lossy(&failed.stdout).contains("nothing to do"));
    }
}

/// Before: the second service started from `warden deploy`'s configurations exited with
/// "Address already in use" (every one listened on 9090 and 9010). Now the aggregator, every
/// operator and the challenger start from their files at once on this host, each listening
/// where its file says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_generated_configuration_starts_at_once_on_one_host() {
    let anvil = warden_testkit::anvil::anvil().spawn();
    let out = tempfile::tempdir().unwrap();
    let operators = 2;
    // Four services: metrics on BASE..BASE+4, node API on BASE+4..BASE+8, the API at BASE+8.
    let base = free_ports(9);
    let output = deploy(
        anvil.endpoint().as_str(),
        out.path(),
        &[
            "--operators",
            &operators.to_string(),
            "--allow-no-fault-tolerance",
            "--metrics-port",
            &base.to_string(),
            "--node-api-port",
            &(base + 4).to_string(),
            "--aggregator-url",
            &format!("http://localhost:{}", base + 8),
        ],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let configs = Configs::load(out.path(), operators);
    let serves = |config: &OpsConfig| OpsEndpoints {
        metrics: config.metrics_listen,
        node_api: config.node_api_listen,
    };

    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let config = &configs.aggregator;
    let signer = launcher::load_signer(&config.keys).await.unwrap();
    let aggregator = warden_aggregator::launch::start(config, signer, stopped.clone())
        .await
        .unwrap_or_else(|error| panic!("the aggregator: {error}"));
    assert_eq!(aggregator.api, SocketAddr::from(([127, 0, 0, 1], base + 8)));
    assert_eq!(aggregator.endpoints, serves(&config.ops));
    tasks.push(aggregator.tasks);
    let mut endpoints = vec![aggregator.endpoints];

    for (index, config) in configs.operators.iter().enumerate() {
        let keys = launcher::unlock_keys(&config.keys, KeysConfig::operator_keys)
            .await
            .unwrap();
        let agent = warden_agent::reference_agent(config.agent.router).unwrap();
        let node = warden_operator::launch::start(
            config,
            Arc::new(keys),
            Arc::new(agent),
            stopped.clone(),
        )
        .await
        .unwrap_or_else(|error| panic!("operator-{index}: {error}"));
        assert_eq!(node.endpoints, serves(&config.ops), "operator-{index}");
        endpoints.push(node.endpoints);
        tasks.push(node.tasks);
    }

    let config = &configs.challenger;
    let signer = launcher::load_signer(&config.keys).await.unwrap();
    let agent = warden_agent::reference_agent(config.agent.router).unwrap();
    let challenger =
        warden_challenger::launch::start(config, signer, Arc::new(agent), stopped.clone())
            .await
            .unwrap_or_else(|error| panic!("the challenger: {error}"));
    assert_eq!(challenger.endpoints, serves(&config.ops));
    endpoints.push(challenger.endpoints);
    tasks.push(challenger.tasks);

    // Each answers on its own node API.
    for served in &endpoints {
        let status = warden_testkit::ops::health_status(&served.node_api_url()).await;
        assert!(
            matches!(status, Some(200 | 206 | 503)),
            "{}: {status:?}",
            served.node_api_url()
        );
    }
    stop.send(true).unwrap();
    drop(tasks);
}

/// Before: a deployer stopped by SIGTERM (`docker compose stop` mid-deployment) left no record.
/// Now the record says it stopped, interrupted, and the next run starts over.
#[test]
fn an_interrupted_deploy_records_that_it_stopped() {
    let anvil = warden_testkit::anvil::anvil().spawn();
    let out = tempfile::tempdir().unwrap();
    let mut deployer = deploy(anvil.endpoint().as_str(), out.path(), &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + DEPLOY_TIMEOUT;
    while read_record(out.path()).is_none_or(|record| record["state"] != "running") {
        assert!(Instant::now() < deadline, "no running record");
        assert!(
            deployer.try_wait().unwrap().is_none(),
            "exited before deploying"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &deployer.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = deployer.wait().unwrap();
    assert!(
        !exit.success(),
        "an interrupted deployment is not a success"
    );
    let record = read_record(out.path()).unwrap();
    assert_eq!(record["state"], "stopped", "{record}");
    assert_eq!(record["outcome"], "interrupted", "{record}");
}

/// A `deployment.json` written before the deployer recorded its state (only ever once
/// deployed) still counts as a finished deployment: running again deletes nothing.
#[test]
fn a_deployment_recorded_without_a_state_is_left_alone() {
    let out = tempfile::tempdir().unwrap();
    let legacy = r#"{"chain_id": 31337, "rpc_url": "http://anvil:8545/"}"#;
    std::fs::write(out.path().join("deployment.json"), legacy).unwrap();
    std::fs::create_dir(out.path().join("keys")).unwrap();
    // Nothing listens there: the deployer must not even try.
    let again = run(deploy("http://127.0.0.1:9", out.path(), &[]));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to do"));
    assert!(out.path().join("keys").is_dir());
    assert_eq!(
        std::fs::read_to_string(out.path().join("deployment.json")).unwrap(),
        legacy
    );
}
