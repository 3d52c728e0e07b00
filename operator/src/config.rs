//! `warden-operator run`'s configuration file. See `config/operator.toml` for a documented
//! sample; every key can be overridden by `WARDEN_OPERATOR_<SECTION>__<KEY>`.

use alloy::primitives::Address;
use alloy::transports::http::reqwest::Url;
use serde::{Deserialize, Serialize};
use warden_keys::KeysConfig;
use warden_runtime::config::{
    AgentSection, ChainConfig, ConfigError, DatabaseConfig, OpsConfig, ServiceConfig,
};

/// Environment variables overriding the file start with this.
pub const ENV_PREFIX: &str = <OperatorConfig as ServiceConfig>::ENV_PREFIX;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    pub chain: ChainConfig,
    pub operator: NodeSection,
    pub agent: AgentSection,
    pub database: DatabaseConfig,
    #[serde(default)]
    pub ops: OpsConfig,
    pub keys: KeysConfig,
}

/// `[operator]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Base URL of the aggregator's API.
    pub aggregator_url: Url,
    /// First block to scan on the very first start (later starts resume from the database).
    #[serde(default)]
    pub start_block: u64,
    /// Largest block range per `eth_getLogs` request.
    #[serde(default = "default_block_range")]
    pub max_block_range: u64,
    /// Attempts to hand a signature to the aggregator before waiting for the next start.
    #[serde(default = "default_submission_attempts")]
    pub submission_attempts: u32,
    /// Blocks behind the head after which the node reports itself syncing (HTTP 206).
    #[serde(default = "default_max_lag")]
    pub max_lag_blocks: u64,
}

fn default_block_range() -> u64 {
    2_000
}

fn default_submission_attempts() -> u32 {
    8
}

fn default_max_lag() -> u64 {
    10
}

warden_runtime::service_config!(
    OperatorConfig,
    name: "warden-operator",
    env_prefix: "WARDEN_OPERATOR_",
    validate: OperatorConfig::validate_all,
);

impl OperatorConfig {
    /// Everything [`validate_settings`](Self::validate_settings) checks, and that the keystore
    /// and password file exist.
    fn validate_all(&self) -> Result<(), ConfigError> {
        self.validate_settings()?;
        Ok(self.keys.validate(true)?)
    }

    /// Checks every value without touching the file system.
    pub fn validate_settings(&self) -> Result<(), ConfigError> {
        self.chain.validate()?;
        self.database.validate()?;
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_string(),
            })
        };
        if !matches!(self.operator.aggregator_url.scheme(), "http" | "https") {
            return invalid("operator.aggregator_url", "must be an http(s) URL");
        }
        if self.operator.max_block_range == 0 || self.operator.max_block_range > 100_000 {
            return invalid("operator.max_block_range", "must be within 1..=100000");
        }
        if self.operator.submission_attempts == 0 {
            return invalid("operator.submission_attempts", "must be at least 1");
        }
        if self.agent.router == Address::ZERO {
            return invalid(
                "agent.router",
                "the zero address cannot be the agent's router",
            );
        }
        Ok(())
    }
}
