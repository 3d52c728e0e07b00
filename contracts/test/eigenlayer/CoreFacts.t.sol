// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OperatorSet} from "../../src/interfaces/IEigenLayer.sol";
import {Allocation} from "../lib/EigenLayerTest.sol";
import {RegistryFixture} from "../lib/RegistryFixture.sol";

/// @dev The facts about EigenLayer's core that Warden's safety argument rests on, measured on the
/// redistribution core the devnet deploys: how far ahead `getMinimumSlashableStake` looks, how long a
/// queued withdrawal and a deallocation stay slashable, when a departed operator may rejoin, and the
/// early-chain underflow the deployment mines past. A core that changed one of them fails here first.
contract EigenLayerCoreFactsTest is RegistryFixture {
    address internal constant SLASHER = address(0x51A5);

    /// @dev EigenLayer's `AlreadyMemberOfSet()`.
    bytes4 internal constant ALREADY_MEMBER_OF_SET = bytes4(keccak256("AlreadyMemberOfSet()"));

    function setUp() public {
        deployRegistry();
        registerTrio();
        registry.setSlasher(SLASHER);
    }

    /// @dev A deallocation takes effect DEALLOCATION_DELAY + 1 blocks after it is made; until then the
    /// minimum slashable stake at a future block counts the allocation, from then on it does not. This
    /// is what lets the registry's weight (measured `weightHorizon` blocks ahead) ignore a deallocation
    /// that lands within the horizon.
    function test_deallocationDelay_andMinimumSlashableStakeLooksAhead() public {
        setAllocation(CAROL, address(registry), registry.OPERATOR_SET_ID(), 0);
        uint256 effect = block.number + DEALLOCATION_DELAY + 1;
        Allocation memory allocation = allocationManager.getAllocation(CAROL, _set(), address(strategy));
        assertEq(allocation.effectBlock, effect, "effect block");
        // NOW and the test chain's blocks are far below 2^32.
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(_slashableAt(CAROL, uint32(effect - 1)), 300 ether, "slashable until the delay ends");
        // NOW and the test chain's blocks are far below 2^32.
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(_slashableAt(CAROL, uint32(effect)), 0, "not slashable once it lands");
        vm.roll(effect - 1);
        assertEq(slashableStake(CAROL), 300 ether, "still slashable now");
        vm.roll(effect);
        assertEq(slashableStake(CAROL), 0, "gone");
    }

    /// @dev Shares queued for withdrawal stay slashable for MIN_WITHDRAWAL_DELAY blocks after the block
    /// they are queued in, and the withdrawal completes only after that.
    function test_queuedWithdrawalSlashableForMinWithdrawalDelay() public {
        queueFullWithdrawal(CAROL, depositSharesOf(CAROL));
        uint256 queuedAt = block.number;
        assertEq(delegation.getSlashableSharesInQueue(CAROL, address(strategy)), 300 ether, "queued");
        vm.roll(queuedAt + MIN_WITHDRAWAL_DELAY);
        assertEq(delegation.getSlashableSharesInQueue(CAROL, address(strategy)), 300 ether, "last block");
        vm.prank(SLASHER);
        (, uint256 taken) = registry.slashOperator(CAROL, 1e18, "the queue");
        assertEq(taken, 300 ether, "the slash takes the queue");
        vm.roll(queuedAt + MIN_WITHDRAWAL_DELAY + 1);
        assertEq(completeWithdrawal(CAROL), 0, "the withdrawal pays nothing");
    }

    /// @dev One block later the queue is out of reach.
    function test_queuedWithdrawalOutOfReachAfterMinWithdrawalDelay() public {
        queueFullWithdrawal(CAROL, depositSharesOf(CAROL));
        uint256 queuedAt = block.number;
        vm.roll(queuedAt + MIN_WITHDRAWAL_DELAY + 1);
        assertEq(delegation.getSlashableSharesInQueue(CAROL, address(strategy)), 0, "out of reach");
        vm.prank(SLASHER);
        (, uint256 taken) = registry.slashOperator(CAROL, 1e18, "too late");
        assertEq(taken, 0, "nothing to take");
        assertEq(completeWithdrawal(CAROL), 300 ether, "the withdrawal pays all");
    }

    /// @dev An operator that left the set stays a member in EigenLayer's eyes (slashable) for the
    /// deallocation delay and cannot rejoin until it has passed.
    function test_rejoinRefusedWithinDeallocationDelay() public {
        deregister(CAROL);
        uint256 left = block.number;
        vm.roll(left + DEALLOCATION_DELAY);
        assertTrue(allocationManager.isOperatorSlashable(CAROL, _set()), "still slashable");
        bytes memory data = registrationData(CAROL, skOf(CAROL));
        vm.expectRevert(ALREADY_MEMBER_OF_SET);
        registerWithData(CAROL, data);
        vm.roll(left + DEALLOCATION_DELAY + 1);
        assertTrue(!allocationManager.isOperatorSlashable(CAROL, _set()), "no longer slashable");
        register(CAROL, skOf(CAROL));
    }

    function _set() private view returns (OperatorSet memory) {
        return OperatorSet({avs: address(registry), id: registry.OPERATOR_SET_ID()});
    }

    function _slashableAt(address operator, uint32 futureBlock) private view returns (uint256) {
        return
            allocationManager.getMinimumSlashableStake(
                _set(), list(operator), strategyList(), futureBlock
            )[0][0];
    }
}

/// @dev The early chain: operators allocate and register within the first MIN_WITHDRAWAL_DELAY blocks.
contract EigenLayerEarlyChainTest is RegistryFixture {
    address internal constant SLASHER = address(0x51A5);

    function setUp() public {
        deployRegistry();
        // Back to the chain's first blocks (the fixture starts past the withdrawal delay).
        vm.roll(10);
        registerTrio();
        registry.setSlasher(SLASHER);
    }

    /// @dev `slashOperator` panics with an arithmetic underflow while block.number is at most
    /// MIN_WITHDRAWAL_DELAY (it looks the withdrawal queue up that many blocks back): why the devnet
    /// and the fixtures start past it.
    function test_slashOperator_underflowsBeforeMinWithdrawalDelay() public {
        vm.roll(MIN_WITHDRAWAL_DELAY);
        vm.prank(SLASHER);
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x11));
        registry.slashOperator(ALICE, 1e18, "too early");

        vm.roll(MIN_WITHDRAWAL_DELAY + 1);
        vm.prank(SLASHER);
        (, uint256 taken) = registry.slashOperator(ALICE, 1e18, "in time");
        assertEq(taken, 100 ether, "slashable from the next block");
    }
}
