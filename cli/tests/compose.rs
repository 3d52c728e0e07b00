//! `docker-compose.yml` cannot run here (no container engine), so this test checks it against
//! the real things it names: every command line parses with the binary's own argument parser,
//! every file it mounts exists, the deployer's arguments produce (for real, against anvil) the
//! configuration files the services are started with, and those agree with the ports, the
//! database names, Prometheus' targets and Grafana's dashboard, whose queries name metrics the
//! services register.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde_yaml::Value;
use warden_cli::deploy::{AGGREGATOR_API_PORT, DeployArgs};
use warden_deployer::Service;
use warden_runtime::config::ServiceConfig;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn root() -> PathBuf {
    Path::new(ROOT).to_path_buf()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|error| panic!("reading {relative}: {error}"))
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::String(text) => vec![text.clone()],
        Value::Sequence(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                other => panic!("not a string: {other:?}"),
            })
            .collect(),
        other => panic!("not a command: {other:?}"),
    }
}

/// The command line of a service: entrypoint then command.
fn command_line(service: &Value) -> Vec<String> {
    let mut line = strings(&service["entrypoint"]);
    line.extend(strings(&service["command"]));
    line
}

/// `postgres://u:p@host:port/db` → (host, port, db).
/// Parses a compose command line exactly as the binary parses it; a line it refuses fails the
/// test, naming the compose service.
fn parse<P: Parser>(name: &str, line: &[String]) -> P {
    P::try_parse_from(line).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn host_port(url: &str) -> (String, u16) {
    let url: alloy::transports::http::reqwest::Url = url.parse().unwrap();
    (
        url.host_str().unwrap().to_string(),
        url.port_or_known_default().unwrap(),
    )
}

/// The deployment's service that a compose service runs, by its name.
fn service_named(name: &str) -> Service {
    match name {
        "aggregator" => Service::Aggregator,
        "challenger" => Service::Challenger,
        _ => Service::Operator(
            name.strip_prefix("operator-")
                .and_then(|index| index.parse().ok())
                .unwrap_or_else(|| panic!("{name} is not a Warden service")),
        ),
    }
}

/// Container ports a service publishes.
fn container_ports(service: &Value) -> BTreeSet<u16> {
    strings(&service["ports"])
        .iter()
        .map(|mapping| mapping.rsplit(':').next().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn the_compose_file_agrees_with_the_binaries_and_the_deployment() {
    let compose: Value = serde_yaml::from_str(&read("docker-compose.yml")).unwrap();
    let services = compose["services"].as_mapping().unwrap();
    let names: BTreeSet<String> = services
        .keys()
        .map(|key| key.as_str().unwrap().to_string())
        .collect();

    // Files, dependencies, host ports.
    let mut host_ports = BTreeSet::new();
    for (name, service) in services {
        let name = name.as_str().unwrap();
        if let Some(context) = service["build"].as_str() {
            assert!(
                root().join(context).join("Dockerfile").is_file(),
                "{name}: build"
            );
        }
        for volume in strings(&service["volumes"]) {
            let source = volume.split(':').next().unwrap();
            if source.starts_with("./") {
                assert!(root().join(source).exists(), "{name}: {source} is missing");
            } else {
                let declared = compose["volumes"].as_mapping().unwrap();
                assert!(
                    declared.contains_key(Value::String(source.to_string())),
                    "{name}: volume {source} is not declared"
                );
            }
        }
        if let Some(depends) = service["depends_on"].as_mapping() {
            for dependency in depends.keys() {
                assert!(
                    names.contains(dependency.as_str().unwrap()),
                    "{name} depends on an unknown service {dependency:?}"
                );
            }
        }
        for mapping in strings(&service["ports"]) {
            let parts: Vec<&str> = mapping.split(':').collect();
            let host = parts[parts.len() - 2].to_string();
            assert!(
                host_ports.insert(host.clone()),
                "host port {host} published twice"
            );
        }
    }

    // Every command line parses exactly as its binary parses it.
    let mut deploy: Option<DeployArgs> = None;
    let mut configs: Vec<(String, String, PathBuf)> = Vec::new();
    for (name, service) in services {
        let name = name.as_str().unwrap().to_string();
        let line = command_line(service);
        let Some(binary) = line.first().cloned() else {
            continue;
        };
        let config_of = |line: &[String]| PathBuf::from(&line[line.len() - 1]);
        match binary.as_str() {
            "warden" => match warden_cli::Command::try_parse_from(&line) {
                Ok(warden_cli::Command::Deploy(args)) => deploy = Some(args),
                other => panic!("{name}: {line:?} is not a deploy command: {other:?}"),
            },
            "warden-operator" | "warden-aggregator" | "warden-challenger" => {
                let runs = match binary.as_str() {
                    "warden-operator" => matches!(
                        parse(&name, &line),
                        warden_operator::cli::Command::Run { .. }
                    ),
                    "warden-aggregator" => matches!(
                        parse(&name, &line),
                        warden_aggregator::cli::Command::Run { .. }
                    ),
                    _ => matches!(
                        parse(&name, &line),
                        warden_challenger::cli::Command::Run { .. }
                    ),
                };
                assert!(runs, "{name}: {line:?} is not a `run` command");
                configs.push((name, binary, config_of(&line)));
            }
            "anvil" => {
                let help = std::process::Command::new(warden_devnet::default_anvil_path())
                    .arg("--help")
                    .output()
                    .unwrap();
                let help = String::from_utf8_lossy(&help.stdout);
                for flag in line.iter().filter(|arg| arg.starts_with("--")) {
                    assert!(help.contains(flag.as_str()), "anvil has no {flag}");
                }
            }
            _ => {} // third-party images: prometheus, grafana
        }
    }
    let deploy = deploy.expect("a deployer service running `warden deploy`");
    let operators: Vec<&(String, String, PathBuf)> = configs
        .iter()
        .filter(|(_, binary, _)| binary == "warden-operator")
        .collect();
    assert_eq!(operators.len(), usize::from(deploy.operators));

    // What the deployer's arguments point at.
    let (aggregator_host, aggregator_port) = host_port(deploy.aggregator_url.as_str());
    assert_eq!(aggregator_port, AGGREGATOR_API_PORT);
    assert!(
        container_ports(&compose["services"][aggregator_host.as_str()])
            .contains(&AGGREGATOR_API_PORT),
        "the aggregator service publishes its API"
    );
    let template = deploy.database.clone().expect("PostgreSQL in compose");
    let (database_host, _) = host_port(&template.replace("{service}", "x"));
    assert!(
        names.contains(&database_host),
        "database host {database_host}"
    );
    let init = read("docker/postgres/init.sql");
    for service in ["aggregator", "challenger"]
        .into_iter()
        .map(String::from)
        .chain((0..deploy.operators).map(|i| format!("operator_{i}")))
    {
        let database = template.replace("{service}", &service);
        let name = database.rsplit('/').next().unwrap();
        assert!(
            init.contains(&format!("CREATE DATABASE {name} ")),
            "init.sql does not create {name}"
        );
    }

    // Deploy for real into an anvil, with the compose file's arguments (but this anvil, a
    // temporary directory and SQLite), and load every configuration a service is started with.
    let anvil = alloy::node_bindings::Anvil::at(warden_devnet::default_anvil_path()).spawn();
    let out = tempfile::tempdir().unwrap();
    let compose_out = deploy.out.clone();
    let local = DeployArgs {
        rpc_url: anvil.endpoint_url(),
        out: out.path().to_path_buf(),
        database: None,
        ..deploy
    };
    let plan = local.listen_plan().unwrap();
    warden_cli::deploy::run(local).await.unwrap();
    let mut metrics_ports = Vec::new();
    for (name, binary, path) in &configs {
        let relative = path.strip_prefix(&compose_out).unwrap_or_else(|_| {
            panic!(
                "{name}: {} is not under the deployer's --out",
                path.display()
            )
        });
        let written = out.path().join(relative);
        assert!(
            written.is_file(),
            "{name}: the deployer does not write {}",
            relative.display()
        );
        let ops = match binary.as_str() {
            "warden-operator" => {
                let config = warden_operator::config::OperatorConfig::load(Some(&written)).unwrap();
                assert_eq!(config.operator.aggregator_url, deploy_url(&aggregator_host));
                config.ops
            }
            "warden-aggregator" => {
                let config =
                    warden_aggregator::config::AggregatorConfig::load(Some(&written)).unwrap();
                assert_eq!(config.aggregator.listen.port(), AGGREGATOR_API_PORT);
                config.ops
            }
            "warden-challenger" => {
                warden_challenger::config::ChallengerConfig::load(Some(&written))
                    .unwrap()
                    .ops
            }
            other => panic!("{other}"),
        };
        // Each service on its own ports, as the deployer numbers it, published by its
        // container and probed by its healthcheck.
        let service = &compose["services"][name.as_str()];
        let expected = plan.ops(service_named(name));
        assert_eq!(ops.metrics_listen, expected.metrics_listen, "{name}");
        assert_eq!(ops.node_api_listen, expected.node_api_listen, "{name}");
        let (metrics, node_api) = (ops.metrics_listen.port(), ops.node_api_listen.port());
        let published = container_ports(service);
        assert!(
            published.contains(&metrics) && published.contains(&node_api),
            "{name} publishes {published:?}, not {metrics} and {node_api}"
        );
        let healthcheck = strings(&service["healthcheck"]["test"]);
        assert_eq!(
            healthcheck.get(2).map(String::as_str),
            Some(node_api.to_string().as_str()),
            "{name}'s healthcheck {healthcheck:?} does not probe its node API"
        );
        metrics_ports.push((name.clone(), metrics));
    }

    // Prometheus scrapes every service's metrics port, by its compose name.
    let prometheus: Value =
        serde_yaml::from_str(&read("docker/prometheus/prometheus.yml")).unwrap();
    let mut targets = BTreeSet::new();
    for job in prometheus["scrape_configs"].as_sequence().unwrap() {
        for group in job["static_configs"].as_sequence().unwrap() {
            targets.extend(strings(&group["targets"]));
        }
    }
    let expected: BTreeSet<String> = metrics_ports
        .iter()
        .map(|(name, port)| format!("{name}:{port}"))
        .collect();
    assert_eq!(targets, expected);

    check_grafana(&compose);
}

fn deploy_url(host: &str) -> alloy::transports::http::reqwest::Url {
    format!("http://{host}:{AGGREGATOR_API_PORT}")
        .parse()
        .unwrap()
}

/// The dashboard is valid JSON on the provisioned datasource, and every metric its queries name
/// is one a Warden service registers.
fn check_grafana(compose: &Value) {
    let datasources: Value = serde_yaml::from_str(&read(
        "docker/grafana/provisioning/datasources/prometheus.yml",
    ))
    .unwrap();
    let uid = datasources["datasources"][0]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("docker/grafana/dashboards/warden.json")).unwrap();
    let mut expressions = Vec::new();
    collect_queries(&dashboard, &uid, &mut expressions);
    assert!(
        expressions.len() >= 10,
        "a dashboard with {} queries",
        expressions.len()
    );

    let registered = registered_metrics();
    for expression in &expressions {
        for name in metric_names(expression) {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|base| registered.contains(*base))
                .unwrap_or(&name);
            assert!(
                registered.contains(base),
                "the dashboard queries {name}, which no service registers: {expression}"
            );
        }
    }
    let mounted: Vec<String> = strings(&compose["services"]["grafana"]["volumes"]);
    assert!(
        mounted
            .iter()
            .any(|volume| volume.starts_with("./docker/grafana/dashboards")),
        "the dashboard is mounted"
    );
}

fn collect_queries(value: &serde_json::Value, uid: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(object) => {
            if let Some(datasource) = object.get("datasource")
                && let Some(used) = datasource.get("uid").and_then(|u| u.as_str())
            {
                // Grafana's built-in source carries the annotations, queries use Prometheus.
                assert!(
                    used == uid || used == "-- Grafana --" || used.starts_with("${"),
                    "datasource {used}"
                );
            }
            if let Some(expression) = object.get("expr").and_then(|e| e.as_str()) {
                out.push(expression.to_string());
            }
            for child in object.values() {
                collect_queries(child, uid, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_queries(item, uid, out);
            }
        }
        _ => {}
    }
}

/// Identifiers in a PromQL expression that look like Warden's or EigenLayer's metrics.
fn metric_names(expression: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expression.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
        if is_ident(bytes[start]) && (start == 0 || !is_ident(bytes[start - 1])) {
            let mut end = start;
            while end < bytes.len() && is_ident(bytes[end]) {
                end += 1;
            }
            let word = &expression[start..end];
            if word.starts_with("warden_") || word.starts_with("eigen_") {
                names.insert(word.to_string());
            }
            start = end;
        } else {
            start += 1;
        }
    }
    names
}

/// Every metric name the three services register.
fn registered_metrics() -> BTreeSet<String> {
    use warden_runtime::metrics::{NodeMetrics, RpcMetrics, Telemetry};
    let mut names = BTreeSet::new();
    let service = || {
        let telemetry = Telemetry::new();
        RpcMetrics::register(&telemetry).unwrap();
        let node = NodeMetrics::register(&telemetry).unwrap();
        (telemetry, node)
    };
    let (telemetry, node) = service();
    warden_operator::node::OperatorMetrics::register(&telemetry, node).unwrap();
    names.extend(telemetry.metric_names());
    let (telemetry, node) = service();
    warden_aggregator::metrics::AggregatorMetrics::register(&telemetry, node).unwrap();
    names.extend(telemetry.metric_names());
    let (telemetry, node) = service();
    warden_challenger::metrics::ChallengerMetrics::register(&telemetry, node).unwrap();
    names.extend(telemetry.metric_names());
    names
}
