//! The configuration of every service of a deployment, as `warden-<service> run` reads it: the
//! devnet starts its services from these, `warden deploy` writes them as TOML files.

use std::net::SocketAddr;

use warden_challenger::WatchtowerConfig;

use crate::{DeployError, Deployment, OperatorHandle};

impl Deployment {
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
        use warden_runtime::config::{ChainConfig, DatabaseConfig, OpsConfig};
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let keys = self.data_dir().join("keys").join("dev-3");
        AggregatorConfig {
            chain: ChainConfig {
                rpc_url: self.endpoint_url(),
                task_manager: self.summary().app.task_manager,
                poll_interval_ms: 200,
                rpc_attempts: 5,
            },
            aggregator: AggregatorSection {
                listen,
                keeper_agents,
                // The devnet's one agent is a keeper agent, so its hash is served already.
                allowlist: Default::default(),
                header_read_timeout_ms: 10_000,
                max_connections: 1_024,
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
        use warden_runtime::config::{ChainConfig, DatabaseConfig, OpsConfig};
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let keys = self.data_dir().join("keys").join("dev-4");
        warden_challenger::ChallengerConfig {
            chain: ChainConfig {
                rpc_url: self.endpoint_url(),
                task_manager: self.summary().app.task_manager,
                poll_interval_ms: 200,
                rpc_attempts: 5,
            },
            challenger: WatchtowerConfig {
                start_block,
                ..WatchtowerConfig::default()
            },
            agent: warden_runtime::config::AgentSection {
                router: self.summary().market.router,
            },
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
        use warden_runtime::config::AgentSection;
        use warden_runtime::config::{ChainConfig, DatabaseConfig, OpsConfig};
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(OperatorConfig {
            chain: ChainConfig {
                rpc_url: self.endpoint_url(),
                task_manager: self.summary().app.task_manager,
                poll_interval_ms: 200,
                rpc_attempts: 5,
            },
            operator: NodeSection {
                aggregator_url: aggregator_url.clone(),
                start_block,
                max_block_range: 2_000,
                submission_attempts: 8,
                max_lag_blocks: 10,
                allowlist: Default::default(),
            },
            agent: AgentSection {
                router: self.summary().market.router,
            },
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
