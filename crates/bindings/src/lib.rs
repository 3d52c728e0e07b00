//! Rust bindings for Warden's contracts and the EigenLayer contracts it deploys and calls.
//!
//! Warden's bindings are generated from the ABI and bytecode committed under `abi/`, exported from
//! forge's artifacts by `make abi`; `make test` fails when they no longer match the contracts, so a
//! contract change shows up here as a compile error, not as a silent mismatch at run time. EigenLayer's come from
//! `newton-utils`, which also ships the creation bytecode of the redistribution-era core the devnet
//! deploys (see [`eigenlayer`]).
#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::too_many_arguments
)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    WardenRegistry,
    "abi/WardenRegistry.json"
);

sol!(
    /// The ERC-20 functions Warden's commands use on any token (a vault's, a fee token).
    #[sol(rpc)]
    #[derive(Debug)]
    interface IERC20 {
        function balanceOf(address account) external view returns (uint256);
        function transfer(address to, uint256 amount) external returns (bool);
        function decimals() external view returns (uint8);
        function symbol() external view returns (string);
    }
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    StakeToken,
    "abi/StakeToken.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    OneToOneStrategy,
    "abi/OneToOneStrategy.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    DevnetPauserRegistry,
    "abi/DevnetPauserRegistry.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    ERC1967Proxy,
    "abi/ERC1967Proxy.json"
);

/// The task manager. Its ABI repeats the registry's `BLS` point structs, so it lives in its own
/// module: `task_manager::BLS::G1Point` is a distinct Rust type with the same conversions.
pub mod task_manager {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        WardenTaskManager,
        "abi/WardenTaskManager.json"
    );
}

pub use task_manager::WardenTaskManager;

/// Challenges, the bond and bounty pool, and slashing: the registry's slasher, created by the task
/// manager (`WardenTaskManager.challenges()`). Its ABI repeats the `BLS` structs, hence a module.
pub mod challenges {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        WardenChallenges,
        "abi/WardenChallenges.json"
    );
}

pub use challenges::WardenChallenges;

/// Restitution: the operator set's redistribution recipient, which repays robbed vaults from the
/// stake slashed for their tasks; created by the task manager (`WardenTaskManager.restitution()`).
pub mod restitution {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        WardenRestitution,
        "abi/WardenRestitution.json"
    );
}

pub use restitution::WardenRestitution;

/// Rewards: each committed task's fee, accrued to its signers once it can no longer be proved
/// fraudulent and paid through EigenLayer's RewardsCoordinator (the registry's rewards distributor).
pub mod rewards {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        WardenRewards,
        "abi/WardenRewards.json"
    );
}

pub use rewards::WardenRewards;

/// The reference agent's input source: a Uniswap v2 pair's observed prices and the snapshot every
/// task of an agent on that pair is opened on.
pub mod input_source {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        UniswapV2InputSource,
        "abi/UniswapV2InputSource.json"
    );
}

pub use input_source::UniswapV2InputSource;

pub mod core_release;
pub mod revert;
pub mod task_facts;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    WardenVault,
    "abi/WardenVault.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    DevnetToken,
    "abi/DevnetToken.json"
);

/// Uniswap v2, from the compiled artifacts its npm packages publish (the bytecode deployed on
/// mainnet: the router's hard-coded pair init-code hash matches the factory's pair).
pub mod uniswap {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        UniswapV2Factory,
        concat!(env!("OUT_DIR"), "/UniswapV2Factory.json")
    );

    sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        UniswapV2Pair,
        concat!(env!("OUT_DIR"), "/UniswapV2Pair.json")
    );

    sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        UniswapV2Router02,
        concat!(env!("OUT_DIR"), "/UniswapV2Router02.json")
    );

    sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        WETH9,
        concat!(env!("OUT_DIR"), "/WETH9.json")
    );
}

/// Contracts that exist only for tests.
#[cfg(feature = "test-harness")]
pub mod harness {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        DigestHarness,
        "abi/DigestHarness.json"
    );

    sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        MlpPolicyHarness,
        "abi/MlpPolicyHarness.json"
    );

    sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        WardenNetworkHarness,
        "abi/WardenNetworkHarness.json"
    );
}

/// EigenLayer core with redistributable operator sets (the ABI of v1.5 "Redistribution" and
/// later, with an ownerless AllocationManager and DelegationManager and without v1.9's one slasher
/// per set): bindings and creation bytecode (solc 0.8.27) from `newton-utils` 2.0.0, and a rewards-v2
/// RewardsCoordinator (solc 0.8.12) from the same crate. eigensdk 2.0.0 is no longer the source of
/// this bytecode; the operator's registration still sends its transactions through eigensdk's
/// `ELChainWriter`, whose selectors this core keeps.
pub mod eigenlayer {
    pub use newton_utils::rewardsv2::core::rewards_coordinator::{
        IRewardsCoordinator, RewardsCoordinator,
    };
    pub use newton_utils::slashing::core::allocation_manager::{
        AllocationManager, IAllocationManagerTypes,
    };
    pub use newton_utils::slashing::core::delegation_manager::{
        DelegationManager, IDelegationManagerTypes, ISignatureUtilsMixinTypes,
    };
    pub use newton_utils::slashing::core::eigen_pod_manager::EigenPodManager;
    pub use newton_utils::slashing::core::permission_controller::PermissionController;
    pub use newton_utils::slashing::core::strategy_manager::StrategyManager;

    /// The version string the deployment gives every core contract (`version()` returns it; the
    /// bytecode carries no version of its own, and newton-utils does not name the release it was
    /// built from). Its ABI is that of v1.5.0 "Redistribution" or later, before v1.9.0.
    pub const VERSION: &str = "v1.5+redistribution";

