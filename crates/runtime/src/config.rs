//! Configuration files: TOML, with every key overridable from the environment, checked when read
//! with errors that name the file, the key and what is wrong with it.
//!
//! A binary with env prefix `WARDEN_OPERATOR_` reads `rpc_url` in section `[chain]` from
//! `WARDEN_OPERATOR_CHAIN__RPC_URL` when that is set: sections and keys are joined by `__`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use alloy::transports::http::reqwest::Url;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
pub use warden_keys::KeysConfig;
pub use warden_txm::TransactionsConfig;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error("configuration: {0}")]
    Parse(Box<figment::Error>),
    #[error("configuration: {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl From<warden_keys::InvalidKeysConfig> for ConfigError {
    fn from(error: warden_keys::InvalidKeysConfig) -> Self {
        Self::Invalid {
            key: error.key,
            reason: error.reason,
        }
    }
}

impl From<figment::Error> for ConfigError {
    fn from(error: figment::Error) -> Self {
        Self::Parse(Box::new(error))
    }
}

/// Reads `path` (if given) and overrides from environment variables starting with `env_prefix`.
pub fn load<T: DeserializeOwned>(path: Option<&Path>, env_prefix: &str) -> Result<T, ConfigError> {
    let mut figment = Figment::new();
    if let Some(path) = path {
        if !path.is_file() {
            return Err(ConfigError::Missing(path.to_path_buf()));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    Ok(figment
        .merge(Env::prefixed(env_prefix).split("__"))
        .extract()?)
}

/// What a service does with `keys.bls_keystore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlsKeystore {
    /// The service signs outputs with it: the keystore must be named and exist.
    Required,
    /// The service may be given one (an aggregator that stands in for an operator); if named,
    /// it must exist.
    Optional,
    /// The service signs transactions only, with its ECDSA key. A BLS keystore named anyway is
    /// refused, so that an operator's BLS key is not copied to a machine that does not need it.
    Refused,
}

/// What every service's configuration has: a name, an environment prefix, the `[chain]`,
/// `[database]`, `[ops]` and `[keys]` sections (and `[transactions]` when it sends any), and the
/// checks of those sections. The service adds only its own sections and their checks
/// ([`validate_service`](Self::validate_service)). Implemented by [`service_config!`], which also
/// declares the struct, so that the common sections are written once.
pub trait ServiceConfig: DeserializeOwned + Send + Sized + 'static {
    /// The binary's name (`warden-aggregator`): the node API's default name.
    const NAME: &'static str;
    /// Environment variables overriding the file start with this (`WARDEN_AGGREGATOR_`).
    const ENV_PREFIX: &'static str;
    /// The environment variable that may name the configuration file instead of `--config`.
    const FILE_ENV: &'static str;
    /// Whether `keys.bls_keystore` is needed, allowed or refused.
    const BLS_KEYSTORE: BlsKeystore;

    fn chain(&self) -> &ChainConfig;
    fn database(&self) -> &DatabaseConfig;
    fn ops(&self) -> &OpsConfig;
    fn keys(&self) -> &KeysConfig;
    /// `[transactions]`, for a service that sends transactions through `warden-txm`.
    fn transactions(&self) -> Option<&TransactionsConfig>;

    /// The service's own checks: its own sections, and what it requires of the common ones
    /// beyond what every service does. The error names the key.
    fn validate_service(&self) -> Result<(), ConfigError>;

    /// Checks every value on its own and against the others, without touching the file system
    /// (the keystores named need not exist yet); the error names the key.
    fn validate_settings(&self) -> Result<(), ConfigError> {
        self.chain().validate()?;
        self.database().validate()?;
        if let Some(transactions) = self.transactions() {
            transactions
                .manager_config()
                .map_err(|error| ConfigError::Invalid {
                    key: "transactions",
                    reason: error.to_string(),
                })?;
        }
        if Self::BLS_KEYSTORE == BlsKeystore::Refused && self.keys().bls_keystore.is_some() {
            return Err(ConfigError::Invalid {
                key: "keys.bls_keystore",
                reason: format!(
                    "{} signs transactions only, with its ECDSA key: remove the BLS keystore",
                    Self::NAME
                ),
            });
        }
        self.validate_service()
    }

    /// Everything [`validate_settings`](Self::validate_settings) checks, and that the keystores
    /// and the password file exist.
    fn validate(&self) -> Result<(), ConfigError> {
        self.validate_settings()?;
        Ok(self
            .keys()
            .validate(Self::BLS_KEYSTORE == BlsKeystore::Required)?)
    }

    fn chain_mut(&mut self) -> &mut ChainConfig;

    /// Reads `path` with environment overrides, then the deployment file `[chain] deployment`
    /// names, and validates the result.
    fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config: Self = load(path, Self::ENV_PREFIX)?;
        config.chain_mut().resolve_deployment()?;
        config.validate()?;
        Ok(config)
    }
}

