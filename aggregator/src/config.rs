//! `warden-aggregator run`'s configuration file. See `config/aggregator.toml` for a documented
//! sample; every key can be overridden by `WARDEN_AGGREGATOR_<SECTION>__<KEY>`.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use warden_runtime::allowlist::AgentAllowlist;
use warden_runtime::config::{ConfigError, ServiceConfig};
use warden_runtime::http::HttpLimits;

/// Environment variables overriding the file start with this.
pub const ENV_PREFIX: &str = <AggregatorConfig as ServiceConfig>::ENV_PREFIX;

warden_runtime::service_config! {
    /// The whole configuration: `[chain]`, `[aggregator]`, `[database]`, `[ops]`, `[keys]` and
    /// `[transactions]`. The aggregator signs transactions with its ECDSA key; a BLS keystore is
    /// allowed but not needed.
    pub struct AggregatorConfig {
        pub aggregator: AggregatorSection,
    }
    name: "warden-aggregator",
    env_prefix: "WARDEN_AGGREGATOR_",
    bls_keystore: Optional,
    transactions: true,
    validate: AggregatorConfig::validate_aggregator,
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
    /// Blocks a keeper duty (opening a task, executing or expiring one) may be overdue before this
    /// aggregator does it: 0 for the main aggregator; a few blocks for a standby, which then
    /// keeps the agents only once the main aggregator has stopped doing so, and never races it.
    #[serde(default)]
    pub standby_blocks: u64,
    /// `[aggregator.allowlist]`: the agents whose tasks this aggregator collects and commits.
    /// `agent_hashes` empty means the hashes of its `keeper_agents` (read from the chain);
    /// `verifier_code_hashes` pins the verifier's runtime code. Signatures for any other agent's
    /// task are refused (403 `agent_not_served`), and so are those of an agent whose prepaid
    /// service balance is below the task manager's `commitFee`: an aggregator spends gas only on
    /// agents it chose and that pay.
    #[serde(default)]
    pub allowlist: AgentAllowlist,
    /// Milliseconds a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open): a client that sends half a request is cut off after this.
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// Connections the API serves at once; more wait until one closes.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Milliseconds to wait, once an output's verified weight reaches the threshold, for the
    /// operators still signing, so that the commitment names fewer non-signers (each costs gas,
    /// and is paid no fee). The wait also ends at `quorum_grace_blocks` new blocks, once every
    /// operator signed, and never risks the response window. 0: commit at once.
    #[serde(default = "default_quorum_grace_ms")]
    pub quorum_grace_ms: u64,
    /// See `quorum_grace_ms`.
    #[serde(default = "default_quorum_grace_blocks")]
    pub quorum_grace_blocks: u64,
    /// Blocks the keeper or the committer may have work pending without getting any of it done
    /// (a transaction of theirs mined) before `/eigen/node/health` answers 503 with the loop and
    /// its last failure: a key out of funds, a chain rolled back under it, a node refusing its
    /// transactions. Leave room for a transaction's fee bumps (`transactions.bump_after_secs`).
    #[serde(default = "default_stall_blocks")]
    pub stall_blocks: u64,
}

/// 25 blocks: five minutes of 12-second blocks, several fee bumps at the default settings.
pub const DEFAULT_STALL_BLOCKS: u64 = 25;

fn default_stall_blocks() -> u64 {
    DEFAULT_STALL_BLOCKS
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8090))
}

fn default_header_read_timeout_ms() -> u64 {
    u64::try_from(HttpLimits::default().header_read_timeout.as_millis()).unwrap_or(10_000)
}

fn default_quorum_grace_ms() -> u64 {
    300
}

fn default_quorum_grace_blocks() -> u64 {
    1
}

fn default_max_connections() -> usize {
    HttpLimits::default().max_connections
}

impl AggregatorSection {
    /// How long a reached quorum waits for late signers.
    pub fn quorum_grace(&self) -> crate::service::QuorumGrace {
        crate::service::QuorumGrace {
            wait: Duration::from_millis(self.quorum_grace_ms),
            blocks: self.quorum_grace_blocks,
        }
    }

    /// The API's HTTP limits.
    pub fn http_limits(&self) -> HttpLimits {
        HttpLimits {
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            max_connections: self.max_connections,
        }
    }
}

impl AggregatorConfig {
    /// The aggregator's own checks; the common sections are checked by [`ServiceConfig`].
    fn validate_aggregator(&self) -> Result<(), ConfigError> {
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
        if self.aggregator.header_read_timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                key: "aggregator.header_read_timeout_ms",
                reason: "must be above 0: a client would have no time to send a request".into(),
            });
        }
        if self.aggregator.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "aggregator.max_connections",
                reason: "must be above 0: no connection would ever be served".into(),
            });
        }
        if self.aggregator.stall_blocks == 0 {
            return Err(ConfigError::Invalid {
                key: "aggregator.stall_blocks",
                reason: "must be above 0: a transaction takes at least a block to be mined".into(),
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
