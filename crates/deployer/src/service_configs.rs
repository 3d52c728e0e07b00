//! The configuration of every service of a deployment, as `warden-<service> run` reads it: the
//! devnet starts its services from these, `warden deploy` writes them as TOML files, with every
//! service's listen addresses from a [`ListenPlan`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use alloy::transports::http::reqwest::Url;
use warden_challenger::WatchtowerConfig;
use warden_runtime::config::OpsConfig;

use crate::{DeployError, Deployment, OperatorHandle};

/// One service of a deployment, in the order [`ListenPlan`] numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Aggregator,
    /// The operator node of the operator with this index.
    Operator(usize),
    Challenger,
}

impl Service {
    /// Every service of a deployment with `operators` operators, by number: the aggregator (0),
    /// the operators (1 to `operators`) and the challenger (`operators + 1`).
    pub fn all(operators: usize) -> Vec<Service> {
        let mut all = vec![Service::Aggregator];
        all.extend((0..operators).map(Service::Operator));
        all.push(Service::Challenger);
        all
    }

    /// Its number in a deployment with `operators` operators: what [`ListenPlan`] adds to each
    /// base port.
    pub fn number(self, operators: usize) -> usize {
        match self {
            Service::Aggregator => 0,
            Service::Operator(index) => 1 + index,
            Service::Challenger => 1 + operators,
        }
    }

    /// Its name: its configuration file's stem (`operator-0.toml`) and its compose service.
    pub fn name(self) -> String {
        match self {
            Service::Aggregator => "aggregator".into(),
            Service::Operator(index) => format!("operator-{index}"),
            Service::Challenger => "challenger".into(),
        }
    }
}

/// Why a deployment's services cannot all listen on one host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenPlanError {
    #[error("{service}'s {what} port would be {base} + {number}, beyond 65535")]
    PortOutOfRange {
        service: String,
        what: &'static str,
        base: u16,
        number: usize,
    },
    #[error("{first} and {second} would both listen on port {port}")]
    Clash {
        port: u16,
        first: String,
        second: String,
    },
    #[error("the aggregator URL {url} names no host")]
    NoHost { url: Url },
    #[error(
        "the aggregator URL {url} is reached at {ip}, but the services listen on the loopback \
         address {listen_host}: nothing could reach the aggregator there"
    )]
    Unreachable {
        url: Url,
        ip: IpAddr,
        listen_host: IpAddr,
    },
}

/// Where every service of a deployment listens, such that all of them can run on one host at
/// once: service N (see [`Service::number`]) serves metrics on `metrics_base + N` and the node
/// API on `node_api_base + N`, and the aggregator's API listens where its URL points. In
/// containers, each of which has its ports to itself, the same addresses work as well, which
/// keeps one set of configuration files right for both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenPlan {
    /// The address the metrics and node API servers listen on.
    pub host: IpAddr,
    pub metrics_base: u16,
    pub node_api_base: u16,
    /// The aggregator's API ([`ListenPlan::aggregator_listen`]).
    pub aggregator_api: SocketAddr,
    pub operators: usize,
}

impl ListenPlan {
    /// The plan for `operators` operators, refused if two listen addresses would share a port
    /// (ports, not addresses, are compared: `0.0.0.0:P` and `127.0.0.1:P` clash too) or a port
    /// would not exist.
    pub fn new(
        host: IpAddr,
        metrics_base: u16,
        node_api_base: u16,
        aggregator_api: SocketAddr,
        operators: usize,
    ) -> Result<Self, ListenPlanError> {
        let plan = Self {
            host,
            metrics_base,
            node_api_base,
            aggregator_api,
            operators,
        };
        let mut taken: std::collections::HashMap<u16, String> = Default::default();
        taken.insert(aggregator_api.port(), "the aggregator's API".into());
        for service in Service::all(operators) {
            for (what, base) in [("metrics", metrics_base), ("node API", node_api_base)] {
                let number = service.number(operators);
                let port = u16::try_from(usize::from(base) + number).map_err(|_| {
                    ListenPlanError::PortOutOfRange {
                        service: service.name(),
                        what,
                        base,
                        number,
                    }
                })?;
                let name = format!("{}'s {what}", service.name());
                if let Some(first) = taken.insert(port, name.clone()) {
                    return Err(ListenPlanError::Clash {
                        port,
                        first,
                        second: name,
                    });
                }
            }
        }
        Ok(plan)
    }