/// Declares a service's configuration struct and implements [`ServiceConfig`] for it.
///
/// The struct gets `[chain]`, the service's own sections (as written, in that order), then
/// `[database]`, `[ops]` (optional), `[keys]` and, with `transactions: true`, `[transactions]`
/// (optional). Unknown keys are refused (`deny_unknown_fields`), which is why the common sections
/// are declared here rather than flattened in: serde cannot refuse unknown keys of a flattened
/// struct. `name` is the binary, `env_prefix` the prefix of its environment overrides (the file
/// itself may be named by `{env_prefix}CONFIG`), `bls_keystore` a [`BlsKeystore`] and `validate`
/// the function with the service's own checks.
///
/// ```ignore
/// warden_runtime::service_config! {
///     /// The whole configuration.
///     pub struct AggregatorConfig {
///         pub aggregator: AggregatorSection,
///     }
///     name: "warden-aggregator",
///     env_prefix: "WARDEN_AGGREGATOR_",
///     bls_keystore: Optional,
///     transactions: true,
///     validate: AggregatorConfig::validate_own,
/// }
/// ```
#[macro_export]
macro_rules! service_config {
    (
        $(#[$meta:meta])*
        $vis:vis struct $config:ident { $($own:tt)* }
        name: $name:literal,
        env_prefix: $prefix:literal,
        bls_keystore: $bls:ident,
        transactions: $transactions:tt,
        validate: $validate:path $(,)?
    ) => {
        $crate::service_config!(@sections $transactions [$(#[$meta])*] $vis $config { $($own)* });

        impl $crate::config::ServiceConfig for $config {
            const NAME: &'static str = $name;
            const ENV_PREFIX: &'static str = $prefix;
            const FILE_ENV: &'static str = concat!($prefix, "CONFIG");
            const BLS_KEYSTORE: $crate::config::BlsKeystore = $crate::config::BlsKeystore::$bls;

            fn chain(&self) -> &$crate::config::ChainConfig {
                &self.chain
            }

            fn chain_mut(&mut self) -> &mut $crate::config::ChainConfig {
                &mut self.chain
            }

            fn database(&self) -> &$crate::config::DatabaseConfig {
                &self.database
            }

            fn ops(&self) -> &$crate::config::OpsConfig {
                &self.ops
            }

            fn keys(&self) -> &$crate::config::KeysConfig {
                &self.keys
            }

            fn transactions(&self) -> Option<&$crate::config::TransactionsConfig> {
                $crate::service_config!(@transactions $transactions self)
            }

            fn validate_service(&self) -> Result<(), $crate::config::ConfigError> {
                $validate(self)
            }
        }
    };
    (@sections true $attrs:tt $vis:vis $config:ident $own:tt) => {
        $crate::service_config!(@struct $attrs $vis $config $own {
            #[serde(default)]
            pub transactions: $crate::config::TransactionsConfig,
        });
    };
    (@sections false $attrs:tt $vis:vis $config:ident $own:tt) => {
        $crate::service_config!(@struct $attrs $vis $config $own {});
    };
    (@struct [$($attrs:tt)*] $vis:vis $config:ident { $($own:tt)* } { $($tail:tt)* }) => {
        $($attrs)*
        #[derive(Debug, Clone, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        $vis struct $config {
            pub chain: $crate::config::ChainConfig,
            $($own)*
            pub database: $crate::config::DatabaseConfig,
            #[serde(default)]
            pub ops: $crate::config::OpsConfig,
            pub keys: $crate::config::KeysConfig,
            $($tail)*
        }
    };
    (@transactions true $config:expr) => {
        Some(&$config.transactions)
    };
    (@transactions false $config:expr) => {
        None
    };
}

/// The largest block range one `eth_getLogs` request of a chain follower may ask for: providers
/// refuse larger ones, and a follower that asks for too much never catches up.
pub const MAX_BLOCK_RANGE: u64 = 100_000;

/// The default of a follower's `max_block_range`: what public providers accept.
pub fn default_max_block_range() -> u64 {
    2_000
}

/// The default of a follower's `max_lag_blocks`: how far behind the head it may fall before it
/// reports itself syncing.
pub fn default_max_lag_blocks() -> u64 {
    10
}

/// Checks a follower's `max_block_range` (`key` names it): within 1..=[`MAX_BLOCK_RANGE`].
pub fn check_block_range(key: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 || value > MAX_BLOCK_RANGE {
        return Err(ConfigError::Invalid {
            key,
            reason: format!("must be within 1..={MAX_BLOCK_RANGE}"),
        });
    }
    Ok(())
}

/// `[chain]`: the Ethereum endpoint and Warden's contracts on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Ethereum JSON-RPC endpoint (HTTP).
    pub rpc_url: Url,
    /// Further endpoints of the same chain, in order of preference: a request `rpc_url` gives no
    /// answer to goes to the next one, which is then used until it fails in turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback_rpc_urls: Vec<Url>,
    /// The WardenTaskManager. May be left out when `deployment` names it.
    #[serde(default)]
    pub task_manager: alloy::primitives::Address,
    /// The deployment file `warden avs deploy` wrote: the task manager comes from it (a
    /// `task_manager` given as well must be the same), and a service with no record of its own
    /// starts reading the chain at the block Warden was deployed in, not at genesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<std::path::PathBuf>,
    /// The deployment file's `deployed_at_block` once read (0 without one): the earliest block a
    /// service needs to read.
    #[serde(skip)]
    pub deployed_at_block: u64,
    /// Milliseconds between polls of the chain when caught up.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Attempts per RPC request that gets no answer (connection refused, timeout, 5xx, 429).
    #[serde(default = "default_rpc_attempts")]
    pub rpc_attempts: u32,
}

fn default_poll_ms() -> u64 {
    1_000
}

fn default_rpc_attempts() -> u32 {
    5
}

impl ChainConfig {
    /// Reads `deployment`, if set, into `task_manager` and `deployed_at_block`; a
    /// `task_manager` that names another contract is refused.
    pub fn resolve_deployment(&mut self) -> Result<(), ConfigError> {
        let Some(path) = &self.deployment else {
            return Ok(());
        };
        let file = crate::deployment::DeploymentFile::read(path).map_err(|error| {
            ConfigError::Invalid {
                key: "chain.deployment",
                reason: error.to_string(),
            }
        })?;
        let named = file.warden.task_manager;
        if self.task_manager != alloy::primitives::Address::ZERO && self.task_manager != named {
            return Err(ConfigError::Invalid {
                key: "chain.task_manager",
                reason: format!(
                    "{} is not the task manager of {} ({named}): remove one of the two",
                    self.task_manager,
                    path.display()
                ),
            });
        }
        self.task_manager = named;
        self.deployed_at_block = file.deployed_at_block;
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.task_manager == alloy::primitives::Address::ZERO {
            return Err(ConfigError::Invalid {
                key: "chain.task_manager",
                reason: "no task manager: set chain.task_manager, or chain.deployment to the \
                         deployment file `warden avs deploy` wrote"
                    .into(),
            });
        }
        if !matches!(self.rpc_url.scheme(), "http" | "https") {
            return Err(ConfigError::Invalid {
                key: "chain.rpc_url",
                reason: format!("{} is not an http(s) URL", self.rpc_url),
            });
        }
        if let Some((position, url)) = self
            .fallback_rpc_urls
            .iter()
            .enumerate()
            .find(|(_, url)| !matches!(url.scheme(), "http" | "https"))
        {
            // By position and scheme only: a provider's URL often holds its API key.
            return Err(ConfigError::Invalid {
                key: "chain.fallback_rpc_urls",
                reason: format!("entry {position} is a {} URL, not http(s)", url.scheme()),
            });
        }
        if self.poll_interval_ms == 0 || self.poll_interval_ms > 60_000 {
            return Err(ConfigError::Invalid {
                key: "chain.poll_interval_ms",
                reason: format!("{} is outside 1..=60000", self.poll_interval_ms),
            });
        }
        if self.rpc_attempts == 0 {
            return Err(ConfigError::Invalid {
                key: "chain.rpc_attempts",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// `rpc_url`, then the fallbacks: every endpoint, in order of preference.
    pub fn endpoints(&self) -> Vec<Url> {
        std::iter::once(self.rpc_url.clone())
            .chain(self.fallback_rpc_urls.iter().cloned())
            .collect()
    }

    pub fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.poll_interval_ms)
    }

    pub fn retry(&self) -> crate::rpc::RetryPolicy {
        crate::rpc::RetryPolicy {
            attempts: self.rpc_attempts,
            ..crate::rpc::RetryPolicy::default()
        }
    }
}

/// `[database]`: a SQLite file path (the default), a `sqlite:` URL or a `postgres://` URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
}

impl DatabaseConfig {
    /// The checked location. A URL with any other scheme (`postgress://`, `mysql://`) is an
    /// error naming `database.url`, never a SQLite file of that name.
    pub fn location(&self) -> Result<warden_store::DatabaseUrl, ConfigError> {
        warden_store::DatabaseUrl::parse(&self.url).map_err(|error| ConfigError::Invalid {
            key: "database.url",
            reason: error.to_string(),
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.location().map(drop)
    }
}

/// `[ops]`: where Prometheus metrics and the EigenLayer node API listen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    #[serde(default = "default_metrics")]
    pub metrics_listen: SocketAddr,
    #[serde(default = "default_node_api")]
    pub node_api_listen: SocketAddr,
    /// The node's name in `/eigen/node` (default: the binary's name).
    #[serde(default)]
    pub node_name: Option<String>,
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            metrics_listen: default_metrics(),
            node_api_listen: default_node_api(),
            node_name: None,
        }
    }
}

fn default_metrics() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9090))
}

