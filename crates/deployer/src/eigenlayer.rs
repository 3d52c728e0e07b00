//! Deploys EigenLayer core with redistributable operator sets (the v1.5+ "Redistribution" ABI)
//! from the creation bytecode `newton-utils` ships, the way EigenLayer's own deployment scripts
//! wire it: implementations behind ERC-1967 proxies, with a pauser registry and a 1:1 deposit
//! strategy of our own (the crate ships neither) over the stake token the caller names: the devnet
//! restakes wrapped ether, the asset its agent's vault values stake in. A RewardsCoordinator (the
//! rewards-v2 release the same crate ships) sits beside it for operator-directed rewards.

use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use serde::{Deserialize, Serialize};
use warden_bindings::eigenlayer::{
    AllocationManager, DelegationManager, EigenPodManager, PermissionController,
    RewardsCoordinator, StrategyManager, VERSION,
};
use warden_bindings::{DevnetPauserRegistry, ERC1967Proxy, OneToOneStrategy};

use crate::DeployError;

/// Timing parameters of the EigenLayer deployment, in blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EigenLayerParams {
    /// `DelegationManager.MIN_WITHDRAWAL_DELAY`: how long queued withdrawals stay slashable. At
    /// least Warden's weight horizon (the registry refuses a longer horizon), so stake that counted
    /// cannot leave before a fraud it signed is slashed. EigenLayer's `slashOperator` underflows
    /// while `block.number <= MIN_WITHDRAWAL_DELAY`: the deployment mines past it.
    pub min_withdrawal_delay: u32,
    /// `AllocationManager.DEALLOCATION_DELAY`: how long a deallocated or deregistered operator
    /// stays slashable. Warden's windows must sit far inside it.
    pub deallocation_delay: u32,
    /// `AllocationManager.ALLOCATION_CONFIGURATION_DELAY`: blocks before an operator's
    /// allocation delay takes effect (and so before it can allocate).
    pub allocation_configuration_delay: u32,
    /// The RewardsCoordinator's immutables.
    pub rewards: RewardsParams,
}

/// The RewardsCoordinator's constructor parameters, in seconds (it works in timestamps, not
/// blocks). A rewards submission's start must be a multiple of the calculation interval, its
/// duration a multiple of it and at most `max_rewards_duration`; an operator-directed submission
/// must end before the block it is made in and start at or after the genesis and no more than
/// `max_retroactive_length` ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardsParams {
    /// `CALCULATION_INTERVAL_SECONDS`: a multiple of a day (the coordinator's snapshot cadence).
    pub calculation_interval_seconds: u32,
    pub max_rewards_duration: u32,
    pub max_retroactive_length: u32,
    pub max_future_length: u32,
    /// `GENESIS_REWARDS_TIMESTAMP`: a multiple of the calculation interval.
    pub genesis_rewards_timestamp: u32,
    /// Seconds before a submitted distribution root becomes claimable.
    pub activation_delay: u32,
    /// Operators' default share of the rewards paid through them to their stakers, in bips.
    pub default_operator_split_bips: u16,
}

impl Default for RewardsParams {
    /// Mainnet's values, but a one-hour activation delay (mainnet: a week).
    fn default() -> Self {
        const DAY: u32 = 86_400;
        Self {
            calculation_interval_seconds: DAY,
            max_rewards_duration: 70 * DAY,
            max_retroactive_length: 90 * DAY,
            max_future_length: 30 * DAY,
            // 2024-03-21 00:00 UTC, mainnet's genesis.
            genesis_rewards_timestamp: 1_710_979_200,
            activation_delay: 3_600,
            default_operator_split_bips: 1_000,
        }
    }
}

impl Default for EigenLayerParams {
    /// Mainnet's deallocation delay (100 800 blocks, about 14 days); a withdrawal delay equal to
    /// the registry's default weight horizon (mainnet's is 100 800 blocks too), and short delays
    /// where mainnet's would only make a devnet wait.
    fn default() -> Self {
        Self {
            min_withdrawal_delay: 300,
            deallocation_delay: 100_800,
            allocation_configuration_delay: 1,
            rewards: RewardsParams::default(),
        }
    }
}

/// Addresses of a deployed EigenLayer core (proxies where the contract is proxied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EigenLayerContracts {
    pub delegation_manager: Address,
    pub strategy_manager: Address,
    pub allocation_manager: Address,
    pub eigen_pod_manager: Address,
    pub permission_controller: Address,
    /// Operator-directed rewards (`createOperatorDirectedAVSRewardsSubmission`), behind a proxy.
    pub rewards_coordinator: Address,
    pub pauser_registry: Address,
    pub stake_token: Address,
    pub strategy: Address,
}

/// The EigenLayer release deployed.
pub const VERSION_LABEL: &str = warden_bindings::eigenlayer::VERSION;

/// The creation bytecode of each core contract, by name, as newton-utils ships it.
pub fn creation_bytecodes() -> [(&'static str, &'static Bytes); 6] {
    [
        ("RewardsCoordinator", &RewardsCoordinator::BYTECODE),
        ("DelegationManager", &DelegationManager::BYTECODE),
        ("StrategyManager", &StrategyManager::BYTECODE),
        ("AllocationManager", &AllocationManager::BYTECODE),
        ("EigenPodManager", &EigenPodManager::BYTECODE),
        ("PermissionController", &PermissionController::BYTECODE),
    ]
}

