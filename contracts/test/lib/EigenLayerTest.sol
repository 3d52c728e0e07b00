// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

import {IAllocationManager, OperatorSet} from "../../src/interfaces/IEigenLayer.sol";
import {DevnetPauserRegistry} from "../../src/devnet/DevnetPauserRegistry.sol";
import {OneToOneStrategy} from "../../src/devnet/OneToOneStrategy.sol";
import {TestToken} from "./TestToken.sol";
import {TestBase} from "./Vm.sol";

/// @dev EigenLayer core calls the tests make as operators and as the protocol owner (v1.5+ ABI).
interface IDelegationManagerTest {
    function registerAsOperator(address initDelegationApprover, uint32 allocationDelay, string calldata uri)
        external;
    function getOperatorShares(address operator, address[] calldata strategies)
        external
        view
        returns (uint256[] memory);
    function queueWithdrawals(QueuedWithdrawalParams[] calldata params) external returns (bytes32[] memory);
    function completeQueuedWithdrawal(
        Withdrawal calldata withdrawal,
        address[] calldata tokens,
        bool receiveAsTokens
    ) external;
    function getQueuedWithdrawals(address staker)
        external
        view
        returns (Withdrawal[] memory withdrawals, uint256[][] memory shares);
    function getSlashableSharesInQueue(address operator, address strategy) external view returns (uint256);
    function minWithdrawalDelayBlocks() external view returns (uint32);
}

/// @dev EigenLayer `IAllocationManagerTypes.Allocation`: a pending change applies at `effectBlock`.
struct Allocation {
    uint64 currentMagnitude;
    int128 pendingDiff;
    uint32 effectBlock;
}

/// @dev EigenLayer `IDelegationManagerTypes.QueuedWithdrawalParams`.
struct QueuedWithdrawalParams {
    address[] strategies;
    uint256[] depositShares;
    address deprecatedWithdrawer;
}

/// @dev EigenLayer `IDelegationManagerTypes.Withdrawal`.
struct Withdrawal {
    address staker;
    address delegatedTo;
    address withdrawer;
    uint256 nonce;
    uint32 startBlock;
    address[] strategies;
    uint256[] scaledShares;
}

interface IStrategyManagerTest {
    function initialize(address owner, address strategyWhitelister, uint256 pausedStatus) external;
    function addStrategiesToDepositWhitelist(address[] calldata strategies) external;
    function depositIntoStrategy(address strategy, address token, uint256 amount) external returns (uint256);
    function stakerDepositShares(address staker, address strategy) external view returns (uint256);
    function getBurnOrRedistributableShares(
        OperatorSet calldata operatorSet,
        uint256 slashId,
        address strategy
    ) external view returns (uint256);
    function getPendingSlashIds(OperatorSet calldata operatorSet) external view returns (uint256[] memory);
    function clearBurnOrRedistributableShares(OperatorSet calldata operatorSet, uint256 slashId)
        external
        returns (uint256[] memory);
    function clearBurnOrRedistributableSharesByStrategy(
        OperatorSet calldata operatorSet,
        uint256 slashId,
        address strategy
    ) external returns (uint256);
}

struct AllocateParams {
    OperatorSet operatorSet;
    address[] strategies;
    uint64[] newMagnitudes;
}

struct RegisterParams {
    address avs;
    uint32[] operatorSetIds;
    bytes data;
}

interface IAllocationManagerTest is IAllocationManager {
    function modifyAllocations(address operator, AllocateParams[] calldata params) external;
    function registerForOperatorSets(address operator, RegisterParams calldata params) external;
    function getAllocation(address operator, OperatorSet calldata operatorSet, address strategy)
        external
        view
        returns (Allocation memory);
    function getMaxMagnitude(address operator, address strategy) external view returns (uint64);
    function isOperatorSlashable(address operator, OperatorSet calldata operatorSet)
        external
        view
        returns (bool);
    function getSlashCount(OperatorSet calldata operatorSet) external view returns (uint256);
}

interface IOwnableInitialize {
    function initialize(address owner, uint256 pausedStatus) external;
}