fn default_node_api() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9010))
}

/// `[agent]`: the agent a service runs (operators sign its outputs, challengers re-execute it).
///
/// Without `model` the service runs the shipped reference agent. With it, the service runs the
/// large agent of that WNET model file (as `warden model generate` writes it), but only if the
/// file, with the reference parameters for `router`, makes exactly the agent `agent_hash`: a node
/// must pin what it signs for, so that a changed file or a server handing out another one stops
/// it at start instead of making it sign another agent's outputs. Hence both or neither.
/// [`crate::agent::load_agent`] builds the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AgentFields")]
pub struct AgentSection {
    /// The Uniswap v2 router the agent trades through (part of its agent hash).
    pub router: alloy::primitives::Address,
    /// Where the large agent's model file is: a path, or an `http://` or `https://` URL it is
    /// downloaded from at start. Requires `agent_hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelSource>,
    /// The agent hash `model` must make with the reference parameters (`warden model inspect
    /// FILE --router ROUTER` prints it); the file is refused otherwise. Requires `model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_hash: Option<alloy::primitives::B256>,
}

impl AgentSection {
    /// The shipped reference agent trading through `router`.
    pub fn reference(router: alloy::primitives::Address) -> Self {
        Self {
            router,
            model: None,
            agent_hash: None,
        }
    }

