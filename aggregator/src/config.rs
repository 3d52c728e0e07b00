//! `warden-aggregator run`'s configuration file. See `config/aggregator.toml` for a documented
//! sample; every key can be overridden by `WARDEN_AGGREGATOR_<SECTION>__<KEY>`.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use warden_keys::KeysConfig;
use warden_runtime::config::{ChainConfig, ConfigError, DatabaseConfig, OpsConfig, ServiceConfig};
use warden_txm::TransactionsConfig;

/// Environment variables overriding the file start with this.
pub const ENV_PREFIX: &str = <AggregatorConfig as ServiceConfig>::ENV_PREFIX;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregatorConfig {
    pub chain: ChainConfig,
    pub aggregator: AggregatorSection,
    pub database: DatabaseConfig,
    #[serde(default)]
    pub ops: OpsConfig,
    pub keys: KeysConfig,
    #[serde(default)]
    pub transactions: TransactionsConfig,
}

/// `[aggregator]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregatorSection {
    /// Where operators send their signatures.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Agents whose tasks this aggregator opens, executes and expires (the keeper role). Empty:
    /// it only commits quorums for tasks others open.
    #[serde(default)]
    pub keeper_agents: Vec<u64>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8090))
}

warden_runtime::service_config!(
    AggregatorConfig,
    name: "warden-aggregator",
    env_prefix: "WARDEN_AGGREGATOR_",
    validate: AggregatorConfig::validate_all,
);

impl AggregatorConfig {
    /// Everything [`validate_settings`](Self::validate_settings) checks, and that the keystore
    /// and password file exist.
    fn validate_all(&self) -> Result<(), ConfigError> {
        self.validate_settings()?;
        Ok(self.keys.validate(false)?)
    }

    /// Checks every value without touching the file system.
    pub fn validate_settings(&self) -> Result<(), ConfigError> {
        self.chain.validate()?;
        self.database.validate()?;
        self.transactions
            .manager_config()
            .map_err(|error| ConfigError::Invalid {
                key: "transactions",
                reason: error.to_string(),
            })?;
        let mut seen = std::collections::BTreeSet::new();
        if let Some(duplicate) = self
            .aggregator
            .keeper_agents
            .iter()
            .find(|agent| !seen.insert(**agent))
        {
            return Err(ConfigError::Invalid {
                key: "aggregator.keeper_agents",
                reason: format!("agent {duplicate} is listed twice"),
            });
        }
        let listen = self.aggregator.listen;
        if listen.port() != 0
            && (listen == self.ops.metrics_listen || listen == self.ops.node_api_listen)
        {
            return Err(ConfigError::Invalid {
                key: "aggregator.listen",
                reason: format!("{listen} is also an ops endpoint's address"),
            });
        }
        Ok(())
    }
}
