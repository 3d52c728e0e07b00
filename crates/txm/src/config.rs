//! How patient the manager is, how hard it pushes fees, and how it treats a flaky RPC endpoint.

use std::time::Duration;

use crate::TxError;
use crate::gas::PaddedGasFiller;

/// The least fee increase, in percent, that nodes accept for a replacement of a pending
/// transaction: geth's, reth's and anvil's default price bump. A smaller bump is refused as
/// "replacement transaction underpriced" and buys nothing.
pub const MIN_BUMP_PERCENT: u64 = 10;

/// Settings of a [`TxManager`](crate::TxManager). Every field is public; start from
/// [`TxManagerConfig::default`] and change what a deployment needs.
#[derive(Debug, Clone)]
pub struct TxManagerConfig {
    /// How often a waiting call asks the node for receipts (of every recorded version) and for
    /// the key's mined nonce.
    pub poll_interval: Duration,
    /// How long a transaction may stay unmined after its last broadcast before it is re-signed
    /// with higher fees (or, at the fee cap, broadcast again as it is).
    pub bump_after: Duration,
    /// How much each bump raises both EIP-1559 fees, in percent. At least
    /// [`MIN_BUMP_PERCENT`], or nodes refuse the replacement.
    pub bump_percent: u64,
    /// The highest `maxFeePerGas` the manager ever signs, in wei: a bound on what one stuck
    /// transaction can cost while the manager keeps outbidding. Once a bump would pass it the
    /// transaction is re-broadcast at the cap and a warning logged on every further attempt.
    pub max_fee_per_gas_cap: u128,
    /// How long one `send`/`wait` call waits for a receipt before it gives up with
    /// [`TxError::Timeout`]. The record stays pending: [`TxManager::resume`](crate::TxManager::resume)
    /// or a later `wait` picks it up again.
    pub receipt_timeout: Duration,
    /// How many times an RPC call is made before a transport failure (connection refused, no
    /// response in [`rpc_timeout`](Self::rpc_timeout), HTTP 5xx/408/429, a rate-limit error
    /// response) is returned as [`TxError::Rpc`]. At least 1.
    pub rpc_attempts: u32,
    /// The pause before the first retry; it doubles with every further retry.
    pub rpc_backoff: Duration,
    /// The longest pause between two retries.
    pub rpc_backoff_max: Duration,
    /// How long one RPC attempt may take. HTTP clients wait forever by default, and a hung
    /// request would otherwise stall a wait past its own timeout.
    pub rpc_timeout: Duration,
    /// Headroom over `eth_estimateGas` for requests without a gas limit (see
    /// [`crate::gas`] for why a tight limit is dangerous).
    pub gas_padding: PaddedGasFiller,
    /// How many blocks must hold a transaction (its own included) before a wait reports it
    /// mined: 1 takes the first receipt, as on a devnet; a public chain wants a few, so that a
    /// reorg of the last blocks cannot take back what the service acted on. Until then the
    /// transaction stays pending on record and is watched as one.
    pub confirmations: u64,
}

impl Default for TxManagerConfig {
    /// Values for an L1-like chain with 12-second blocks: poll every second, bump after about
    /// four blocks without a receipt, give up waiting after five minutes.
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            bump_after: Duration::from_secs(45),
            bump_percent: 20,
            // 500 gwei: far above a normal base fee, low enough to bound a runaway bump loop.
            max_fee_per_gas_cap: 500_000_000_000,
            receipt_timeout: Duration::from_secs(300),
            rpc_attempts: 5,
            rpc_backoff: Duration::from_millis(200),
            rpc_backoff_max: Duration::from_secs(5),
            rpc_timeout: Duration::from_secs(30),
            gas_padding: PaddedGasFiller::default(),
            confirmations: 1,
        }
    }
}

impl TxManagerConfig {
    /// Refuses settings the manager cannot work with: a bump nodes would refuse, no RPC
    /// attempt at all, zero intervals (a busy loop) or a zero fee cap.
    pub fn validate(&self) -> Result<(), TxError> {
        let invalid = |reason: String| Err(TxError::Config(reason));
        if self.bump_percent < MIN_BUMP_PERCENT {
            return invalid(format!(
                "bump_percent is {}, but nodes refuse replacements raising fees by less than {MIN_BUMP_PERCENT}%",
                self.bump_percent
            ));
        }
        if self.rpc_attempts == 0 {
            return invalid("rpc_attempts must be at least 1".to_string());
        }
        if self.max_fee_per_gas_cap == 0 {
            return invalid("max_fee_per_gas_cap must be above zero".to_string());
        }
        if self.confirmations == 0 {
            return invalid(
                "confirmations must be at least 1 (the block that holds the transaction)"
                    .to_string(),
            );
        }
        for (name, value) in [
            ("poll_interval", self.poll_interval),
            ("bump_after", self.bump_after),
            ("receipt_timeout", self.receipt_timeout),
            ("rpc_timeout", self.rpc_timeout),
        ] {
            if value.is_zero() {
                return invalid(format!("{name} must be above zero"));
            }
        }
        Ok(())
    }
}