    /// Where the aggregator's API listens for operators that reach it at `url`: on the URL's
    /// port (or its scheme's default), and on the URL's host when that is a loopback address
    /// (`127.0.0.1`, `[::1]`, `localhost`), which is always this host's; otherwise on
    /// `listen_host`. A URL naming another IP address while `listen_host` is a loopback address
    /// is refused: an API listening on loopback cannot be reached at that address.
    pub fn aggregator_listen(
        url: &Url,
        listen_host: IpAddr,
    ) -> Result<SocketAddr, ListenPlanError> {
        let no_host = || ListenPlanError::NoHost { url: url.clone() };
        let port = url.port_or_known_default().ok_or_else(no_host)?;
        let host = url.host_str().ok_or_else(no_host)?;
        // An IPv6 host comes in brackets (`[::1]`); a name (`aggregator` in compose) resolves
        // where the services run, which the deployer cannot know: `listen_host` decides.
        let named = if host.eq_ignore_ascii_case("localhost") {
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .ok()
        };
        let ip = match named {
            Some(ip) if ip.is_loopback() => ip,
            Some(ip) if listen_host.is_loopback() => {
                return Err(ListenPlanError::Unreachable {
                    url: url.clone(),
                    ip,
                    listen_host,
                });
            }
            _ => listen_host,
        };
        Ok(SocketAddr::new(ip, port))
    }

    /// The `[ops]` section of `service`: its own metrics and node API ports. The node's name is
    /// left to the service's configuration.
    pub fn ops(&self, service: Service) -> OpsConfig {
        // `new` checked that every service's ports fit.
        let port = |base: u16| {
            u16::try_from(usize::from(base) + service.number(self.operators)).unwrap_or(base)
        };
        OpsConfig {
            metrics_listen: SocketAddr::new(self.host, port(self.metrics_base)),
            node_api_listen: SocketAddr::new(self.host, port(self.node_api_base)),
            node_name: None,
        }
    }
}

impl Deployment {
    /// `[chain]` of every service of the deployment: its anvil, polled every 200 ms.
    fn chain_config(&self) -> warden_runtime::config::ChainConfig {
        warden_runtime::config::ChainConfig {
            rpc_url: self.endpoint_url(),
            fallback_rpc_urls: Vec::new(),
            task_manager: self.summary().app.task_manager,
            deployment: None,
            deployed_at_block: 0,
            poll_interval_ms: 200,
            rpc_attempts: 5,
        }
    }

    /// The configuration of the deployment's aggregator (development account 3, see
    /// [`Deployment::dev_keystore`]): API on `listen`, keeping `keeper_agents`, a SQLite file in the
    /// data directory, metrics and node API on free loopback ports.
    pub fn aggregator_config(
        &self,
        listen: SocketAddr,
        keeper_agents: Vec<u64>,
    ) -> warden_aggregator::config::AggregatorConfig {
        use warden_aggregator::config::{AggregatorConfig, AggregatorSection};
        use warden_keys::KeysConfig;
        use warden_runtime::config::{DatabaseConfig, OpsConfig};
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let keys = self.data_dir().join("keys").join("dev-3");
        AggregatorConfig {
            chain: self.chain_config(),
            aggregator: AggregatorSection {
                listen,
                keeper_agents,
                standby_blocks: 0,
                // The devnet's one agent is a keeper agent, so its hash is served already.
                allowlist: Default::default(),
                header_read_timeout_ms: 10_000,
                max_connections: 1_024,
                quorum_grace_ms: 300,
                // The devnet's clock mines a block every 100 ms.
                quorum_grace_blocks: 2,
                // The devnet's clock mines about ten blocks a second: 300 blocks leave room for
                // several fee bumps (5 s apart) before a stuck loop is reported.
                stall_blocks: 300,
            },
            database: DatabaseConfig {
                url: self.data_dir().join("aggregator.db").display().to_string(),
            },
            ops: OpsConfig {
                metrics_listen: any_port,
                node_api_listen: any_port,
                node_name: None,
            },
            keys: KeysConfig {
                ecdsa_keystore: keys.join("keystore.json"),
                bls_keystore: None,
                password_file: Some(keys.join("password")),
            },
            transactions: warden_txm::TransactionsConfig {
                // Devnet blocks come every few hundred milliseconds.
                bump_after_secs: 5,
                receipt_timeout_secs: 60,
                poll_interval_ms: 100,
                ..warden_txm::TransactionsConfig::default()
            },
        }
    }

    /// The configuration of the deployment's challenger (development account 4, see
    /// [`Deployment::dev_keystore`]), judging from `start_block`: a SQLite file in the data
    /// directory, metrics and node API on free loopback ports.
    pub fn challenger_config(&self, start_block: u64) -> warden_challenger::ChallengerConfig {
        use warden_keys::KeysConfig;
        use warden_runtime::config::{DatabaseConfig, OpsConfig};
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let keys = self.data_dir().join("keys").join("dev-4");
        warden_challenger::ChallengerConfig {
            chain: self.chain_config(),
            challenger: WatchtowerConfig {
                start_block,
                ..WatchtowerConfig::default()
            },
            agent: self.agent_section(),
            database: DatabaseConfig {
                url: self.data_dir().join("challenger.db").display().to_string(),
            },
            ops: OpsConfig {
                metrics_listen: any_port,
                node_api_listen: any_port,
                node_name: Some("warden-challenger".into()),
            },
            keys: KeysConfig {
                ecdsa_keystore: keys.join("keystore.json"),
                bls_keystore: None,
                password_file: Some(keys.join("password")),
            },
            transactions: warden_txm::TransactionsConfig::default(),
        }
    }

