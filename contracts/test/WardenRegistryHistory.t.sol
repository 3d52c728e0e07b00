// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "../src/WardenRegistry.sol";
import {RegistryFixture} from "./lib/RegistryFixture.sol";

/// @dev The set as of past blocks: deregistrations, weight updates, several changes in one block,
/// and lookups in a long history.
contract WardenRegistryHistoryTest is RegistryFixture {
    bytes32 internal constant DIGEST = keccak256("warden task output");

    function setUp() public {
        deployRegistry();
    }

    function test_history_deregistrationKeepsOldSet() public {
        uint32 before = registerTrio();
        deregister(CAROL);
        uint32 afterwards = uint32(block.number);
        vm.roll(block.number + 1);

        _assertQuorum(before, list(ALICE, BOB, CAROL), 600 ether);
        _assertQuorum(afterwards, list(ALICE, BOB), 300 ether);
        _assertOperator(CAROL, before, true, 300 ether);
        _assertOperator(CAROL, afterwards, false, 0);

        // At the old block the old set still verifies, with or without Carol signing.
        _assertChecks(before, new address[](0), list(ALICE, BOB, CAROL), 600 ether, 600 ether);
        _assertChecks(before, list(CAROL), list(ALICE, BOB), 300 ether, 600 ether);
        // From the deregistration on, Carol is gone: her signature breaks the aggregate and she
        // cannot be listed as a non-signer.
        _assertChecks(afterwards, new address[](0), list(ALICE, BOB), 300 ether, 300 ether);
        BLS.G1Point[] memory none = new BLS.G1Point[](0);
        BLS.G2Point memory withCarol = signBy(list(ALICE, BOB, CAROL), DIGEST);
        vm.expectRevert(WardenRegistry.InvalidSignature.selector);
        registry.checkQuorum(afterwards, DIGEST, none, withCarol);
        BLS.G1Point[] memory carol = nonSignersOf(list(CAROL));
        BLS.G2Point memory withoutCarol = signBy(list(ALICE, BOB), DIGEST);
        vm.expectRevert(
            abi.encodeWithSelector(
                WardenRegistry.NonSignerNotRegistered.selector, idOf(pkOf(CAROL)), afterwards
            )
        );
        registry.checkQuorum(afterwards, DIGEST, carol, withoutCarol);
    }

    function test_history_refreshAfterDeposit() public {
        uint32 before = registerTrio();
        depositMore(ALICE, 50 ether);
        // The registry learns of the deposit only when asked to refresh.
        _assertOperator(ALICE, uint32(block.number), true, 100 ether);
        vm.expectEmit(true, true, true, true, address(registry));
        emit WardenRegistry.OperatorWeightUpdated(ALICE, idOf(pkOf(ALICE)), 100 ether, 150 ether);
        vm.expectEmit(true, false, false, true, address(registry));
        emit WardenRegistry.WeightsRefreshed(uint32(block.number), 3, 650 ether);
        registry.refreshWeights();
        uint32 afterwards = uint32(block.number);
        vm.roll(block.number + 1);

        _assertOperator(ALICE, before, true, 100 ether);
        _assertOperator(ALICE, afterwards, true, 150 ether);
        _assertQuorum(before, list(ALICE, BOB, CAROL), 600 ether);
        _assertQuorum(afterwards, list(ALICE, BOB, CAROL), 650 ether);
        _assertChecks(before, list(ALICE), list(BOB, CAROL), 500 ether, 600 ether);
        _assertChecks(afterwards, list(ALICE), list(BOB, CAROL), 500 ether, 650 ether);
        _assertChecks(afterwards, list(BOB), list(ALICE, CAROL), 450 ether, 650 ether);
        assertEq(registry.weightsRefreshedAt(before), before, "refresh in effect before");
        assertEq(registry.weightsRefreshedAt(afterwards), afterwards, "refresh in effect afterwards");
    }

    function test_refreshWeights_withoutChangeKeepsWeights() public {
        uint32 before = registerTrio();
        vm.recordLogs();
        registry.refreshWeights();
        assertEq(vm.getRecordedLogs().length, 1, "only WeightsRefreshed: no weight changed");
        uint32 afterwards = uint32(block.number);
        vm.roll(block.number + 1);
        _assertQuorum(before, list(ALICE, BOB, CAROL), 600 ether);
        _assertQuorum(afterwards, list(ALICE, BOB, CAROL), 600 ether);
        _assertOperator(BOB, afterwards, true, 200 ether);
    }

    /// @dev A refresh covers exactly the operators in the set now, whatever order they joined and left in.
    function test_refreshWeights_coversExactlyTheMembers() public {
        registerTrio();
        register(DAVE, skOf(DAVE));
        deregister(ALICE);
        depositMore(ALICE, 1 ether);
        depositMore(BOB, 1 ether);
        depositMore(DAVE, 2 ether);
        registry.refreshWeights();
        uint32 afterwards = uint32(block.number);
        vm.roll(block.number + 1);
        address[] memory members = registry.registeredOperators();
        assertEq(members.length, 3, "three members");
        _assertOperator(ALICE, afterwards, false, 0);
        _assertOperator(BOB, afterwards, true, 201 ether);
        _assertOperator(CAROL, afterwards, true, 300 ether);
        _assertOperator(DAVE, afterwards, true, 402 ether);
        _assertQuorum(afterwards, list(BOB, CAROL, DAVE), 903 ether);
    }

    /// @dev Changes within one block replace that block's state instead of archiving it: the
    /// block ends with its last state, and the block before keeps its own.
    function test_history_sameBlockChangesOverwrite() public {
        uint256[] memory stakes = new uint256[](3);
        (stakes[0], stakes[1], stakes[2]) = (100 ether, 200 ether, 300 ether);
        prepareOperators(list(ALICE, BOB, CAROL), stakes);
        register(ALICE, skOf(ALICE));
        registry.refreshWeights();
        uint32 first = uint32(block.number);
        vm.roll(block.number + 1);

        register(BOB, skOf(BOB));
        register(CAROL, skOf(CAROL));
        depositMore(ALICE, 50 ether);
        registry.refreshWeights();
        deregister(BOB);
        depositMore(ALICE, 25 ether);
        registry.refreshWeights();
        uint32 second = uint32(block.number);
        vm.roll(block.number + 1);

        _assertQuorum(first, list(ALICE), 100 ether);
        _assertQuorum(second, list(ALICE, CAROL), 475 ether);
        _assertOperator(ALICE, first, true, 100 ether);
        _assertOperator(ALICE, second, true, 175 ether);
        _assertOperator(BOB, first, false, 0);
        _assertOperator(BOB, second, false, 0);
        _assertOperator(CAROL, first, false, 0);
        _assertOperator(CAROL, second, true, 300 ether);
        _assertChecks(first, new address[](0), list(ALICE), 100 ether, 100 ether);
        _assertChecks(second, new address[](0), list(ALICE, CAROL), 475 ether, 475 ether);
        _assertChecks(second, list(ALICE), list(CAROL), 300 ether, 475 ether);
    }

    /// @dev Eight changes three blocks apart; every block from before the first to after the
    /// last is looked up, so the binary searches over both archives hit every checkpoint and the
    /// blocks between them.
    function test_history_longHistoryLookups() public {
        uint256[] memory stakes = new uint256[](4);
        (stakes[0], stakes[1], stakes[2], stakes[3]) = (100 ether, 200 ether, 300 ether, 400 ether);
        prepareOperators(list(ALICE, BOB, CAROL, DAVE), stakes);

        Step[] memory steps = new Step[](8);
        register(ALICE, skOf(ALICE));
        registry.refreshWeights();
        steps[0] = _step(list(ALICE), 100 ether, true, 100 ether);
        register(BOB, skOf(BOB));
        steps[1] = _step(list(ALICE, BOB), 300 ether, true, 100 ether);
        depositMore(ALICE, 10 ether);
        registry.refreshWeights();
        steps[2] = _step(list(ALICE, BOB), 310 ether, true, 110 ether);
        register(CAROL, skOf(CAROL));
        steps[3] = _step(list(ALICE, BOB, CAROL), 610 ether, true, 110 ether);
        deregister(BOB);
        steps[4] = _step(list(ALICE, CAROL), 410 ether, true, 110 ether);
        depositMore(ALICE, 10 ether);
        depositMore(CAROL, 5 ether);
        registry.refreshWeights();
        steps[5] = _step(list(ALICE, CAROL), 425 ether, true, 120 ether);
        register(DAVE, skOf(DAVE));
        steps[6] = _step(list(ALICE, CAROL, DAVE), 825 ether, true, 120 ether);
        deregister(ALICE);
        steps[7] = _step(list(CAROL, DAVE), 705 ether, false, 0);
        vm.roll(block.number + 1);

        bytes32 aliceId = idOf(pkOf(ALICE));
        vm.expectRevert(
            abi.encodeWithSelector(WardenRegistry.NoOperatorSetAtBlock.selector, steps[0].blockNumber - 1)
        );
        registry.quorumAt(steps[0].blockNumber - 1);
        (bool registered,) = registry.operatorAt(aliceId, steps[0].blockNumber - 1);
        assertTrue(!registered, "Alice before her registration");

        for (uint256 i; i < steps.length; ++i) {
            uint32 end = i + 1 < steps.length ? steps[i + 1].blockNumber : uint32(block.number);
            for (uint32 b = steps[i].blockNumber; b < end; ++b) {
                (BLS.G1Point memory aggregate, uint96 total, uint32 count) = registry.quorumAt(b);
                assertG1Eq(aggregate, steps[i].aggregateKey, "aggregate key");
                assertEq(total, steps[i].totalWeight, "total weight");
                assertEq(count, steps[i].operatorCount, "operator count");
                (bool aliceRegistered, uint96 aliceWeight) = registry.operatorAt(aliceId, b);
                assertTrue(aliceRegistered == steps[i].aliceRegistered, "Alice registered");
                assertEq(aliceWeight, steps[i].aliceWeight, "Alice weight");
            }
            (uint256 signed, uint256 checkedTotal) = registry.checkQuorum(
                steps[i].blockNumber, DIGEST, new BLS.G1Point[](0), signBy(steps[i].members, DIGEST)
            );
            assertEq(signed, steps[i].totalWeight, "signed weight");
            assertEq(checkedTotal, steps[i].totalWeight, "checked total weight");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    struct Step {
        uint32 blockNumber;
        address[] members;
        BLS.G1Point aggregateKey;
        uint96 totalWeight;
        uint32 operatorCount;
        bool aliceRegistered;
        uint96 aliceWeight;
    }

    /// @dev Records the expected state of the current block, then moves three blocks on.
    function _step(address[] memory members, uint96 totalWeight, bool aliceRegistered, uint96 aliceWeight)
        private
        returns (Step memory step)
    {
        step = Step({
            blockNumber: uint32(block.number),
            members: members,
            aggregateKey: aggregateKeyOf(members),
            totalWeight: totalWeight,
            operatorCount: uint32(members.length),
            aliceRegistered: aliceRegistered,
            aliceWeight: aliceWeight
        });
        vm.roll(block.number + 3);
    }

    function _assertQuorum(uint32 blockNumber, address[] memory members, uint256 totalWeight) private view {
        (BLS.G1Point memory aggregate, uint96 total, uint32 count) = registry.quorumAt(blockNumber);
        assertG1Eq(aggregate, aggregateKeyOf(members), "aggregate key");
        assertEq(total, totalWeight, "total weight");
        assertEq(count, members.length, "operator count");
    }

    function _assertOperator(address operator, uint32 blockNumber, bool registered, uint256 weight)
        private
        view
    {
        (bool isRegistered, uint96 actualWeight) = registry.operatorAt(idOf(pkOf(operator)), blockNumber);
        assertTrue(isRegistered == registered, "registered");
        assertEq(actualWeight, weight, "weight");
    }

    function _assertChecks(
        uint32 referenceBlock,
        address[] memory nonSigners,
        address[] memory signers,
        uint256 signedWeight,
        uint256 totalWeight
    ) private view {
        (uint256 signed, uint256 total) = registry.checkQuorum(
            referenceBlock, DIGEST, nonSignersOf(nonSigners), signBy(signers, DIGEST)
        );
        assertEq(signed, signedWeight, "signed weight");
        assertEq(total, totalWeight, "total weight");
    }
}
