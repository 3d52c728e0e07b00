// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {NetworkAgentVerifier} from "../../src/agent/NetworkAgentVerifier.sol";
import {AgentActions, AgentInput} from "../../src/agent/AgentTypes.sol";
import {MlpPolicy} from "../../src/agent/MlpPolicy.sol";
import {PriceMatrix} from "../../src/agent/PriceMatrix.sol";
import {TraceStep} from "../../src/interfaces/ITracedAgentVerifier.sol";
import {WardenNetwork} from "../../src/libraries/WardenNetwork.sol";
import {AgentFixture} from "./AgentFixture.sol";
import {SmallNetwork} from "./SmallNetwork.sol";

/// @dev The one-step fraud proof of a large agent, on a small network of the same format: 256 price
/// features -> 4 (dense) -> 4 (residual) -> 3 logits, two neurons per chunk, so six chunks (two per
/// layer, the last one short) under a Merkle root of eight leaves. The test runs the network with its
/// own forward pass, builds the honest trace, then plays the three lies of issue #14: (a) one neuron
/// changed in a middle layer and carried through honestly, (b) an honest trace with another action,
/// (c) a trace inconsistent with the liars' own output. Agreement of the chunk arithmetic with Rust
/// is the differential test's (`crates/agent/tests/differential.rs`).
contract NetworkAgentVerifierTest is AgentFixture, SmallNetwork {
    NetworkAgentVerifier internal verifier;
    AgentInput internal snapshot;
    bytes internal encodedInput;

    /// @dev The honest run: each layer's whole output.
    bytes[LAYERS] internal honest;

    function setUp() public {
        buildSmallNetwork();
        verifier = new NetworkAgentVerifier(header, root, params(100));
        snapshot = input(walk(7));
        encodedInput = abi.encode(snapshot);
        honest = runAll(PriceMatrix.features(snapshot));
    }

    // ------------------------------------------------------------------------------------------
    // The honest run stands
    // ------------------------------------------------------------------------------------------

    function test_honestRun_everyStepChecksOut() public view {
        bytes32[] memory trace = traceOf(honest);
        bytes memory output = decodeLogits(honest[2], snapshot, params(100));
        assertEq(verifier.traceLength(), CHUNKS, "trace length");
        for (uint256 layer; layer < LAYERS; ++layer) {
            for (uint256 chunk; chunk < 2; ++chunk) {
                assertTrue(
                    !verifier.disproves(encodedInput, output, trace, chunkStep(layer, chunk, honest)),
                    "an honest chunk is not disproved"
                );
            }
        }
        assertTrue(!verifier.disproves(encodedInput, output, trace, decodeStep(honest)), "honest decoding");
        assertTrue(!verifier.disproves(encodedInput, output, trace, lengthStep()), "honest length");
    }

    function test_agentHash_bindsTheNetworkAndTheParams() public view {
        bytes32 network = keccak256(abi.encodePacked(header, root));
        assertEq(verifier.networkHash(), network, "network hash: header and root");
        assertEq(
            verifier.agentHash(),
            keccak256(abi.encode(keccak256("warden.agent.network.v1"), network, params(100))),
            "agent hash"
        );
        assertEq(verifier.header(), header, "header kept");
    }

    function test_evaluate_revertsTraceRequired() public {
        vm.expectRevert(NetworkAgentVerifier.TraceRequired.selector);
        verifier.evaluate(encodedInput);
    }

    // ------------------------------------------------------------------------------------------
    // The three lies
    // ------------------------------------------------------------------------------------------

    /// @dev (a) The liars change one neuron of the middle layer and compute the rest from it: the
    /// trace is consistent after the change, so the proof is the changed chunk itself, from the
    /// honest (and committed) first layer.
    function test_attack_oneNeuronChangedAndCarriedThrough() public view {
        bytes[LAYERS] memory lie;
        lie[0] = honest[0];
        lie[1] = honest[1];
        lie[1] = bytes.concat(lie[1]);
        lie[1][1] = bytes1(uint8(lie[1][1]) == 127 ? 0 : uint8(lie[1][1]) + 1);
        lie[2] = runLayer(2, lie[1]);
        bytes32[] memory trace = traceOf(lie);
        bytes memory output = decodeLogits(lie[2], snapshot, params(100));

        assertTrue(verifier.disproves(encodedInput, output, trace, chunkStep(1, 0, lie)), "the changed chunk");
        // Every later step is consistent with the lie: only the changed chunk proves it.
        assertTrue(!verifier.disproves(encodedInput, output, trace, chunkStep(2, 0, lie)), "carried through");
        assertTrue(!verifier.disproves(encodedInput, output, trace, chunkStep(2, 1, lie)), "carried through");
        assertTrue(!verifier.disproves(encodedInput, output, trace, decodeStep(lie)), "decoded as computed");
    }

    /// @dev (b) An honest trace, another action.
    function test_attack_honestTraceAnotherAction() public view {
        bytes32[] memory trace = traceOf(honest);
        bytes memory other = AgentActions.encode(AgentActions.SELL, ROUTER, 0, hex"deadbeef");
        assertTrue(
            verifier.disproves(encodedInput, other, trace, decodeStep(honest)), "decoding disproves it"
        );
    }

    /// @dev (c) A trace inconsistent with the liars' own output: a logit chunk's hash replaced.
    function test_attack_traceInconsistentWithItsOwnOutput() public view {
        bytes32[] memory trace = traceOf(honest);
        trace[5] = keccak256("a logit chunk nobody computed");
        bytes memory output = decodeLogits(honest[2], snapshot, params(100));
        assertTrue(
            verifier.disproves(encodedInput, output, trace, chunkStep(2, 1, honest)), "the replaced chunk"
        );
    }

    /// @dev A trace with a chunk hash too many or too few is disproved by any step.
    function test_attack_traceOfTheWrongLength() public view {
        bytes32[] memory trace = traceOf(honest);
        bytes32[] memory longer = new bytes32[](CHUNKS + 1);
        bytes32[] memory shorter = new bytes32[](CHUNKS - 1);
        for (uint256 i; i < CHUNKS - 1; ++i) {
            longer[i] = trace[i];
            shorter[i] = trace[i];
        }
        longer[CHUNKS - 1] = trace[CHUNKS - 1];
        bytes memory output = decodeLogits(honest[2], snapshot, params(100));
        assertTrue(verifier.disproves(encodedInput, output, longer, lengthStep()), "one too many");
        assertTrue(verifier.disproves(encodedInput, output, shorter, chunkStep(0, 0, honest)), "one too few");
    }

    // ------------------------------------------------------------------------------------------
    // Unsound steps are refused, not judged
    // ------------------------------------------------------------------------------------------

    /// @dev A challenger cannot "disprove" an honest chunk with weights of its own making.
    function test_attack_forgedWeights() public {
        bytes32[] memory trace = traceOf(honest);
        bytes memory output = decodeLogits(honest[2], snapshot, params(100));
        TraceStep memory step = chunkStep(1, 1, honest);
        step.weights = bytes.concat(step.weights);
        step.weights[0] = bytes1(uint8(step.weights[0]) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(NetworkAgentVerifier.InvalidWeightProof.selector, 1, 1));
        verifier.disproves(encodedInput, output, trace, step);

        step = chunkStep(1, 1, honest);
        // Another chunk's weights with their own, valid, proof: the leaf index is not theirs.
        TraceStep memory other = chunkStep(1, 0, honest);
        step.weights = other.weights;
        step.siblings = other.siblings;
        vm.expectRevert(abi.encodeWithSelector(NetworkAgentVerifier.InvalidWeightProof.selector, 1, 1));
        verifier.disproves(encodedInput, output, trace, step);
    }

    /// @dev Nor with a layer input the trace does not commit.
    function test_attack_uncommittedLayerInput() public {
        bytes32[] memory trace = traceOf(honest);
        bytes memory output = decodeLogits(honest[2], snapshot, params(100));
        TraceStep memory step = chunkStep(2, 0, honest);
        step.layerInput = bytes.concat(step.layerInput);
        step.layerInput[3] = bytes1(uint8(step.layerInput[3]) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(NetworkAgentVerifier.UncommittedLayerOutput.selector, 1, 1));
        verifier.disproves(encodedInput, output, trace, step);

        step.layerInput = hex"00";
        vm.expectRevert(abi.encodeWithSelector(NetworkAgentVerifier.LayerOutputLength.selector, 1, 1, 4));
        verifier.disproves(encodedInput, output, trace, step);

        TraceStep memory decode = decodeStep(honest);
        decode.layerInput = bytes.concat(decode.layerInput);
        decode.layerInput[11] = bytes1(uint8(decode.layerInput[11]) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(NetworkAgentVerifier.UncommittedLayerOutput.selector, 2, 1));
        verifier.disproves(encodedInput, output, trace, decode);
    }

    function test_revert_stepsOutsideTheNetwork() public {
        bytes32[] memory trace = traceOf(honest);
        bytes memory output = decodeLogits(honest[2], snapshot, params(100));
        TraceStep memory step = chunkStep(2, 1, honest);
        step.chunk = 2;
        vm.expectRevert(abi.encodeWithSelector(NetworkAgentVerifier.NoSuchChunk.selector, 2, 2, 2));
        verifier.disproves(encodedInput, output, trace, step);

        step.layer = 3;
        vm.expectRevert(abi.encodeWithSelector(WardenNetwork.NoSuchLayer.selector, 3, 3));
        verifier.disproves(encodedInput, output, trace, step);

        step.kind = 3;
        vm.expectRevert(abi.encodeWithSelector(NetworkAgentVerifier.UnknownStep.selector, 3));
        verifier.disproves(encodedInput, output, trace, step);

        vm.expectRevert(abi.encodeWithSelector(NetworkAgentVerifier.MalformedInput.selector, 32));
        verifier.disproves(new bytes(32), output, trace, chunkStep(0, 0, honest));
    }

    // ------------------------------------------------------------------------------------------
    // Headers
    // ------------------------------------------------------------------------------------------

    function test_constructor_refusesMalformedHeaders() public {
        bytes memory fixedPart = abi.encodePacked(WNET, uint8(1), uint8(2), uint32(256), uint16(2), uint8(1));
        bytes memory hidden = layerHeader(0, 4, 1, 12);
        bytes memory logits = layerHeader(0, 3, 0, 0);

        _expectMalformed(
            abi.encodePacked(
                bytes4(0x574d4c50), uint8(1), uint8(2), uint32(256), uint16(2), uint8(1), hidden, logits
            ),
            0
        );
        _expectMalformed(
            abi.encodePacked(WNET, uint8(2), uint8(2), uint32(256), uint16(2), uint8(1), hidden, logits), 4
        );
        _expectMalformed(abi.encodePacked(fixedPart, hidden), 5);
        _expectMalformed(
            abi.encodePacked(WNET, uint8(1), uint8(2), uint32(0), uint16(2), uint8(1), hidden, logits), 6
        );
        _expectMalformed(
            abi.encodePacked(WNET, uint8(1), uint8(2), uint32(256), uint16(0), uint8(1), hidden, logits), 10
        );
        _expectMalformed(
            abi.encodePacked(WNET, uint8(1), uint8(2), uint32(256), uint16(2), uint8(2), hidden, logits), 12
        );
        // A residual layer that changes the width, and a residual last layer.
        _expectMalformed(abi.encodePacked(fixedPart, layerHeader(1, 4, 1, 12), logits), 13);
        _expectMalformed(abi.encodePacked(fixedPart, hidden, layerHeader(1, 3, 0, 0)), 23);
        // A hidden layer without requantization, a last layer with one.
        _expectMalformed(abi.encodePacked(fixedPart, layerHeader(0, 4, 0, 12), logits), 18);
        _expectMalformed(abi.encodePacked(fixedPart, layerHeader(0, 4, 1, 63), logits), 18);
        _expectMalformed(abi.encodePacked(fixedPart, hidden, layerHeader(0, 3, 1, 1)), 28);
        // Not three logits.
        _expectMalformed(abi.encodePacked(fixedPart, hidden, layerHeader(0, 2, 0, 0)), 24);

        bytes memory narrow =
            abi.encodePacked(WNET, uint8(1), uint8(2), uint32(9), uint16(2), uint8(1), hidden, logits);
        // 256 -> 1,025 -> 3 in one-neuron chunks: 1,028 chunks, more than a commitment may carry.
        bytes memory long = abi.encodePacked(
            WNET, uint8(1), uint8(2), uint32(256), uint16(1), uint8(1), layerHeader(0, 1025, 1, 12), logits
        );
        vm.expectRevert(abi.encodeWithSelector(NetworkAgentVerifier.TraceTooLong.selector, 1028, 1024));
        new NetworkAgentVerifier(long, root, params(100));

        vm.expectRevert(abi.encodeWithSelector(NetworkAgentVerifier.InputWidthMismatch.selector, 9, 256));
        new NetworkAgentVerifier(narrow, root, params(100));
    }

    // ------------------------------------------------------------------------------------------
    // Gas of the worst step
    // ------------------------------------------------------------------------------------------

    event log_named_uint(string key, uint256 val);

    /// @dev The reference large model, 256 -> 1024 -> 1024 (residual) -> 512 -> 3 in 32-neuron chunks
    /// (1.84 M parameters, 81 chunks): its largest chunk is 32 rows of the residual layer's 1,024
    /// inputs. The proof shows the previous layer's 1,024 outputs (checked against 32 chunk hashes),
    /// the 32.9 kB weight chunk and its 7-level Merkle proof. Issue #14's budget: 3 M gas.
    function test_gas_worstStepOfTheReferenceLargeModel() public {
        uint32[] memory widths = new uint32[](4);
        (widths[0], widths[1], widths[2], widths[3]) = (1024, 1024, 512, 3);
        (uint256 execution, uint256 calldataGas) = _worstStep(widths, 1, 32);
        emit log_named_uint("1.84 M parameters, worst step: execution", execution);
        emit log_named_uint("1.84 M parameters, worst step: calldata", calldataGas);
        emit log_named_uint("1.84 M parameters, worst step: transaction", 21_000 + execution + calldataGas);
        assertLe(21_000 + execution + calldataGas, 3_000_000, "within 3 M gas");
    }

    /// @dev A 10 M-parameter model, 256 -> 2048 -> 2048 (residual) -> 2048 (residual) -> 512 -> 3 in
    /// 16-neuron chunks (9.97 M parameters): its worst step must fit one transaction (EIP-7825 caps a
    /// transaction at 2^24 gas).
    function test_gas_worstStepOfA10MParameterModel() public {
        uint32[] memory widths = new uint32[](5);
        (widths[0], widths[1], widths[2], widths[3], widths[4]) = (2048, 2048, 2048, 512, 3);
        (uint256 execution, uint256 calldataGas) = _worstStep(widths, 2, 16);
        emit log_named_uint("9.97 M parameters, worst step: execution", execution);
        emit log_named_uint("9.97 M parameters, worst step: calldata", calldataGas);
        emit log_named_uint("9.97 M parameters, worst step: transaction", 21_000 + execution + calldataGas);
        assertLe(21_000 + execution + calldataGas, 1 << 24, "within the per-transaction cap");
    }

    /// @dev Where a layer's chunks start among a network's, and how many there are.
    struct Layout {
        bytes header;
        uint256 chunks;
        uint256 firstChunk;
        uint256 previousFirst;
    }

    /// @dev Gas of proving chunk 0 of layer `target` (a residual layer) of a network of `widths` over
    /// 256 features, hidden layers residual where the width repeats: a verifier whose root is built
    /// from that one leaf and made-up siblings, a trace whose previous layer matches the input shown.
    function _worstStep(uint32[] memory widths, uint256 target, uint256 rows)
        private
        returns (uint256 execution, uint256 calldataGas)
    {
        Layout memory layout = _layout(widths, target, rows);
        uint256 layerInputs = widths[target - 1];
        bytes memory previous = new bytes(layerInputs);
        for (uint256 i; i < layerInputs; ++i) {
            previous[i] = bytes1(uint8(uint256(keccak256(abi.encode("x", i))) % 128));
        }
        bytes memory weights = new bytes(rows * (layerInputs + 4));
        for (uint256 i; i < weights.length; ++i) {
            weights[i] = bytes1(uint8(uint256(keccak256(abi.encode("w", i)))));
        }
        (bytes32[] memory siblings, bytes32 madeUpRoot) =
            _madeUpPath(weights, layout.firstChunk, layout.chunks);
        NetworkAgentVerifier large = new NetworkAgentVerifier(layout.header, madeUpRoot, params(100));

        bytes32[] memory trace = _traceCommitting(layout, target - 1, previous, rows);
        TraceStep memory step = TraceStep({
            kind: 1,
            // forge-lint: disable-next-line(unsafe-typecast)
            layer: uint16(target),
            chunk: 0,
            layerInput: previous,
            weights: weights,
            siblings: siblings
        });
        bytes memory call = abi.encodeCall(NetworkAgentVerifier.disproves, (encodedInput, "", trace, step));
        (execution, calldataGas) = _measureCall(address(large), call);
    }

    /// @dev A trace of the layout's length that commits `values` as layer `layer`'s output (the
    /// layer before the target) and nothing else.
    function _traceCommitting(Layout memory layout, uint256 layer, bytes memory values, uint256 rows)
        private
        pure
        returns (bytes32[] memory trace)
    {
        trace = new bytes32[](layout.chunks);
        for (uint256 k; k * rows < values.length; ++k) {
            uint256 count = values.length - k * rows < rows ? values.length - k * rows : rows;
            // A test network's layers and chunks are few: the casts keep their values.
            // forge-lint: disable-next-line(unsafe-typecast)
            (uint16 layerIndex, uint32 chunkIndex) = (uint16(layer), uint32(k));
            trace[layout.previousFirst + k] =
                WardenNetwork.chunkHash(layerIndex, chunkIndex, values, k * rows, count);
        }
    }

    function _layout(uint32[] memory widths, uint256 target, uint256 rows)
        private
        pure
        returns (Layout memory layout)
    {
        // A few layers of a few rows: the casts keep their values.
        // forge-lint: disable-next-line(unsafe-typecast)
        (uint8 layerCount, uint16 rowCount) = (uint8(widths.length), uint16(rows));
        layout.header = abi.encodePacked(WNET, uint8(1), layerCount, uint32(256), rowCount, uint8(1));
        uint256 inputs = 256;
        for (uint256 i; i < widths.length; ++i) {
            bool last = i + 1 == widths.length;
            uint8 kind = !last && widths[i] == inputs ? 1 : 0;
            layout.header = abi.encodePacked(
                layout.header, layerHeader(kind, widths[i], last ? int32(0) : int32(1), last ? 0 : 10)
            );
            if (i + 1 == target) layout.previousFirst = layout.chunks;
            if (i == target) layout.firstChunk = layout.chunks;
            layout.chunks += (widths[i] + rows - 1) / rows;
            inputs = widths[i];
        }
    }

    /// @dev A Merkle path from `leaf` at `index` through made-up siblings, as deep as `leaves` needs.
    function _madeUpPath(bytes memory leaf, uint256 index, uint256 leaves)
        private
        pure
        returns (bytes32[] memory siblings, bytes32 node)
    {
        uint256 depth;
        // forge-lint: disable-next-line(incorrect-shift)
        while ((1 << depth) < leaves) ++depth;
        siblings = new bytes32[](depth);
        node = keccak256(leaf);
        for (uint256 level; level < depth; ++level) {
            siblings[level] = keccak256(abi.encode("sibling", level));
            node = index & 1 == 0
                ? keccak256(abi.encodePacked(node, siblings[level]))
                : keccak256(abi.encodePacked(siblings[level], node));
            index >>= 1;
        }
    }

    /// @dev A cold call's execution gas, and its calldata's charge (EIP-2028).
    function _measureCall(address target, bytes memory call)
        private
        returns (uint256 execution, uint256 calldataGas)
    {
        vm.cool(target);
        (bool ok, bytes memory result) = target.call(call);
        // The callee's own count, as a transaction calling it pays it (the caller's side of the call
        // here includes this test's memory, not the proof's).
        execution = vm.lastCallGas().gasTotalUsed;
        assertTrue(ok && abi.decode(result, (bool)), "the made-up committed chunk is disproved");
        for (uint256 i; i < call.length; ++i) {
            calldataGas += call[i] == 0 ? 4 : 16;
        }
    }

    function _expectMalformed(bytes memory badHeader, uint256 offset) private {
        vm.expectRevert(
            abi.encodeWithSelector(WardenNetwork.MalformedHeader.selector, offset, badHeader.length)
        );
        new NetworkAgentVerifier(badHeader, root, params(100));
    }
}
