// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {WardenRegistry} from "../src/WardenRegistry.sol";
import {OneToOneStrategy} from "../src/devnet/OneToOneStrategy.sol";
import {OperatorSet} from "../src/interfaces/IEigenLayer.sol";
import {AllocateParams} from "./lib/EigenLayerTest.sol";
import {RegistryFixture} from "./lib/RegistryFixture.sol";

/// @dev The registry's slasher: set once by the owner, the only caller of slashOperator, which has
/// the real EigenLayer core slash and then brings the operator's weight up to date.
contract WardenRegistrySlashingTest is RegistryFixture {
    address internal constant SLASHER = address(0x51A5);
    address internal constant STRANGER = address(0x5742);

    uint32 internal ref;

    function setUp() public {
        deployRegistry();
        ref = registerTrio();
    }

    // ------------------------------------------------------------------------------------------
    // setSlasher
    // ------------------------------------------------------------------------------------------

    function test_setSlasher() public {
        assertEq(registry.slasher(), address(0), "unset");
        vm.expectEmit(true, false, false, true, address(registry));
        emit WardenRegistry.SlasherSet(SLASHER);
        registry.setSlasher(SLASHER);
        assertEq(registry.slasher(), SLASHER, "set");
    }

    function test_revert_setSlasher_twice() public {
        registry.setSlasher(SLASHER);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.SlasherAlreadySet.selector, SLASHER));
        registry.setSlasher(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.SlasherAlreadySet.selector, SLASHER));
        registry.setSlasher(SLASHER);
    }

    function test_revert_setSlasher_zero() public {
        vm.expectRevert(WardenRegistry.InvalidSlasher.selector);
        registry.setSlasher(address(0));
    }

    function test_revert_setSlasher_notOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER));
        vm.prank(STRANGER);
        registry.setSlasher(STRANGER);
    }

    // ------------------------------------------------------------------------------------------
    // slashOperator
    // ------------------------------------------------------------------------------------------

    function test_slashOperator_allOfIt() public {
        registry.setSlasher(SLASHER);
        bytes32 id = registry.operatorIdOf(ALICE);
        vm.expectEmit(true, true, false, true, address(registry));
        emit WardenRegistry.OperatorSlashed(ALICE, id, 1, 1e18, 100 ether, "all of it");
        vm.prank(SLASHER);
        registry.slashOperator(ALICE, 1e18, "all of it");

        assertEq(slashableStake(ALICE), 0, "slashable stake");
        assertEq(operatorShares(ALICE), 0, "shares");
        // The weights are void until the next full refresh, which reads what is left.
        assertEq(registry.weightsRefreshedAt(uint32(block.number)), 0, "weights voided");
        vm.expectEmit(true, true, false, true, address(registry));
        emit WardenRegistry.OperatorWeightUpdated(ALICE, id, 100 ether, 0);
        registry.refreshWeights();
        assertEq(weightOf(ALICE), 0, "weight");
        (, uint96 total,) = registry.quorumAt(uint32(block.number));
        assertEq(total, 500 ether, "total weight");
        // The set as it was stays on record for tasks that reference it.
        (bool registered, uint96 weightThen) = registry.operatorAt(id, ref);
        assertTrue(registered && weightThen == 100 ether, "history kept");
        (, uint96 totalThen,) = registry.quorumAt(ref);
        assertEq(totalThen, 600 ether, "total then");
        assertEq(operatorShares(BOB), 200 ether, "others untouched");
    }

    function test_slashOperator_part() public {
        registry.setSlasher(SLASHER);
        vm.prank(SLASHER);
        registry.slashOperator(BOB, 0.25e18, "a quarter");
        uint256 left = slashableStake(BOB);
        assertEq(left, 150 ether, "three quarters left");
        registry.refreshWeights();
        assertEq(weightOf(BOB), left, "weight follows EigenLayer");
        (, uint96 total,) = registry.quorumAt(uint32(block.number));
        assertEq(total, 550 ether, "total weight");
    }

    /// @dev An operator that left the set is still slashable for EigenLayer's deallocation delay; its
    /// weight here is already zero and stays so.
    function test_slashOperator_afterDeregistration() public {
        registry.setSlasher(SLASHER);
        deregister(CAROL);
        vm.roll(block.number + 10);
        vm.prank(SLASHER);
        registry.slashOperator(CAROL, 1e18, "left too late");
        assertEq(operatorShares(CAROL), 0, "slashed");
        assertEq(weightOf(CAROL), 0, "no weight");
        (bool registered,) = registry.operatorAt(registry.operatorIdOf(CAROL), uint32(block.number));
        assertTrue(!registered, "still out of the set");
    }

    function test_revert_slashOperator_notSlasher() public {
        registry.setSlasher(SLASHER);
        // Not even the owner.
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NotSlasher.selector, address(this)));
        registry.slashOperator(ALICE, 1e18, "");
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NotSlasher.selector, STRANGER));
        vm.prank(STRANGER);
        registry.slashOperator(ALICE, 1e18, "");
    }

    /// @dev With no slasher set nobody can slash, the zero address included in spirit: a call
    /// from any account is refused.
    function test_revert_slashOperator_noSlasherSet() public {
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NotSlasher.selector, STRANGER));
        vm.prank(STRANGER);
        registry.slashOperator(ALICE, 1e18, "");
    }

    function test_revert_slashOperator_unknownOperator() public {
        registry.setSlasher(SLASHER);
        // Dave is an EigenLayer operator allocated to the set but never registered with Warden.
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.UnknownOperator.selector, DAVE));
        vm.prank(SLASHER);
        registry.slashOperator(DAVE, 1e18, "");
    }

    /// @dev EigenLayer's own checks stand: a zero or over-full fraction is refused.
    function test_revert_slashOperator_invalidWad() public {
        registry.setSlasher(SLASHER);
        vm.startPrank(SLASHER);
        vm.expectRevert(abi.encodeWithSignature("InvalidWadToSlash()"));
        registry.slashOperator(ALICE, 0, "");
        vm.expectRevert(abi.encodeWithSignature("InvalidWadToSlash()"));
        registry.slashOperator(ALICE, 1e18 + 1, "");
        vm.stopPrank();
    }

    // ------------------------------------------------------------------------------------------
    // Several strategies
    // ------------------------------------------------------------------------------------------

    function test_strategies() public view {
        address[] memory strategies = registry.strategies();
        assertEq(strategies.length, 1, "one strategy");
        assertEq(strategies[0], address(strategy), "the fixture's");
    }

    /// @dev A set created with its strategies in descending address order: EigenLayer keeps that
    /// order, requires ascending order for a slash, and the registry sorts.
    function test_slashOperator_sortsStrategies() public {
        OneToOneStrategy second = new OneToOneStrategy(address(strategyManager), stakeToken);
        address[] memory whitelist = new address[](1);
        whitelist[0] = address(second);
        strategyManager.addStrategiesToDepositWhitelist(whitelist);
        address[] memory descending = new address[](2);
        (descending[0], descending[1]) = address(second) > address(strategy)
            ? (address(second), address(strategy))
            : (address(strategy), address(second));

        registry = new WardenRegistry(allocationManager, address(this), registryParams());
        registry.configureAVS("https://warden.invalid/two.json", descending, REDISTRIBUTION_RECIPIENT);
        address[] memory inSet = registry.strategies();
        assertTrue(inSet[0] == descending[0] && inSet[1] == descending[1], "set keeps descending order");

        address operator = address(0x0E7A);
        becomeOperatorWithStake(operator, 100 ether);
        stakeToken.mint(operator, 50 ether);
        vm.startPrank(operator);
        stakeToken.approve(address(strategyManager), 50 ether);
        strategyManager.depositIntoStrategy(address(second), address(stakeToken), 50 ether);
        vm.stopPrank();
        vm.roll(block.number + ALLOCATION_CONFIGURATION_DELAY + 1);
        AllocateParams[] memory params = new AllocateParams[](1);
        params[0].operatorSet = OperatorSet({avs: address(registry), id: 0});
        params[0].strategies = descending;
        params[0].newMagnitudes = new uint64[](2);
        params[0].newMagnitudes[0] = WAD;
        params[0].newMagnitudes[1] = WAD;
        vm.prank(operator);
        allocationManager.modifyAllocations(operator, params);
        register(operator, secretKeyOf(77));
        assertEq(weightOf(operator), 150 ether, "weight over both strategies");

        registry.setSlasher(SLASHER);
        vm.prank(SLASHER);
        registry.slashOperator(operator, 1e18, "both strategies");
        uint256[][] memory left = allocationManager.getMinimumSlashableStake(
            OperatorSet({avs: address(registry), id: 0}), list(operator), descending, uint32(block.number)
        );
        assertEq(left[0][0] + left[0][1], 0, "both slashed");
        registry.refreshWeights();
        assertEq(weightOf(operator), 0, "weight");
    }
}