/// @dev The AllocationManager and DelegationManager of this core have no owner.
interface IOwnerlessInitialize {
    function initialize(uint256 pausedStatus) external;
}

/// @dev The rewards-v2 RewardsCoordinator's initializer.
interface IRewardsCoordinatorInitialize {
    function initialize(
        address owner,
        address pauserRegistry,
        uint256 pausedStatus,
        address rewardsUpdater,
        uint32 activationDelay,
        uint16 defaultSplitBips
    ) external;
}

/// @dev Deploys the real EigenLayer core with redistributable operator sets and a rewards-v2
/// RewardsCoordinator, from the creation bytecode newton-utils ships (exported by
/// `warden eigenlayer-artifacts contracts/eigenlayer-artifacts`), behind OpenZeppelin proxies,
/// with a devnet pauser registry, stake token and 1:1 strategy. The stake token
/// is freely mintable, so a fixture can also make it the base token of a market (Warden requires the
/// stake to be held in the agent's base token).
abstract contract EigenLayerTest is TestBase {
    string internal constant VERSION = "v1.5+redistribution";
    /// @dev A realistic ratio to Warden's windows: at least the registry's weight horizon, as the
    /// registry requires (mainnet: 100 800 blocks, like the deallocation delay).
    uint32 internal constant MIN_WITHDRAWAL_DELAY = 300;
    uint32 internal constant DEALLOCATION_DELAY = 100_800;
    uint32 internal constant ALLOCATION_CONFIGURATION_DELAY = 1;
    uint64 internal constant WAD = 1e18;
    /// @dev The RewardsCoordinator's immutables: mainnet's (a day's interval, 70-day submissions at
    /// most, 90 days retroactive, 30 days ahead, genesis 2024-03-21 00:00 UTC).
    uint32 internal constant CALCULATION_INTERVAL = 1 days;
    uint32 internal constant MAX_REWARDS_DURATION = 70 days;
    uint32 internal constant MAX_RETROACTIVE_LENGTH = 90 days;
    uint32 internal constant MAX_FUTURE_LENGTH = 30 days;
    uint32 internal constant GENESIS_REWARDS_TIMESTAMP = 1_710_979_200;
    /// @dev No EIGEN on a test chain; the AllocationManager keeps it out of redistributing sets.
    address internal constant NO_EIGEN_STRATEGY = address(0xE1E1);

    IDelegationManagerTest internal delegation;
    IStrategyManagerTest internal strategyManager;
    IAllocationManagerTest internal allocationManager;
    address internal permissionController;
    address internal rewardsCoordinator;
    TestToken internal stakeToken;
    OneToOneStrategy internal strategy;

    error DeploymentFailed(string name);

    function deployEigenLayer() internal {
        // slashOperator underflows while block.number <= MIN_WITHDRAWAL_DELAY.
        vm.roll(MIN_WITHDRAWAL_DELAY + 100);
        DevnetPauserRegistry pauser = new DevnetPauserRegistry(address(this));
        permissionController = _deploy("PermissionController", abi.encode(VERSION));

        // Implementations reference each other's proxies: predict the proxies' addresses from
        // this contract's nonce (five implementations, then the five proxies in the same order).
        uint256 nonce = vm.getNonce(address(this));
        address delegationProxy = vm.computeCreateAddress(address(this), nonce + 5);
        address strategyManagerProxy = vm.computeCreateAddress(address(this), nonce + 6);
        address allocationManagerProxy = vm.computeCreateAddress(address(this), nonce + 7);
        address eigenPodManagerProxy = vm.computeCreateAddress(address(this), nonce + 8);
        address rewardsCoordinatorProxy = vm.computeCreateAddress(address(this), nonce + 9);

        address delegationImpl = _deploy(
            "DelegationManager",
            abi.encode(
                strategyManagerProxy,
                eigenPodManagerProxy,
                allocationManagerProxy,
                address(pauser),
                permissionController,
                MIN_WITHDRAWAL_DELAY,
                VERSION
            )
        );
        address strategyManagerImpl = _deploy(
            "StrategyManager", abi.encode(allocationManagerProxy, delegationProxy, address(pauser), VERSION)
        );
        address allocationManagerImpl = _deploy(
            "AllocationManager",
            abi.encode(
                delegationProxy,
                NO_EIGEN_STRATEGY,
                address(pauser),
                permissionController,
                DEALLOCATION_DELAY,
                ALLOCATION_CONFIGURATION_DELAY,
                VERSION
            )
        );
        // No beacon chain on a devnet: EigenPodManager exists because DelegationManager calls it.
        address eigenPodManagerImpl = _deploy(
            "EigenPodManager",
            abi.encode(address(0xBEAC0), address(0xBEAC1), delegationProxy, address(pauser), VERSION)
        );
        address rewardsCoordinatorImpl = _deploy(
            "RewardsCoordinator",
            abi.encode(
                delegationProxy,
                strategyManagerProxy,
                CALCULATION_INTERVAL,
                MAX_REWARDS_DURATION,
                MAX_RETROACTIVE_LENGTH,
                MAX_FUTURE_LENGTH,
                GENESIS_REWARDS_TIMESTAMP
            )
        );

        address owner = address(this);
        _proxy(delegationImpl, abi.encodeCall(IOwnerlessInitialize.initialize, (0)), delegationProxy);
        _proxy(
            strategyManagerImpl,
            abi.encodeCall(IStrategyManagerTest.initialize, (owner, owner, 0)),
            strategyManagerProxy
        );
        _proxy(
            allocationManagerImpl,
            abi.encodeCall(IOwnerlessInitialize.initialize, (0)),
            allocationManagerProxy
        );
        _proxy(
            eigenPodManagerImpl,
            abi.encodeCall(IOwnableInitialize.initialize, (owner, 0)),
            eigenPodManagerProxy
        );
        _proxy(
            rewardsCoordinatorImpl,
            abi.encodeCall(
                IRewardsCoordinatorInitialize.initialize, (owner, address(pauser), 0, owner, 1 hours, 1000)
            ),
            rewardsCoordinatorProxy
        );
        rewardsCoordinator = rewardsCoordinatorProxy;

        delegation = IDelegationManagerTest(delegationProxy);
        strategyManager = IStrategyManagerTest(strategyManagerProxy);
        allocationManager = IAllocationManagerTest(allocationManagerProxy);

        stakeToken = new TestToken("Warden Test Stake", "wSTAKE");
        strategy = new OneToOneStrategy(strategyManagerProxy, stakeToken);
        address[] memory strategies = new address[](1);
        strategies[0] = address(strategy);
        strategyManager.addStrategiesToDepositWhitelist(strategies);
    }

    /// @dev Makes `operator` an EigenLayer operator with `stake` deposited into the strategy.
    function becomeOperatorWithStake(address operator, uint256 stake) internal {
        vm.prank(operator);
        delegation.registerAsOperator(address(0), 0, "");
        stakeToken.mint(operator, stake);
        vm.startPrank(operator);
        stakeToken.approve(address(strategyManager), stake);
        strategyManager.depositIntoStrategy(address(strategy), address(stakeToken), stake);
        vm.stopPrank();
    }

    /// @dev Allocates all of `operator`'s magnitude to the set. The operator's allocation delay
    /// must have taken effect (ALLOCATION_CONFIGURATION_DELAY + 1 blocks after registering).
    function allocateAll(address operator, address avs, uint32 operatorSetId) internal {
        AllocateParams[] memory params = new AllocateParams[](1);
        params[0].operatorSet = OperatorSet({avs: avs, id: operatorSetId});
        params[0].strategies = new address[](1);
        params[0].strategies[0] = address(strategy);
        params[0].newMagnitudes = new uint64[](1);
        params[0].newMagnitudes[0] = WAD;
        vm.prank(operator);
        allocationManager.modifyAllocations(operator, params);
    }

    /// @dev Sets `operator`'s allocation to the set to `magnitude` (of WAD). A decrease is a
    /// deallocation: it takes effect DEALLOCATION_DELAY + 1 blocks later.
    function setAllocation(address operator, address avs, uint32 operatorSetId, uint64 magnitude) internal {
        AllocateParams[] memory params = new AllocateParams[](1);
        params[0].operatorSet = OperatorSet({avs: avs, id: operatorSetId});
        params[0].strategies = strategyList();
        params[0].newMagnitudes = new uint64[](1);
        params[0].newMagnitudes[0] = magnitude;
        vm.prank(operator);
        allocationManager.modifyAllocations(operator, params);
    }

    /// @dev `staker` (an operator delegated to itself) queues the withdrawal of all its deposit shares.
    function queueFullWithdrawal(address staker, uint256 depositShares) internal {
        QueuedWithdrawalParams[] memory params = new QueuedWithdrawalParams[](1);
        params[0].strategies = strategyList();
        params[0].depositShares = new uint256[](1);
        params[0].depositShares[0] = depositShares;
        vm.prank(staker);
        delegation.queueWithdrawals(params);
    }

    /// @dev Completes `staker`'s oldest queued withdrawal as tokens; returns the tokens received.
    function completeWithdrawal(address staker) internal returns (uint256 received) {
        (Withdrawal[] memory withdrawals,) = delegation.getQueuedWithdrawals(staker);
        address[] memory tokens = new address[](1);
        tokens[0] = address(stakeToken);
        uint256 before = stakeToken.balanceOf(staker);
        vm.prank(staker);
        delegation.completeQueuedWithdrawal(withdrawals[0], tokens, true);
        received = stakeToken.balanceOf(staker) - before;
    }

    /// @dev `staker`'s queued withdrawals, as the shares each would pay out if completed now.
    function queuedShares(address staker) internal view returns (uint256 total) {
        (, uint256[][] memory shares) = delegation.getQueuedWithdrawals(staker);
        for (uint256 i; i < shares.length; ++i) {
            total += shares[i][0];
        }
    }

    /// @dev The deposit shares `queueWithdrawals` takes (they differ from shares once slashed).
    function depositSharesOf(address staker) internal view returns (uint256) {
        return strategyManager.stakerDepositShares(staker, address(strategy));
    }

    /// @dev Shares EigenLayer has taken by slashing `avs`'s operator set 0 so far and not yet paid out
    /// (summed over every slash id): what clearing the slashes would send to the set's recipient.
    function redistributableShares(address avs) internal view returns (uint256 total) {
        OperatorSet memory set = OperatorSet({avs: avs, id: 0});
        uint256 count = allocationManager.getSlashCount(set);
        for (uint256 slashId = 1; slashId <= count; ++slashId) {
            total += strategyManager.getBurnOrRedistributableShares(set, slashId, address(strategy));
        }
    }

    /// @dev Clears every pending slash of `avs`'s operator set 0 (permissionless) and returns the stake
    /// tokens `recipient` received.
    function clearAllSlashes(address avs, address recipient) internal returns (uint256 received) {
        OperatorSet memory set = OperatorSet({avs: avs, id: 0});
        uint256[] memory pending = strategyManager.getPendingSlashIds(set);
        uint256 before = stakeToken.balanceOf(recipient);
        for (uint256 i; i < pending.length; ++i) {
            strategyManager.clearBurnOrRedistributableShares(set, pending[i]);
        }
        received = stakeToken.balanceOf(recipient) - before;
    }

    function strategyList() internal view returns (address[] memory strategies) {
        strategies = new address[](1);
        strategies[0] = address(strategy);
    }

    function _deploy(string memory name, bytes memory constructorArgs) private returns (address deployed) {
        string memory path = string.concat(vm.projectRoot(), "/eigenlayer-artifacts/", name, ".hex");
        bytes memory initCode = bytes.concat(vm.parseBytes(vm.readFile(path)), constructorArgs);
        assembly ("memory-safe") {
            deployed := create(0, add(initCode, 0x20), mload(initCode))
        }
        if (deployed == address(0)) revert DeploymentFailed(name);
    }

    function _proxy(address implementation, bytes memory initData, address expected) private {
        address proxy = address(new ERC1967Proxy(implementation, initData));
        if (proxy != expected) revert DeploymentFailed("proxy address prediction");
    }
}
