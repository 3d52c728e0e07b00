//! `warden-challenger run`'s configuration file. See `config/challenger.toml` for a documented
//! sample; every key can be overridden by `WARDEN_CHALLENGER_<SECTION>__<KEY>`.
//!
//! [`ServiceConfig::validate`] checks what can be checked without the chain. What only the
//! chain knows (each agent's windows, EigenLayer's deallocation delay) is checked at start-up by
//! [`crate::preflight`].

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use warden_runtime::config::{
    AgentSection, ConfigError, ServiceConfig, check_block_range, default_max_block_range,
    default_max_lag_blocks,
};

/// Environment variables overriding the file start with this.
pub const ENV_PREFIX: &str = <ChallengerConfig as ServiceConfig>::ENV_PREFIX;

/// The most operators one `slashSigners` batch may examine. Each signer costs about 312 000 gas
/// (EigenLayer's `slashOperator` about 281 000 of it), so a larger batch would not fit under the
/// 16.7 M gas cap on one transaction (EIP-7825).
pub const MAX_SLASH_BATCH: u64 = 40;

warden_runtime::service_config! {
    /// The whole configuration: `[chain]`, `[challenger]`, `[agent]`, `[database]`, `[ops]`,
    /// `[keys]` and `[transactions]`. A challenger signs transactions only, with its ECDSA key:
    /// a BLS keystore is refused.
    pub struct ChallengerConfig {
        pub challenger: WatchtowerConfig,
        pub agent: AgentSection,
    }
    name: "warden-challenger",
    env_prefix: "WARDEN_CHALLENGER_",
    bls_keystore: Refused,
    transactions: true,
    validate: ChallengerConfig::validate_challenger,
}

/// `[challenger]`: how the watchtower follows the chain and drives slashing. A key left out
/// takes its value from [`WatchtowerConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchtowerConfig {
    /// First block to judge on the very first start (later starts resume from the database).
    pub start_block: u64,
    /// Largest block range per `eth_getLogs` request.
    pub max_block_range: u64,
    /// Operators examined per `slashSigners` transaction; keeps each under the block gas limit.
    pub slash_batch: u64,
    /// Blocks behind the head after which the node reports itself syncing (HTTP 206). Also the
    /// lag the start-up check assumes the watchtower may fall behind by: it must be well inside
    /// every challenge window.
    pub max_lag_blocks: u64,
    /// The chain's block time in milliseconds, if known (12000 on Ethereum). With it, the start-up
    /// check also counts the poll interval, in blocks, against each challenge window.
    pub block_time_ms: Option<u64>,
}

impl Default for WatchtowerConfig {
    fn default() -> Self {
        Self {
            start_block: 0,
            max_block_range: default_max_block_range(),
            slash_batch: 25,
            max_lag_blocks: default_max_lag_blocks(),
            block_time_ms: None,
        }
    }
}