    /// The model file and the agent hash it must make, or `None` for the reference agent. A
    /// model without its hash, or a hash without a model, is an error naming both keys.
    pub fn pinned_model(
        &self,
    ) -> Result<Option<(&ModelSource, alloy::primitives::B256)>, ConfigError> {
        match (&self.model, self.agent_hash) {
            (Some(model), Some(agent_hash)) => Ok(Some((model, agent_hash))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::Invalid {
                key: "agent.agent_hash",
                reason: "agent.model is set without agent.agent_hash: pin the hash of the agent \
                         the model makes (warden model inspect FILE --router ROUTER prints it)"
                    .into(),
            }),
            (None, Some(_)) => Err(ConfigError::Invalid {
                key: "agent.model",
                reason: "agent.agent_hash is set without agent.model: name the model file it \
                         pins (or remove both to run the reference agent)"
                    .into(),
            }),
        }
    }

    /// Checks that `model` and `agent_hash` come together; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.pinned_model().map(drop)
    }
}

/// `[agent]` as written, checked into an [`AgentSection`] when read, so that every service
/// refuses a half-pinned model however it validates the rest.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentFields {
    router: alloy::primitives::Address,
    #[serde(default)]
    model: Option<ModelSource>,
    #[serde(default)]
    agent_hash: Option<alloy::primitives::B256>,
}

