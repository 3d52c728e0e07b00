//! `warden-operator run`'s configuration file. See `config/operator.toml` for a documented
//! sample; every key can be overridden by `WARDEN_OPERATOR_<SECTION>__<KEY>`.

use alloy::primitives::Address;
use alloy::transports::http::reqwest::Url;
use serde::{Deserialize, Serialize};
use warden_runtime::allowlist::AgentAllowlist;
use warden_runtime::config::{
    AgentSection, ConfigError, ServiceConfig, check_block_range, default_max_block_range,
    default_max_lag_blocks,
};

/// Environment variables overriding the file start with this.
pub const ENV_PREFIX: &str = <OperatorConfig as ServiceConfig>::ENV_PREFIX;

warden_runtime::service_config! {
    /// The whole configuration: `[chain]`, `[operator]`, `[agent]`, `[database]`, `[ops]` and
    /// `[keys]`. The operator signs outputs with its BLS key, which it therefore needs; it sends
    /// no transactions while running, so it has no `[transactions]`.
    pub struct OperatorConfig {
        pub operator: NodeSection,
        pub agent: AgentSection,
    }
    name: "warden-operator",
    env_prefix: "WARDEN_OPERATOR_",
    bls_keystore: Required,
    transactions: false,
    validate: OperatorConfig::validate_operator,
}

/// `[operator]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Base URL of the aggregator's API: every signature goes here first.
    pub aggregator_url: Url,
    /// Other aggregators (other operators' nodes, or standby aggregators). A task still not
    /// committed `fallback_after_blocks` after it opened has its signature sent to one of them
    /// too, then to one more every `fallback_after_blocks`, in an order every operator derives
    /// from the task id, so that they all reach the same fallback. Give every operator the same
    /// list.
    #[serde(default)]
    pub fallback_aggregator_urls: Vec<Url>,
    /// See `fallback_aggregator_urls`.
    #[serde(default = "default_fallback_after_blocks")]
    pub fallback_after_blocks: u64,
    /// No longer used (a signature is now sent until its task's response window closes): still
    /// accepted, so that a configuration written for an earlier version starts, with a warning.
    #[serde(default, skip_serializing)]
    pub submission_attempts: Option<u32>,
    /// First block to scan on the very first start (later starts resume from the database).
    #[serde(default)]
    pub start_block: u64,
    /// Largest block range per `eth_getLogs` request.
    #[serde(default = "default_max_block_range")]
    pub max_block_range: u64,
    /// Blocks behind the head after which the node reports itself syncing (HTTP 206).
    #[serde(default = "default_max_lag_blocks")]
    pub max_lag_blocks: u64,
    /// `[operator.allowlist]`: the agents this node signs for. It can only sign for the agent it
    /// runs (`[agent]`); `agent_hashes` empty means exactly that one, and a list that leaves it
    /// out is refused at start. `verifier_code_hashes` pins the verifier's runtime code.
    #[serde(default)]
    pub allowlist: AgentAllowlist,
}

fn default_fallback_after_blocks() -> u64 {
    crate::node::DEFAULT_FALLBACK_AFTER_BLOCKS
}

impl NodeSection {
    /// Defaults for everything but the aggregator.
    pub fn new(aggregator_url: Url) -> Self {
        Self {
            aggregator_url,
            fallback_aggregator_urls: Vec::new(),
            fallback_after_blocks: default_fallback_after_blocks(),
            submission_attempts: None,
            start_block: 0,
            max_block_range: default_max_block_range(),
            max_lag_blocks: default_max_lag_blocks(),
            allowlist: AgentAllowlist::default(),
        }
    }
}

impl OperatorConfig {
    /// The operator's own checks; the common sections are checked by [`ServiceConfig`].
    fn validate_operator(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_string(),
            })
        };
        if !matches!(self.operator.aggregator_url.scheme(), "http" | "https") {
            return invalid("operator.aggregator_url", "must be an http(s) URL");
        }
        if self
            .operator
            .fallback_aggregator_urls
            .iter()
            .any(|url| !matches!(url.scheme(), "http" | "https"))
        {
            return invalid(
                "operator.fallback_aggregator_urls",
                "every entry must be an http(s) URL",
            );
        }
        if self.operator.fallback_after_blocks == 0 {
            return invalid("operator.fallback_after_blocks", "must be at least 1");
        }
        check_block_range("operator.max_block_range", self.operator.max_block_range)?;
        if self.agent.router == Address::ZERO {
            return invalid(
                "agent.router",
                "the zero address cannot be the agent's router",
            );
        }
        self.agent.validate()
    }
}
