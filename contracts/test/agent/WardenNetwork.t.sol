// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {WardenNetwork} from "../../src/libraries/WardenNetwork.sol";
import {TestBase} from "../lib/Vm.sol";
import {WardenNetworkHarness} from "./WardenNetworkHarness.sol";

/// @dev One output chunk recomputed on chain, on the hand-computed network of the Rust module's
/// tests (`warden_agent::network::tests::a_tiny_network_computes_what_a_hand_computation_says`),
/// and the gas of the worst chunk of the reference large architecture. Agreement with Rust on
/// random layers is the differential test's job (issue #14, next).
contract WardenNetworkTest is TestBase {
    event log_named_uint(string key, uint256 val);

    WardenNetworkHarness internal harness;

    function setUp() public {
        harness = new WardenNetworkHarness();
    }

    function _hidden(uint16 index, bool residual) private pure returns (WardenNetwork.Layer memory) {
        return
            WardenNetwork.Layer({
                index: index, last: false, residual: residual, multiplier: 1 << 30, shift: 31
            });
    }

    function _logits(uint16 index) private pure returns (WardenNetwork.Layer memory) {
        return WardenNetwork.Layer({index: index, last: true, residual: false, multiplier: 0, shift: 0});
    }

    /// @dev Layer 0 of the tiny network: residual, 2 → 2, weights (1, 2), (-3, 4), biases 10, -20,
    /// halving; input (20, 30) gives (65, 50).
    function test_residualHiddenChunk() public view {
        bytes memory weights = abi.encodePacked(int8(1), int8(2), int8(-3), int8(4), int32(10), int32(-20));
        bytes32 hash =
            harness.outputChunkHash(_hidden(0, true), 0, 0, abi.encodePacked(int8(20), int8(30)), weights);
        assertEq(hash, keccak256(abi.encodePacked(uint16(0), uint32(0), uint8(65), uint8(50))), "(65, 50)");
    }

    /// @dev Layer 1: dense, weights (2, 0), (0, -2), biases 0, 100, on (65, 50): (65, 0) with the
    /// ReLU, from (130, 0) halved.
    function test_denseHiddenChunk() public view {
        bytes memory weights = abi.encodePacked(int8(2), int8(0), int8(0), int8(-2), int32(0), int32(100));
        bytes32 hash =
            harness.outputChunkHash(_hidden(1, false), 0, 0, abi.encodePacked(int8(65), int8(50)), weights);
        assertEq(hash, keccak256(abi.encodePacked(uint16(1), uint32(0), uint8(65), uint8(0))), "(65, 0)");
    }

    /// @dev The logits, two chunks of two neurons: (70, -59) and (7), as four big-endian bytes each.
    function test_logitChunks() public view {
        bytes memory input = abi.encodePacked(int8(65), int8(0));
        bytes memory first = abi.encodePacked(int8(1), int8(1), int8(-1), int8(0), int32(5), int32(6));
        bytes memory second = abi.encodePacked(int8(0), int8(3), int32(7));
        assertEq(
            harness.outputChunkHash(_logits(2), 0, 0, input, first),
            keccak256(abi.encodePacked(uint16(2), uint32(0), int32(70), int32(-59))),
            "(70, -59)"
        );
        assertEq(
            harness.outputChunkHash(_logits(2), 1, 2, input, second),
            keccak256(abi.encodePacked(uint16(2), uint32(1), int32(7))),
            "(7)"
        );
    }

    /// @dev Rounding half up, saturation at 127, and inputs longer than a word (the tail loop).
    function test_roundingSaturationAndLongInputs() public view {
        // 33 inputs of 1 and weights of 1: acc = 33 + bias.
        bytes memory input = new bytes(33);
        bytes memory row = new bytes(33);
        for (uint256 i; i < 33; ++i) {
            input[i] = bytes1(uint8(1));
            row[i] = bytes1(uint8(1));
        }
        // 33 - 30 = 3, halved: 1.5 rounds up to 2; 33 + 300 = 333, halved: 166.5 → 167 → 127.
        bytes memory weights = abi.encodePacked(row, row, int32(-30), int32(300));
        assertEq(
            harness.outputChunkHash(_hidden(0, false), 0, 0, input, weights),
            keccak256(abi.encodePacked(uint16(0), uint32(0), uint8(2), uint8(127))),
            "2 and 127"
        );
    }

    function test_revert_malformedChunks() public {
        vm.expectRevert(abi.encodeWithSelector(WardenNetwork.MalformedWeightChunk.selector, 0, 2));
        harness.outputChunkHash(_hidden(0, false), 0, 0, hex"0102", "");
        vm.expectRevert(abi.encodeWithSelector(WardenNetwork.MalformedWeightChunk.selector, 5, 2));
        harness.outputChunkHash(_hidden(0, false), 0, 0, hex"0102", hex"0102030405");
        vm.expectRevert(abi.encodeWithSelector(WardenNetwork.ResidualOutOfRange.selector, 1, 2, 2));
        harness.outputChunkHash(_hidden(0, true), 0, 1, hex"0102", new bytes(12));
        vm.expectRevert(
            abi.encodeWithSelector(WardenNetwork.ResidualOutOfRange.selector, type(uint256).max, 1, 2)
        );
        harness.outputChunkHash(_hidden(0, true), 0, type(uint256).max, hex"0102", new bytes(6));
        WardenNetwork.Layer memory noShift = _hidden(0, false);
        noShift.shift = 0;
        vm.expectRevert(
            abi.encodeWithSelector(WardenNetwork.InvalidRequantization.selector, int256(1 << 30), 0)
        );
        harness.outputChunkHash(noShift, 0, 0, hex"0102", new bytes(6));
    }

    function test_weightChunkProofs() public view {
        bytes memory a = hex"01";
        bytes memory b = hex"02";
        bytes memory c = hex"03";
        bytes32 ab = keccak256(abi.encodePacked(keccak256(a), keccak256(b)));
        bytes32 c0 = keccak256(abi.encodePacked(keccak256(c), bytes32(0)));
        bytes32 root = keccak256(abi.encodePacked(ab, c0));
        bytes32[] memory proof = new bytes32[](2);
        (proof[0], proof[1]) = (keccak256(b), c0);
        assertTrue(harness.verifyWeightChunk(a, 0, proof, root), "a at 0");
        assertTrue(!harness.verifyWeightChunk(a, 1, proof, root), "not at 1");
        assertTrue(!harness.verifyWeightChunk(b, 0, proof, root), "not b");
        (proof[0], proof[1]) = (bytes32(0), ab);
        assertTrue(harness.verifyWeightChunk(c, 2, proof, root), "c at 2");
        assertTrue(!harness.verifyWeightChunk(c, 6, proof, root), "no index past the tree");
    }

    /// @dev The worst chunk of the reference large architecture (256 → 1024 → 1024 → 512 → 3, 32
    /// neurons per chunk): 32 rows of a layer with 1,024 inputs, weights in [-7, 7], activations in
    /// [0, 127]. Issue #14 asks for at most 3 M gas for the whole proof.
    function test_gas_worstChunkOfTheLargeReference() public {
        uint256 inputs = 1024;
        uint256 rows = 32;
        bytes memory input = new bytes(inputs);
        bytes memory weights = new bytes(rows * (inputs + 4));
        uint256 state = 1;
        for (uint256 i; i < inputs; ++i) {
            state = uint256(keccak256(abi.encode(state)));
            input[i] = bytes1(uint8(state % 128));
        }
        for (uint256 i; i < rows * inputs; ++i) {
            if (i % 32 == 0) state = uint256(keccak256(abi.encode(state)));
            weights[i] = bytes1(uint8(int8(int256((state >> (8 * (i % 32))) % 15) - 7)));
        }
        WardenNetwork.Layer memory layer = _hidden(2, false);
        uint256 before = gasleft();
        harness.outputChunkHash(layer, 3, 96, input, weights);
        uint256 used = before - gasleft();
        emit log_named_uint(
            "one output chunk, 32 rows x 1,024 inputs (execution, calldata not included)", used
        );
        emit log_named_uint("  its calldata bytes", input.length + weights.length);
        assertLe(used, 3_000_000, "within the proof's budget");
    }
}
