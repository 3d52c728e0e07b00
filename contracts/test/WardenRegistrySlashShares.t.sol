// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OperatorSet} from "../src/interfaces/IEigenLayer.sol";
import {WardenRegistry} from "../src/WardenRegistry.sol";
import {RegistryFixture} from "./lib/RegistryFixture.sol";

struct QueuedWithdrawalParams {
    address[] strategies;
    uint256[] depositShares;
    address deprecatedWithdrawer;
}

/// @dev The EigenLayer call these tests make as a staker.
interface IDelegationManagerQueue {
    function queueWithdrawals(QueuedWithdrawalParams[] calldata params) external returns (bytes32[] memory);
}

/// @dev `WardenRegistry.slashOperator` returns EigenLayer's slash id and the shares EigenLayer took
/// (the operator's delegated shares and the slashable part of its queued withdrawals, zero when there
/// was nothing left), and Warden's set redistributes: clearing a slash in the StrategyManager pays the
/// slashed stake tokens to the recipient named at `configureAVS`, not to the burn address.
contract WardenRegistrySlashSharesTest is RegistryFixture {
    address internal constant SLASHER = address(0x51A5);
    address internal constant STRANGER = address(0x5757);

    function setUp() public {
        deployRegistry();
        registerTrio();
        registry.setSlasher(SLASHER);
    }

    function test_slashOperator_returnsSlashIdAndSharesTaken() public {
        vm.prank(SLASHER);
        (uint256 slashId, uint256 taken) = registry.slashOperator(BOB, 0.25e18, "a quarter");
        assertEq(slashId, 1, "EigenLayer counts slashes of the set from 1");
        assertEq(taken, 50 ether, "a quarter of 200");
        assertEq(operatorShares(BOB), 150 ether, "EigenLayer agrees");
        assertEq(_pending(slashId), 50 ether, "booked under the slash id");

        vm.prank(SLASHER);
        (slashId, taken) = registry.slashOperator(BOB, 1e18, "the rest");
        assertEq(slashId, 2, "the next slash");
        assertEq(taken, 150 ether, "the rest");
        assertEq(operatorShares(BOB), 0, "none left");
        assertEq(redistributableShares(address(registry)), 200 ether, "both slashes await clearing");
    }

    /// @dev A second full slash finds the allocation empty: EigenLayer does not revert, takes nothing,
    /// and the registry says so.
    function test_slashOperator_returnsZeroWhenNothingLeft() public {
        vm.prank(SLASHER);
        (, uint256 first) = registry.slashOperator(ALICE, 1e18, "all");
        assertEq(first, 100 ether, "first");
        vm.prank(SLASHER);
        (, uint256 again) = registry.slashOperator(ALICE, 1e18, "again");
        assertEq(again, 0, "nothing left");
        assertEq(redistributableShares(address(registry)), 100 ether, "redistributable unchanged");
    }

    /// @dev Shares in a queued withdrawal stay slashable for the withdrawal delay, and count in what the
    /// slash took even though they left the operator's delegated shares.
    function test_slashOperator_countsQueuedWithdrawals() public {
        QueuedWithdrawalParams[] memory params = new QueuedWithdrawalParams[](1);
        params[0].strategies = strategyList();
        params[0].depositShares = new uint256[](1);
        params[0].depositShares[0] = 120 ether;
        params[0].deprecatedWithdrawer = CAROL;
        vm.prank(CAROL);
        IDelegationManagerQueue(address(delegation)).queueWithdrawals(params);
        assertEq(operatorShares(CAROL), 180 ether, "120 queued");

        vm.prank(SLASHER);
        (uint256 slashId, uint256 taken) = registry.slashOperator(CAROL, 1e18, "queue too");
        assertEq(taken, 300 ether, "delegated and queued shares");
        assertEq(operatorShares(CAROL), 0, "delegated shares gone");
        assertEq(_pending(slashId), 300 ether, "all of it redistributable");
    }

    /// @dev Anyone clears a slash, in the block of the slash (this core has no delay before clearing):
    /// the stake token itself reaches the recipient, one for one with the shares the slash took.
    function test_clear_paysSlashedStakeToRecipient() public {
        vm.prank(SLASHER);
        (uint256 slashId, uint256 taken) = registry.slashOperator(BOB, 0.25e18, "a quarter");
        OperatorSet memory set = registry.operatorSet();
        uint256 supplyBefore = stakeToken.totalSupply();

        vm.prank(STRANGER);
        uint256[] memory amounts = strategyManager.clearBurnOrRedistributableShares(set, slashId);
        assertEq(amounts.length, 1, "one strategy");
        assertEq(amounts[0], taken, "paid out what the slash took");
        assertEq(stakeToken.balanceOf(REDISTRIBUTION_RECIPIENT), 50 ether, "the recipient holds the stake");
        assertEq(stakeToken.totalSupply(), supplyBefore, "nothing burned");
        assertEq(_pending(slashId), 0, "cleared");
        assertEq(strategyManager.getPendingSlashIds(set).length, 0, "no slash pending");

        // Clearing again pays nothing more.
        strategyManager.clearBurnOrRedistributableShares(set, slashId);
        assertEq(stakeToken.balanceOf(REDISTRIBUTION_RECIPIENT), 50 ether, "paid once");
    }

    /// @dev Queued withdrawals' slashed shares are paid out too, by strategy.
    function test_clearByStrategy_paysQueuedSharesToo() public {
        queueFullWithdrawal(CAROL, 120 ether);
        vm.prank(SLASHER);
        (uint256 slashId,) = registry.slashOperator(CAROL, 0.5e18, "half");
        vm.prank(STRANGER);
        uint256 amount = strategyManager.clearBurnOrRedistributableSharesByStrategy(
            registry.operatorSet(), slashId, address(strategy)
        );
        assertEq(amount, 150 ether, "half of 180 delegated and 120 queued");
        assertEq(stakeToken.balanceOf(REDISTRIBUTION_RECIPIENT), 150 ether, "received");
    }

    function test_configureAVS_createsRedistributingSet() public view {
        OperatorSet memory set = registry.operatorSet();
        assertEq(set.avs, address(registry), "avs");
        assertEq(set.id, registry.OPERATOR_SET_ID(), "id");
        assertTrue(allocationManager.isRedistributingOperatorSet(set), "redistributing");
        assertEq(allocationManager.getRedistributionRecipient(set), REDISTRIBUTION_RECIPIENT, "recipient");
        assertEq(registry.redistributionRecipient(), REDISTRIBUTION_RECIPIENT, "registry view");
        assertEq(registry.strategyManager(), address(strategyManager), "StrategyManager");
    }

    function test_revert_configureAVS_zeroRecipient() public {
        WardenRegistry other = new WardenRegistry(allocationManager, address(this), registryParams());
        vm.expectRevert(WardenRegistry.InvalidRedistributionRecipient.selector);
        other.configureAVS("https://warden.invalid/other.json", strategyList(), address(0));
    }

    function test_configureAVS_emitsRecipient() public {
        WardenRegistry other = new WardenRegistry(allocationManager, address(this), registryParams());
        address[] memory strategies = strategyList();
        vm.expectEmit(true, true, true, true, address(other));
        emit WardenRegistry.AVSConfigured("https://warden.invalid/other.json", strategies, STRANGER);
        other.configureAVS("https://warden.invalid/other.json", strategies, STRANGER);
        assertEq(other.redistributionRecipient(), STRANGER, "recipient");
    }

    function _pending(uint256 slashId) private view returns (uint256) {
        return
            strategyManager.getBurnOrRedistributableShares(registry.operatorSet(), slashId, address(strategy));
    }
}