// The beacon chain does not exist on a devnet; EigenPodManager is deployed only because
// DelegationManager calls it on every operator registration.
const NO_ETH_POS: Address = Address::new([0xbe; 20]);
const NO_POD_BEACON: Address = Address::new([0xbf; 20]);
// The AllocationManager refuses the EIGEN strategy in redistributing operator sets; the devnet has
// no EIGEN token, so no strategy of its own is ever this one.
const NO_EIGEN_STRATEGY: Address = Address::new([0xe1; 20]);

/// Deploys EigenLayer core, owned (and paused/unpaused) by `owner`, the provider's signer.
pub async fn deploy<P: Provider + Clone>(
    provider: &P,
    owner: Address,
    params: EigenLayerParams,
    stake_token: Address,
) -> Result<EigenLayerContracts, DeployError> {
    let version = VERSION.to_string();
    let pauser = *DevnetPauserRegistry::deploy(provider.clone(), owner)
        .await?
        .address();
    let permission_controller = *PermissionController::deploy(provider.clone(), version.clone())
        .await?
        .address();

    // Implementations take each other's proxies as constructor arguments: predict the proxies'
    // addresses from the deployer's nonce (five implementations first, then the five proxies).
    let nonce = provider.get_transaction_count(owner).await?;
    let predicted = |offset: u64| owner.create(nonce + offset);
    let (delegation, strategy_manager, allocation_manager, eigen_pod_manager) =
        (predicted(5), predicted(6), predicted(7), predicted(8));
    let rewards_coordinator = predicted(9);

    let delegation_impl = DelegationManager::deploy(
        provider.clone(),
        strategy_manager,
        eigen_pod_manager,
        allocation_manager,
        pauser,
        permission_controller,
        params.min_withdrawal_delay,
        version.clone(),
    )
    .await?;
    let strategy_manager_impl = StrategyManager::deploy(
        provider.clone(),
        allocation_manager,
        delegation,
        pauser,
        version.clone(),
    )
    .await?;
    let allocation_manager_impl = AllocationManager::deploy(
        provider.clone(),
        delegation,
        NO_EIGEN_STRATEGY,
        pauser,
        permission_controller,
        params.deallocation_delay,
        params.allocation_configuration_delay,
        version.clone(),
    )
    .await?;
    let eigen_pod_manager_impl = EigenPodManager::deploy(
        provider.clone(),
        NO_ETH_POS,
        NO_POD_BEACON,
        delegation,
        pauser,
        version,
    )
    .await?;
    let rewards = params.rewards;
    let rewards_coordinator_impl = RewardsCoordinator::deploy(
        provider.clone(),
        delegation,
        strategy_manager,
        rewards.calculation_interval_seconds,
        rewards.max_rewards_duration,
        rewards.max_retroactive_length,
        rewards.max_future_length,
        rewards.genesis_rewards_timestamp,
    )
    .await?;

    // The AllocationManager and DelegationManager of this core have no owner; the others do.
    let unpaused = U256::ZERO;
    let proxies = [
        (
            *delegation_impl.address(),
            delegation_impl.initialize(unpaused).calldata().clone(),
            delegation,
        ),
        (
            *strategy_manager_impl.address(),
            strategy_manager_impl
                .initialize(owner, owner, unpaused)
                .calldata()
                .clone(),
            strategy_manager,
        ),
        (
            *allocation_manager_impl.address(),
            allocation_manager_impl
                .initialize(unpaused)
                .calldata()
                .clone(),
            allocation_manager,
        ),
        (
            *eigen_pod_manager_impl.address(),
            eigen_pod_manager_impl
                .initialize(owner, unpaused)
                .calldata()
                .clone(),
            eigen_pod_manager,
        ),
        (
            *rewards_coordinator_impl.address(),
            // The owner also submits distribution roots (the rewards updater).
            rewards_coordinator_impl
                .initialize(
                    owner,
                    pauser,
                    unpaused,
                    owner,
                    rewards.activation_delay,
                    rewards.default_operator_split_bips,
                )
                .calldata()
                .clone(),
            rewards_coordinator,
        ),
    ];
    for (implementation, init, expected) in proxies {
        let proxy = ERC1967Proxy::deploy(provider.clone(), implementation, init).await?;
        if *proxy.address() != expected {
            return Err(DeployError::AddressPrediction {
                expected,
                actual: *proxy.address(),
            });
        }
    }

    let strategy = *OneToOneStrategy::deploy(provider.clone(), strategy_manager, stake_token)
        .await?
        .address();
    StrategyManager::new(strategy_manager, provider.clone())
        .addStrategiesToDepositWhitelist(vec![strategy])
        .send()
        .await?
        .get_receipt()
        .await?;

    Ok(EigenLayerContracts {
        delegation_manager: delegation,
        strategy_manager,
        allocation_manager,
        eigen_pod_manager,
        permission_controller,
        rewards_coordinator,
        pauser_registry: pauser,
        stake_token,
        strategy,
    })
}
