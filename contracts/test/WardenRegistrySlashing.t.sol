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
        emit WardenRegistry.OperatorSlashed(ALICE, id, 1, 1e18, 100 ether);
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
    // slashOperatorAt
    // ------------------------------------------------------------------------------------------

    function test_slashOperatorAt_slashesAMemberAndNamesIt() public {
        registry.setSlasher(SLASHER);
        bytes32 id = registry.operatorIdOf(BOB);
        uint256 index = _indexOf(id);
        vm.roll(block.number + 1);
        vm.expectEmit(true, true, false, true, address(registry));
        emit WardenRegistry.OperatorSlashed(BOB, id, 1, 1e18, 200 ether);
        vm.prank(SLASHER);
        (bytes32 operatorId, address operator, bool member, uint256 slashId, uint256 shares) =
            registry.slashOperatorAt(index, ref, 1e18, "fraud");
        assertEq(operatorId, id, "id");
        assertEq(operator, BOB, "address");
        assertTrue(member, "member at the reference block");
        assertEq(slashId, 1, "EigenLayer's first slash id");
        assertEq(shares, 200 ether, "shares");
        assertEq(slashableStake(BOB), 0, "slashed");
        assertEq(registry.lastSlashedAt(BOB), block.number, "recorded");
        assertEq(registry.weightsRefreshedAt(uint32(block.number)), 0, "weights voided");
    }

    /// @dev Attack: the slasher reaching, through an index, an operator that was not in the set at the
    /// task's reference block (it joined later). The registry checks membership itself: nothing is
    /// slashed and the caller learns it was no member.
    function test_attack_slashOperatorAt_operatorThatJoinedAfterTheReferenceBlock() public {
        registry.setSlasher(SLASHER);
        vm.roll(block.number + 1);
        register(DAVE, skOf(DAVE));
        uint256 index = _indexOf(registry.operatorIdOf(DAVE));
        uint256 stake = slashableStake(DAVE);
        assertTrue(stake > 0, "dave has stake");
        vm.recordLogs();
        vm.prank(SLASHER);
        (, address operator, bool member, uint256 slashId, uint256 shares) =
            registry.slashOperatorAt(index, ref, 1e18, "fraud");
        assertEq(operator, DAVE, "names the operator");
        assertTrue(!member && slashId == 0 && shares == 0, "no member then, no slash");
        assertEq(slashableStake(DAVE), stake, "stake untouched");
        assertEq(vm.getRecordedLogs().length, 0, "no event");
        assertEq(registry.lastSlashedAt(DAVE), 0, "never slashed");
    }

    /// @dev Attack: an operator that left the set before the reference block is out of reach too.
    function test_attack_slashOperatorAt_operatorThatLeftBeforeTheReferenceBlock() public {
        registry.setSlasher(SLASHER);
        deregister(CAROL);
        vm.roll(block.number + 1);
        uint32 afterLeaving = uint32(block.number - 1);
        uint256 index = _indexOf(registry.operatorIdOf(CAROL));
        vm.prank(SLASHER);
        (,, bool member,,) = registry.slashOperatorAt(index, afterLeaving, 1e18, "fraud");
        assertTrue(!member, "not a member then");
        assertTrue(operatorShares(CAROL) > 0, "shares untouched");
    }

    /// @dev Attack: anyone but the slasher, the owner included, slashing through the index entry.
    function test_attack_slashOperatorAt_byAnyoneButTheSlasher() public {
        registry.setSlasher(SLASHER);
        vm.roll(block.number + 1);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NotSlasher.selector, address(this)));
        registry.slashOperatorAt(0, ref, 1e18, "");
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NotSlasher.selector, STRANGER));
        vm.prank(STRANGER);
        registry.slashOperatorAt(0, ref, 1e18, "");
        assertTrue(slashableStake(ALICE) > 0, "untouched");
    }

    function test_revert_slashOperatorAt_indexPastTheEnd() public {
        registry.setSlasher(SLASHER);
        uint256 count = registry.operatorIdCount();
        vm.expectRevert();
        vm.prank(SLASHER);
        registry.slashOperatorAt(count, ref, 1e18, "");
    }

    function _indexOf(bytes32 id) private view returns (uint256) {
        uint256 count = registry.operatorIdCount();
        for (uint256 i; i < count; ++i) {
            if (registry.operatorIds(i) == id) return i;
        }
        revert("no such id");
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
        (address[] memory descending, address[] memory operators) = _twoStrategySet(1);
        vm.prank(SLASHER);
        registry.slashOperator(operators[0], 1e18, "both strategies");
        assertEq(_slashableInBoth(descending, operators[0]), 0, "both slashed");
        registry.refreshWeights();
        assertEq(weightOf(operators[0]), 0, "weight");
    }

    /// @dev Slashes in one transaction read the set's strategies from EigenLayer once and keep them in
    /// transient storage: each of them still takes every strategy, in the order EigenLayer requires.
    function test_slashOperatorAt_severalInOneTransaction_everyStrategy() public {
        (address[] memory descending, address[] memory operators) = _twoStrategySet(3);
        uint32 referenceBlock = uint32(block.number);
        vm.roll(block.number + 1);
        uint256 first = registry.operatorIdCount() - operators.length;
        vm.startPrank(SLASHER);
        for (uint256 i; i < operators.length; ++i) {
            (, address operator, bool member,, uint256 shares) =
                registry.slashOperatorAt(first + i, referenceBlock, 1e18, "both strategies");
            assertTrue(member, "member");
            assertEq(operator, operators[i], "the operator at the index");
            assertEq(shares, 150 ether, "shares of both strategies");
        }
        vm.stopPrank();
        for (uint256 i; i < operators.length; ++i) {
            assertEq(_slashableInBoth(descending, operators[i]), 0, "both slashed");
        }
    }

    /// @dev A set over two strategies, created with them in descending address order, and `count`
    /// operators each with 100 ether in one and 50 in the other; the slasher is set.
    function _twoStrategySet(uint256 count)
        private
        returns (address[] memory descending, address[] memory operators)
    {
        OneToOneStrategy second = new OneToOneStrategy(address(strategyManager), stakeToken);
        address[] memory whitelist = new address[](1);
        whitelist[0] = address(second);
        strategyManager.addStrategiesToDepositWhitelist(whitelist);
        descending = new address[](2);
        (descending[0], descending[1]) = address(second) > address(strategy)
            ? (address(second), address(strategy))
            : (address(strategy), address(second));

        registry = new WardenRegistry(allocationManager, address(this), registryParams());
        registry.configureAVS("https://warden.invalid/two.json", descending, REDISTRIBUTION_RECIPIENT);
        address[] memory inSet = registry.strategies();
        assertTrue(inSet[0] == descending[0] && inSet[1] == descending[1], "set keeps descending order");

        operators = new address[](count);
        for (uint256 i; i < count; ++i) {
            operators[i] = address(uint160(0x0E7A + i));
            becomeOperatorWithStake(operators[i], 100 ether);
            stakeToken.mint(operators[i], 50 ether);
            vm.startPrank(operators[i]);
            stakeToken.approve(address(strategyManager), 50 ether);
            strategyManager.depositIntoStrategy(address(second), address(stakeToken), 50 ether);
            vm.stopPrank();
        }
        vm.roll(block.number + ALLOCATION_CONFIGURATION_DELAY + 1);
        for (uint256 i; i < count; ++i) {
            AllocateParams[] memory params = new AllocateParams[](1);
            params[0].operatorSet = OperatorSet({avs: address(registry), id: 0});
            params[0].strategies = descending;
            params[0].newMagnitudes = new uint64[](2);
            params[0].newMagnitudes[0] = WAD;
            params[0].newMagnitudes[1] = WAD;
            vm.prank(operators[i]);
            allocationManager.modifyAllocations(operators[i], params);
            register(operators[i], secretKeyOf(77 + i));
            assertEq(weightOf(operators[i]), 150 ether, "weight over both strategies");
        }
        registry.setSlasher(SLASHER);
    }

    function _slashableInBoth(address[] memory strategies, address operator) private view returns (uint256) {
        uint256[][] memory left = allocationManager.getMinimumSlashableStake(
            OperatorSet({avs: address(registry), id: 0}), list(operator), strategies, uint32(block.number)
        );
        return left[0][0] + left[0][1];
    }
}