impl TryFrom<AgentFields> for AgentSection {
    type Error = String;

    fn try_from(fields: AgentFields) -> Result<Self, String> {
        let section = Self {
            router: fields.router,
            model: fields.model,
            agent_hash: fields.agent_hash,
        };
        match section.validate() {
            Ok(()) => Ok(section),
            Err(ConfigError::Invalid { key, reason }) => Err(format!("{key}: {reason}")),
            Err(error) => Err(error.to_string()),
        }
    }
}

/// Where a model file comes from: a local path, or an `http(s)` URL it is downloaded from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelSource {
    Path(PathBuf),
    Url(Url),
}

impl std::str::FromStr for ModelSource {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("agent.model is empty: give a path or an http(s) URL".into());
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Url::parse(text)
                .map(Self::Url)
                .map_err(|error| format!("agent.model {text:?} is not a valid URL: {error}"));
        }
        // Anything else with a scheme would be read as a relative path and then reported missing,
        // which hides the actual mistake.
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "agent.model {text:?}: {scheme}:// is not supported; give a path or an http(s) URL"
            ));
        }
        Ok(Self::Path(PathBuf::from(text)))
    }
}

impl TryFrom<String> for ModelSource {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<ModelSource> for String {
    fn from(source: ModelSource) -> Self {
        source.to_string()
    }
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{}", path.display()),
            Self::Url(url) => write!(f, "{url}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        chain: ChainConfig,
        database: DatabaseConfig,
        #[serde(default)]
        ops: OpsConfig,
    }