    /// The configuration of operator `handle`'s node: its keystores, a SQLite file in the data
    /// directory, metrics and node API on free loopback ports.
    pub fn operator_config(
        &self,
        handle: &OperatorHandle,
        aggregator_url: &alloy::transports::http::reqwest::Url,
        start_block: u64,
    ) -> Result<warden_operator::config::OperatorConfig, DeployError> {
        use warden_keys::KeysConfig;
        use warden_operator::config::{NodeSection, OperatorConfig};
        use warden_runtime::config::{DatabaseConfig, OpsConfig};
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(OperatorConfig {
            chain: self.chain_config(),
            operator: NodeSection {
                start_block,
                max_lag_blocks: 10,
                ..NodeSection::new(aggregator_url.clone())
            },
            agent: self.agent_section(),
            database: DatabaseConfig {
                url: self
                    .data_dir()
                    .join(format!("operator-{}.db", handle.index))
                    .display()
                    .to_string(),
            },
            ops: OpsConfig {
                metrics_listen: any_port,
                node_api_listen: any_port,
                node_name: Some(format!("warden-operator-{}", handle.index)),
            },
            keys: KeysConfig {
                ecdsa_keystore: handle.keystores.ecdsa.clone(),
                bls_keystore: Some(handle.keystores.bls.clone()),
                password_file: Some(handle.password_file.clone()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn loopback() -> IpAddr {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }

    fn url(text: &str) -> Url {
        text.parse().unwrap()
    }

    #[test]
    fn every_service_gets_its_own_ports() {
        let api = SocketAddr::new(loopback(), 8090);
        let plan = ListenPlan::new(loopback(), 9090, 9010, api, 4).unwrap();
        let mut ports = vec![api.port()];
        for service in Service::all(4) {
            let ops = plan.ops(service);
            ports.extend([ops.metrics_listen.port(), ops.node_api_listen.port()]);
        }
        let distinct: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        assert_eq!(plan.ops(Service::Aggregator).metrics_listen.port(), 9090);
        assert_eq!(plan.ops(Service::Operator(0)).node_api_listen.port(), 9011);
        assert_eq!(plan.ops(Service::Challenger).metrics_listen.port(), 9095);
    }

    #[test]
    fn overlapping_ranges_and_ports_beyond_65535_are_refused() {
        let api = SocketAddr::new(loopback(), 8090);
        // 81 operators: node API ports 9010..=9092 run into the metrics ports from 9090.
        assert!(matches!(
            ListenPlan::new(loopback(), 9090, 9010, api, 81),
            Err(ListenPlanError::Clash { port: 9090, .. })
        ));
        assert!(matches!(
            ListenPlan::new(loopback(), 9090, 9010, SocketAddr::new(loopback(), 9092), 4),
            Err(ListenPlanError::Clash { port: 9092, .. })
        ));
        assert!(matches!(
            ListenPlan::new(loopback(), 65_533, 9010, api, 4),
            Err(ListenPlanError::PortOutOfRange { .. })
        ));
    }

    #[test]
    fn the_aggregator_listens_where_its_url_points() {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let listen = ListenPlan::aggregator_listen;
        assert_eq!(
            listen(&url("http://127.0.0.1:18090"), any).unwrap(),
            "127.0.0.1:18090".parse().unwrap()
        );
        assert_eq!(
            listen(&url("http://localhost:7000"), loopback()).unwrap(),
            "127.0.0.1:7000".parse().unwrap()
        );
        assert_eq!(
            listen(&url("http://[::1]:7000"), any).unwrap(),
            "[::1]:7000".parse().unwrap()
        );
        // A name resolves where the services run (compose): --listen-host decides the host.
        assert_eq!(
            listen(&url("http://aggregator:8090"), any).unwrap(),
            "0.0.0.0:8090".parse().unwrap()
        );
        assert_eq!(
            listen(&url("http://aggregator"), any).unwrap(),
            "0.0.0.0:80".parse().unwrap()
        );
        assert_eq!(
            listen(&url("http://10.1.2.3:8090"), any).unwrap(),
            "0.0.0.0:8090".parse().unwrap()
        );
        assert!(matches!(
            listen(&url("http://10.1.2.3:8090"), loopback()),
            Err(ListenPlanError::Unreachable { .. })
        ));
    }
}