/// The `[transactions]` section of a service's configuration file: the settings an operator of
/// the service tunes for their chain. Everything else keeps [`TxManagerConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionsConfig {
    /// Seconds without a receipt before a transaction is re-signed with higher fees.
    #[serde(default = "default_bump_after_secs")]
    pub bump_after_secs: u64,
    /// Percent each bump raises the fees by (at least 10).
    #[serde(default = "default_bump_percent")]
    pub bump_percent: u64,
    /// The highest `maxFeePerGas` ever signed, in gwei.
    #[serde(default = "default_max_fee_gwei")]
    pub max_fee_per_gas_gwei: u64,
    /// Seconds one wait for a receipt lasts before it is reported (the transaction stays on
    /// record and is waited for again).
    #[serde(default = "default_receipt_timeout_secs")]
    pub receipt_timeout_secs: u64,
    /// Milliseconds between receipt polls.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Blocks that must hold a transaction, its own included, before it counts as mined (1: the
    /// first receipt). Raise it on a public chain so that a reorg of the last blocks cannot take
    /// back a transaction the service already acted on.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
}

fn default_bump_after_secs() -> u64 {
    45
}
fn default_bump_percent() -> u64 {
    20
}
fn default_max_fee_gwei() -> u64 {
    500
}
fn default_receipt_timeout_secs() -> u64 {
    300
}
fn default_poll_ms() -> u64 {
    1_000
}
fn default_confirmations() -> u64 {
    1
}

impl Default for TransactionsConfig {
    fn default() -> Self {
        Self {
            bump_after_secs: default_bump_after_secs(),
            bump_percent: default_bump_percent(),
            max_fee_per_gas_gwei: default_max_fee_gwei(),
            receipt_timeout_secs: default_receipt_timeout_secs(),
            poll_interval_ms: default_poll_ms(),
            confirmations: default_confirmations(),
        }
    }
}

impl TransactionsConfig {
    /// The manager's settings, validated.
    pub fn manager_config(&self) -> Result<TxManagerConfig, TxError> {
        let config = TxManagerConfig {
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            bump_after: Duration::from_secs(self.bump_after_secs),
            bump_percent: self.bump_percent,
            max_fee_per_gas_cap: u128::from(self.max_fee_per_gas_gwei) * 1_000_000_000,
            receipt_timeout: Duration::from_secs(self.receipt_timeout_secs),
            confirmations: self.confirmations,
            ..TxManagerConfig::default()
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid() {
        assert!(TxManagerConfig::default().validate().is_ok());
        assert!(TransactionsConfig::default().manager_config().is_ok());
    }

    #[test]
    fn the_section_converts_and_validates() {
        let section = TransactionsConfig {
            bump_percent: 5,
            ..TransactionsConfig::default()
        };
        assert!(matches!(section.manager_config(), Err(TxError::Config(_))));
        let section = TransactionsConfig {
            max_fee_per_gas_gwei: 2,
            ..TransactionsConfig::default()
        };
        assert_eq!(
            section.manager_config().unwrap().max_fee_per_gas_cap,
            2_000_000_000
        );
        let deep = TransactionsConfig {
            confirmations: 12,
            ..TransactionsConfig::default()
        };
        assert_eq!(deep.manager_config().unwrap().confirmations, 12);
        let none = TransactionsConfig {
            confirmations: 0,
            ..TransactionsConfig::default()
        };
        match none.manager_config() {
            Err(TxError::Config(reason)) => assert!(reason.contains("confirmations"), "{reason}"),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn a_bump_nodes_refuse_is_invalid() {
        let config = TxManagerConfig {
            bump_percent: 9,
            ..TxManagerConfig::default()
        };
        assert!(matches!(config.validate(), Err(TxError::Config(_))));
    }

    #[test]
    fn zero_attempts_and_zero_intervals_are_invalid() {
        let no_attempts = TxManagerConfig {
            rpc_attempts: 0,
            ..TxManagerConfig::default()
        };
        assert!(no_attempts.validate().is_err());
        let busy = TxManagerConfig {
            poll_interval: Duration::ZERO,
            ..TxManagerConfig::default()
        };
        assert!(busy.validate().is_err());
    }
}
