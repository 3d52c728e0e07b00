// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {RegistryFixture} from "./lib/RegistryFixture.sol";

struct QueuedWithdrawalParams {
    address[] strategies;
    uint256[] depositShares;
    address deprecatedWithdrawer;
}

/// @dev EigenLayer v1.3.0 calls these tests make as a staker and to read slashed shares.
interface IDelegationManagerQueue {
    function queueWithdrawals(QueuedWithdrawalParams[] calldata params) external returns (bytes32[] memory);
}

interface IStrategyManagerBurnable {
    function getBurnableShares(address strategy) external view returns (uint256);
}

/// @dev `WardenRegistry.slashOperator` returns the shares EigenLayer took, read from EigenLayer's own
/// books: the operator's delegated shares and the slashable part of its queued withdrawals, and zero
/// when there was nothing left to take.
contract WardenRegistrySlashSharesTest is RegistryFixture {
    address internal constant SLASHER = address(0x51A5);

    function setUp() public {
        deployRegistry();
        registerTrio();
        registry.setSlasher(SLASHER);
    }

    function test_slashOperator_returnsSharesTaken() public {
        vm.prank(SLASHER);
        uint256 taken = registry.slashOperator(BOB, 0.25e18, "a quarter");
        assertEq(taken, 50 ether, "a quarter of 200");
        assertEq(operatorShares(BOB), 150 ether, "EigenLayer agrees");
        assertEq(_burnable(), 50 ether, "burnable shares");

        vm.prank(SLASHER);
        taken = registry.slashOperator(BOB, 1e18, "the rest");
        assertEq(taken, 150 ether, "the rest");
        assertEq(operatorShares(BOB), 0, "none left");
    }

    /// @dev A second full slash finds the allocation empty: EigenLayer does not revert, takes nothing,
    /// and the registry says so.
    function test_slashOperator_returnsZeroWhenNothingLeft() public {
        vm.prank(SLASHER);
        assertEq(registry.slashOperator(ALICE, 1e18, "all"), 100 ether, "first");
        vm.prank(SLASHER);
        assertEq(registry.slashOperator(ALICE, 1e18, "again"), 0, "nothing left");
        assertEq(_burnable(), 100 ether, "burnable unchanged");
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
        uint256 taken = registry.slashOperator(CAROL, 1e18, "queue too");
        assertEq(taken, 300 ether, "delegated and queued shares");
        assertEq(operatorShares(CAROL), 0, "delegated shares gone");
    }

    function _burnable() private view returns (uint256) {
        return IStrategyManagerBurnable(address(strategyManager)).getBurnableShares(address(strategy));
    }
}