    const SAMPLE: &str = r#"
        [chain]
        rpc_url = "http://127.0.0.1:8545"
        task_manager = "0x00000000000000000000000000000000000000aa"
        [database]
        url = "data/node.db"
    "#;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_file_with_defaults_reads_and_validates() {
        let (_dir, path) = write(SAMPLE);
        let config: Sample = load(Some(&path), "WARDEN_TEST_CONFIG_A_").unwrap();
        config.chain.validate().unwrap();
        config.database.validate().unwrap();
        assert_eq!(config.chain.poll_interval_ms, 1_000);
        assert_eq!(config.ops, OpsConfig::default());
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn the_environment_overrides_the_file() {
        let (_dir, path) = write(SAMPLE);
        figment::Jail::expect_with(|jail| {
            jail.set_env("WARDEN_TEST_CONFIG_B_DATABASE__URL", "postgres://db/warden");
            jail.set_env("WARDEN_TEST_CONFIG_B_CHAIN__POLL_INTERVAL_MS", "250");
            let config: Sample = load(Some(&path), "WARDEN_TEST_CONFIG_B_")
                .map_err(|e| figment::Error::from(e.to_string()))?;
            assert_eq!(config.database.url, "postgres://db/warden");
            assert_eq!(config.chain.poll_interval_ms, 250);
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_is_named() {
        let (_dir, path) = write(&format!("{SAMPLE}\n[ops]\nmetrics_port = 1\n"));
        let error = load::<Sample>(Some(&path), "WARDEN_TEST_CONFIG_C_").unwrap_err();
        assert!(error.to_string().contains("metrics_port"), "{error}");
    }

    #[test]
    fn a_bad_value_is_named() {
        let (_dir, path) = write(&SAMPLE.replace("http://127.0.0.1:8545", "not a url"));
        let error = load::<Sample>(Some(&path), "WARDEN_TEST_CONFIG_D_").unwrap_err();
        assert!(error.to_string().contains("rpc_url"), "{error}");
    }

    #[test]
    fn fallback_endpoints_follow_the_preferred_one_and_must_be_http() {
        let (_dir, path) = write(&SAMPLE.replace(
            "rpc_url = \"http://127.0.0.1:8545\"",
            "rpc_url = \"http://127.0.0.1:8545\"\nfallback_rpc_urls = [\"https://backup.invalid/key123\"]",
        ));
        let config: Sample = load(Some(&path), "WARDEN_TEST_CONFIG_F_").unwrap();
        config.chain.validate().unwrap();
        let endpoints: Vec<String> = config
            .chain
            .endpoints()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            endpoints,
            ["http://127.0.0.1:8545/", "https://backup.invalid/key123"]
        );
        let mut websocket = config.chain.clone();
        websocket.fallback_rpc_urls = vec!["ws://backup.invalid/key123".parse().unwrap()];
        let error = websocket.validate().unwrap_err().to_string();
        assert!(
            error.contains("chain.fallback_rpc_urls") && error.contains("entry 0"),
            "{error}"
        );
        assert!(
            !error.contains("key123"),
            "a provider's URL stays out of errors: {error}"
        );
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let error = load::<Sample>(Some(Path::new("/nonexistent/node.toml")), "X_").unwrap_err();
        assert!(matches!(error, ConfigError::Missing(_)), "{error}");
    }

    #[test]
    fn a_database_url_with_an_unknown_scheme_is_refused_naming_the_key() {
        for url in ["postgress://db/warden", "mysql://db/warden", ""] {
            let error = DatabaseConfig { url: url.into() }.validate().unwrap_err();
            assert!(
                matches!(
                    error,
                    ConfigError::Invalid {
                        key: "database.url",
                        ..
                    }
                ),
                "{url}: {error}"
            );
        }
        for url in ["data/node.db", "sqlite::memory:", "postgresql://db/warden"] {
            DatabaseConfig { url: url.into() }.validate().unwrap();
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WithAgent {
        agent: AgentSection,
    }

    const ROUTER: &str = "router = \"0x00000000000000000000000000000000000000bb\"";
    const HASH: &str =
        "agent_hash = \"0x1111111111111111111111111111111111111111111111111111111111111111\"";

    fn agent_section(lines: &[&str], prefix: &str) -> Result<AgentSection, ConfigError> {
        let (_dir, path) = write(&format!("[agent]\n{}\n", lines.join("\n")));
        load::<WithAgent>(Some(&path), prefix).map(|config| config.agent)
    }

    #[test]
    fn an_agent_section_names_the_reference_agent_or_a_pinned_model() {
        let reference = agent_section(&[ROUTER], "WARDEN_TEST_CONFIG_F_").unwrap();
        assert_eq!(
            reference,
            AgentSection::reference(alloy::primitives::Address::with_last_byte(0xbb))
        );
        assert_eq!(reference.pinned_model().unwrap(), None);

        let file = agent_section(
            &[ROUTER, "model = \"models/large.wnet\"", HASH],
            "WARDEN_TEST_CONFIG_G_",
        )
        .unwrap();
        let (model, hash) = file.pinned_model().unwrap().unwrap();
        assert_eq!(model, &ModelSource::Path("models/large.wnet".into()));
        assert_eq!(hash, alloy::primitives::B256::repeat_byte(0x11));

        let url = agent_section(
            &[
                ROUTER,
                "model = \"https://models.example/large.wnet\"",
                HASH,
            ],
            "WARDEN_TEST_CONFIG_H_",
        )
        .unwrap();
        let (model, _) = url.pinned_model().unwrap().unwrap();
        assert!(matches!(model, ModelSource::Url(url) if url.host_str() == Some("models.example")));
        assert_eq!(model.to_string(), "https://models.example/large.wnet");
        // What is written back out (the deployer writes services' configurations) reads the same.
        let written = serde_json::to_value(&url).unwrap();
        assert_eq!(written["model"], "https://models.example/large.wnet");
        assert_eq!(
            serde_json::from_value::<AgentSection>(written).unwrap(),
            url
        );
    }

    #[test]
    fn a_model_and_its_agent_hash_come_together() {
        let unpinned = agent_section(
            &[ROUTER, "model = \"models/large.wnet\""],
            "WARDEN_TEST_CONFIG_I_",
        )
        .unwrap_err()
        .to_string();
        assert!(
            unpinned.contains("agent.model") && unpinned.contains("agent.agent_hash"),
            "{unpinned}"
        );
        let orphan = agent_section(&[ROUTER, HASH], "WARDEN_TEST_CONFIG_J_")
            .unwrap_err()
            .to_string();
        assert!(
            orphan.contains("agent.model") && orphan.contains("agent.agent_hash"),
            "{orphan}"
        );
        // A section built in code is checked the same way, naming the key.
        let built = AgentSection {
            model: Some(ModelSource::Path("large.wnet".into())),
            ..AgentSection::reference(alloy::primitives::Address::repeat_byte(1))
        };
        assert!(matches!(
            built.validate().unwrap_err(),
            ConfigError::Invalid {
                key: "agent.agent_hash",
                ..
            }
        ));
    }

    #[test]
    fn a_model_source_is_a_path_or_an_http_url() {
        for (text, refusal) in [
            ("ftp://models.example/large.wnet", "ftp://"),
            ("file:///models/large.wnet", "file://"),
            ("", "empty"),
            ("https://", "not a valid URL"),
        ] {
            let error = text.parse::<ModelSource>().unwrap_err();
            assert!(error.contains(refusal), "{text:?}: {error}");
        }
        assert_eq!(
            "HTTP://models.example/m".parse::<ModelSource>().unwrap(),
            ModelSource::Url("http://models.example/m".parse().unwrap())
        );
        assert_eq!(
            "/var/lib/warden/large.wnet".parse::<ModelSource>().unwrap(),
            ModelSource::Path("/var/lib/warden/large.wnet".into())
        );
    }

    #[test]
    fn validation_names_the_key() {
        let (_dir, path) = write(&SAMPLE.replace("http://", "ws://"));
        let config: Sample = load(Some(&path), "WARDEN_TEST_CONFIG_E_").unwrap();
        let error = config.chain.validate().unwrap_err();
        assert!(error.to_string().contains("chain.rpc_url"), "{error}");
        let keys = warden_keys::KeysConfig {
            ecdsa_keystore: "/nonexistent/ecdsa.json".into(),
            bls_keystore: None,
            password_file: None,
        };
        let error = ConfigError::from(keys.validate(false).unwrap_err());
        assert!(error.to_string().contains("keys.ecdsa_keystore"), "{error}");
    }
}