impl ChallengerConfig {
    /// The challenger's own checks; the common sections are checked by [`ServiceConfig`].
    fn validate_challenger(&self) -> Result<(), ConfigError> {
        let section = &self.challenger;
        check_block_range("challenger.max_block_range", section.max_block_range)?;
        if section.slash_batch == 0 || section.slash_batch > MAX_SLASH_BATCH {
            return invalid(
                "challenger.slash_batch",
                &format!(
                    "must be within 1..={MAX_SLASH_BATCH} (each operator costs about 312 000 gas)"
                ),
            );
        }
        if section.max_lag_blocks == 0 {
            return invalid("challenger.max_lag_blocks", "must be at least 1");
        }
        if section.block_time_ms == Some(0) {
            return invalid(
                "challenger.block_time_ms",
                "must be above zero (leave it out when unknown)",
            );
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

fn invalid(key: &'static str, reason: &str) -> Result<(), ConfigError> {
    Err(ConfigError::Invalid {
        key,
        reason: reason.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::path::{Path, PathBuf};

    use super::*;
    use warden_txm::TransactionsConfig;

    /// The documented sample, with its keystore paths pointed at files that exist.
    fn sample(dir: &Path) -> PathBuf {
        let sample = include_str!("../../config/challenger.toml");
        let keystore = dir.join("ecdsa.json");
        let password = dir.join("password");
        std::fs::write(&keystore, "{}").unwrap();
        std::fs::write(&password, "secret").unwrap();
        let text = sample
            .replace(
                "/etc/warden/challenger/ecdsa.json",
                &keystore.display().to_string(),
            )
            .replace(
                "/etc/warden/challenger/password",
                &password.display().to_string(),
            );
        assert_ne!(text, sample, "the sample's keystore paths moved");
        let path = dir.join("challenger.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Loads inside figment's jail, whose lock `the_environment_overrides_the_file` holds while
    /// it sets `WARDEN_CHALLENGER_*` variables: loaded concurrently, the process-wide overrides
    /// would leak into this test's configuration.
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn load_isolated(path: Option<&Path>) -> Result<ChallengerConfig, ConfigError> {
        let mut loaded = None;
        figment::Jail::expect_with(|_| {
            loaded = Some(ChallengerConfig::load(path));
            Ok(())
        });
        loaded.expect("the jail ran the closure")
    }

    #[test]
    fn the_documented_sample_loads_with_the_real_loader() {
        let dir = tempfile::tempdir().unwrap();
        let config = load_isolated(Some(&sample(dir.path()))).unwrap();
        assert_eq!(config.challenger.slash_batch, 25);
        assert_eq!(config.challenger.block_time_ms, Some(12_000));
        assert_eq!(config.keys.bls_keystore, None);
        assert_eq!(config.transactions, TransactionsConfig::default());
        assert!(config.database.url.starts_with("postgres://"));
    }

    #[test]
    fn a_round_trip_through_toml_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let config = load_isolated(Some(&sample(dir.path()))).unwrap();
        let text = toml::to_string(&config).unwrap();
        let path = dir.path().join("again.toml");
        std::fs::write(&path, text).unwrap();
        assert_eq!(load_isolated(Some(&path)).unwrap(), config);
    }

    #[test]
    fn invalid_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = load_isolated(Some(&sample(dir.path()))).unwrap();
        type Breakage = Box<dyn Fn(&mut ChallengerConfig)>;
        let cases: Vec<(&str, Breakage)> = vec![
            (
                "challenger.slash_batch",
                Box::new(|c| c.challenger.slash_batch = 0),
            ),
            (
                "challenger.slash_batch",
                Box::new(|c| c.challenger.slash_batch = MAX_SLASH_BATCH + 1),
            ),
            (
                "challenger.max_block_range",
                Box::new(|c| c.challenger.max_block_range = 0),
            ),
            (
                "challenger.max_lag_blocks",
                Box::new(|c| c.challenger.max_lag_blocks = 0),
            ),
            (
                "challenger.block_time_ms",
                Box::new(|c| c.challenger.block_time_ms = Some(0)),
            ),
            ("agent.router", Box::new(|c| c.agent.router = Address::ZERO)),
            (
                "chain.task_manager",
                Box::new(|c| c.chain.task_manager = Address::ZERO),
            ),
            (
                "keys.bls_keystore",
                Box::new(|c| c.keys.bls_keystore = Some("/etc/bls.json".into())),
            ),
            (
                "keys.ecdsa_keystore",
                Box::new(|c| c.keys.ecdsa_keystore = "/nonexistent/ecdsa.json".into()),
            ),
            (
                "transactions",
                Box::new(|c| c.transactions.bump_percent = 5),
            ),
            ("database.url", Box::new(|c| c.database.url = " ".into())),
        ];
        for (key, break_it) in cases {
            let mut config = good.clone();
            break_it(&mut config);
            let error = config.validate().unwrap_err().to_string();
            assert!(
                error.contains(key),
                "expected an error about {key}: {error}"
            );
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        figment::Jail::expect_with(|jail| {
            jail.set_env("WARDEN_CHALLENGER_CHALLENGER__SLASH_BATCH", "7");
            jail.set_env("WARDEN_CHALLENGER_DATABASE__URL", "/var/lib/warden/c.db");
            let config = ChallengerConfig::load(Some(&path))
                .map_err(|e| figment::Error::from(e.to_string()))?;
            assert_eq!(config.challenger.slash_batch, 7);
            assert_eq!(config.database.url, "/var/lib/warden/c.db");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("[challenger]", "[challenger]\npoll_secs = 2"),
        )
        .unwrap();
        let error = load_isolated(Some(&path)).unwrap_err().to_string();
        assert!(error.contains("poll_secs"), "{error}");
    }
}
