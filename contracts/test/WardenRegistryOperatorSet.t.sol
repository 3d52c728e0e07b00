// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "../src/WardenRegistry.sol";
import {RegistryFixture} from "./lib/RegistryFixture.sol";

/// @dev `operatorSetAt`, the aggregator's one-call read of the set at a block, and `setChangedAt`:
/// only members at the block, their keys and weights then, and the block of the latest change.
contract WardenRegistryOperatorSetTest is RegistryFixture {
    function setUp() public {
        deployRegistry();
    }

    function test_operatorSetAt_beforeAnyRegistration_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NoOperatorSetAtBlock.selector, 1));
        registry.operatorSetAt(1);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NoOperatorSetAtBlock.selector, 1));
        registry.setChangedAt(1);
    }

    function test_operatorSetAt_membersKeysAndWeights() public {
        // registerTrio refreshes in the block it registers in: the set changed there.
        uint32 trio = registerTrio();
        _assertSet(trio, list(ALICE, BOB, CAROL), _weights(100 ether, 200 ether, 300 ether), trio);
        // A later block with no change reports the same set and the same change block.
        vm.roll(block.number + 5);
        _assertSet(uint32(block.number - 1), list(ALICE, BOB, CAROL), _weights(100, 200, 300), trio);
        assertEq(registry.setChangedAt(uint32(block.number - 1)), trio, "unchanged since the trio");
    }

    function test_operatorSetAt_afterDeregistrationAndRefresh() public {
        uint32 trio = registerTrio();

        deregister(BOB);
        uint32 left = uint32(block.number);
        vm.roll(block.number + 1);

        // A refresh that changes no weight is no change of the set.
        registry.refreshWeights();
        uint32 idle = uint32(block.number);
        vm.roll(block.number + 1);
        assertEq(registry.setChangedAt(idle), left, "an idle refresh changes nothing");

        depositMore(CAROL, 50 ether);
        registry.refreshWeights();
        uint32 refreshed = uint32(block.number);
        vm.roll(block.number + 1);

        // Each block reads the set as it was then: history, not the latest state.
        _assertSet(trio, list(ALICE, BOB, CAROL), _weights(100, 200, 300), trio);
        _assertSet(left, _pair(ALICE, CAROL), _two(100 ether, 300 ether), left);
        _assertSet(idle, _pair(ALICE, CAROL), _two(100 ether, 300 ether), left);
        _assertSet(refreshed, _pair(ALICE, CAROL), _two(100 ether, 350 ether), refreshed);

        // Dave joins: after the members of earlier registrations, Bob left out.
        register(DAVE, skOf(DAVE));
        uint32 joined = uint32(block.number);
        vm.roll(block.number + 1);
        _assertSet(joined, list(ALICE, CAROL, DAVE), _weights(100, 350, 400), joined);
    }

    /// @dev `operatorSetAt` returns exactly what the per-operator views return at that block.
    function _assertSet(
        uint32 blockNumber,
        address[] memory members,
        uint96[] memory weights,
        uint32 changedAt
    ) private view {
        (
            bytes32[] memory ids,
            address[] memory operators,
            BLS.G1Point[] memory keys,
            uint96[] memory got,
            uint256 totalWeight,
            uint32 changed
        ) = registry.operatorSetAt(blockNumber);
        assertEq(ids.length, members.length, "members only");
        assertEq(operators.length, members.length, "addresses");
        assertEq(keys.length, members.length, "keys");
        assertEq(got.length, members.length, "weights");
        uint256 sum;
        for (uint256 i; i < members.length; ++i) {
            assertEq(operators[i], members[i], "operator, in order of first registration");
            _assertMember(blockNumber, members[i], ids[i], keys[i], got[i]);
            assertEq(got[i], weights[i], "its weight then");
            sum += got[i];
        }
        (, uint96 quorumWeight,) = registry.quorumAt(blockNumber);
        assertEq(totalWeight, quorumWeight, "the set's total weight then");
        assertEq(totalWeight, sum, "the members' weights add up to it");
        assertEq(changed, changedAt, "the block of the latest change");
        assertEq(registry.setChangedAt(blockNumber), changedAt, "setChangedAt agrees");
    }

    function _assertMember(
        uint32 blockNumber,
        address member,
        bytes32 id,
        BLS.G1Point memory key,
        uint96 weight
    ) private view {
        assertEq(id, registry.operatorIdOf(member), "its id");
        assertG1Eq(key, pkOf(member), "its key");
        assertEq(id, idOf(key), "the id is the key's hash");
        (bool registered, uint96 weightThen) = registry.operatorAt(id, blockNumber);
        assertTrue(registered && weightThen == weight, "as operatorAt reports");
    }

    /// @dev Weights in ether when given as small numbers.
    function _weights(uint96 a, uint96 b, uint96 c) private pure returns (uint96[] memory w) {
        uint96 unit = a < 1 ether ? 1 ether : 1;
        w = new uint96[](3);
        (w[0], w[1], w[2]) = (a * unit, b * unit, c * unit);
    }

    function _two(uint96 a, uint96 b) private pure returns (uint96[] memory w) {
        w = new uint96[](2);
        (w[0], w[1]) = (a, b);
    }

    function _pair(address a, address b) private pure returns (address[] memory l) {
        l = list(a, b);
    }
}