    /// Where the core's bytecode and bindings come from (the crate, at its pinned version).
    pub const BYTECODE_SOURCE: &str = "newton-utils 2.0.0";

    /// The eigensdk release whose `ELChainWriter` registers operators with this core.
    pub const EIGENSDK: &str = "eigensdk 2.0.0";

    #[cfg(test)]
    mod tests {
        /// The names above are what Cargo.lock pins: a version bump must update them.
        #[test]
        fn the_recorded_crate_versions_are_the_locked_ones() {
            let lock = include_str!("../../../Cargo.lock");
            for recorded in [super::BYTECODE_SOURCE, super::EIGENSDK] {
                let (name, version) = recorded.split_once(' ').unwrap_or_default();
                let entry = format!("name = \"{name}\"\nversion = \"{version}\"");
                assert!(lock.contains(&entry), "Cargo.lock does not pin {recorded}");
            }
        }
    }
}

/// Waiting for transactions, with a revert turned into an error.
pub mod tx {
    use std::time::Duration;

    use alloy::network::Ethereum;
    use alloy::primitives::TxHash;
    use alloy::providers::{PendingTransactionBuilder, PendingTransactionError, Provider};
    use alloy::rpc::types::TransactionReceipt;

    /// How long to wait for a receipt before giving up.
    pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);

    /// A transaction that did not succeed.
    #[derive(Debug, thiserror::Error)]
    pub enum TxError {
        /// The transaction was mined but reverted.
        #[error("transaction {hash} ({what}) reverted in block {block:?}")]
        Reverted {
            what: &'static str,
            hash: TxHash,
            block: Option<u64>,
        },
        /// No receipt arrived, or the RPC endpoint failed while waiting for it.
        #[error("waiting for transaction {hash} ({what}): {source}")]
        Pending {
            what: &'static str,
            hash: TxHash,
            #[source]
            source: PendingTransactionError,
        },
    }

    /// Waits for `pending` to be mined and requires it to have succeeded.
    pub async fn confirm(
        what: &'static str,
        pending: PendingTransactionBuilder<Ethereum>,
    ) -> Result<TransactionReceipt, TxError> {
        let hash = *pending.tx_hash();
        let receipt = pending
            .with_timeout(Some(RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .map_err(|source| TxError::Pending { what, hash, source })?;
        if !receipt.status() {
            return Err(TxError::Reverted {
                what,
                hash,
                block: receipt.block_number,
            });
        }
        Ok(receipt)
    }

    /// Like [`confirm`], for a transaction known only by its hash (sent by another library).
    pub async fn confirm_hash<P: Provider>(
        provider: &P,
        what: &'static str,
        hash: TxHash,
    ) -> Result<TransactionReceipt, TxError> {
        confirm(
            what,
            PendingTransactionBuilder::new(provider.root().clone(), hash),
        )
        .await
    }
}

/// EIP-2537 conversions for each contract module's copy of solady's `BLS` point structs.
macro_rules! eip2537_conversions {
    ($($bls:ident)::+) => {
        impl $($bls)::+::G1Point {
            /// The point from its 128-byte EIP-2537 encoding (no validation: the contract validates).
            pub fn from_eip2537(bytes: &[u8; 128]) -> Self {
                let word = |i: usize| alloy::primitives::B256::from_slice(&bytes[32 * i..32 * (i + 1)]);
                Self {
                    x_a: word(0),
                    x_b: word(1),
                    y_a: word(2),
                    y_b: word(3),
                }
            }

            /// The 128-byte EIP-2537 encoding.
            pub fn to_eip2537(&self) -> [u8; 128] {
                let mut out = [0u8; 128];
                for (i, word) in [self.x_a, self.x_b, self.y_a, self.y_b].iter().enumerate() {
                    out[32 * i..32 * (i + 1)].copy_from_slice(word.as_slice());
                }
                out
            }
        }

        impl $($bls)::+::G2Point {
            /// The point from its 256-byte EIP-2537 encoding (no validation: the contract validates).
            pub fn from_eip2537(bytes: &[u8; 256]) -> Self {
                let word = |i: usize| alloy::primitives::B256::from_slice(&bytes[32 * i..32 * (i + 1)]);
                Self {
                    x_c0_a: word(0),
                    x_c0_b: word(1),
                    x_c1_a: word(2),
                    x_c1_b: word(3),
                    y_c0_a: word(4),
                    y_c0_b: word(5),
                    y_c1_a: word(6),
                    y_c1_b: word(7),
                }
            }
        }
    };
}

eip2537_conversions!(BLS);
eip2537_conversions!(task_manager::BLS);
eip2537_conversions!(challenges::BLS);

// The reference agent's on-chain verifier (`contracts/src/agent/MlpAgentVerifier.sol`).
sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    MlpAgentVerifier,
    "abi/MlpAgentVerifier.json"
);

/// The reference agent's verifier factory (`contracts/src/agent/MlpVerifierFactory.sol`): the one
/// source of verifiers a task manager accepts. In a module of its own because its ABI repeats
/// `MlpPolicy.Params`, which the verifier's bindings already declare at the top level.
pub mod verifier_factory {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        MlpVerifierFactory,
        "abi/MlpVerifierFactory.json"
    );
}
pub use verifier_factory::MlpVerifierFactory;

/// A large agent's verifier (`contracts/src/agent/NetworkAgentVerifier.sol`): it holds a WNET
/// network's header and weights root and judges one step of a committed run. A module of its own for
/// the same reason as the factory's.
pub mod network_verifier {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        #[derive(Debug)]
        NetworkAgentVerifier,
        "abi/NetworkAgentVerifier.json"
    );
}
pub use network_verifier::NetworkAgentVerifier;
