// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @title WardenNetwork
/// @notice One output chunk of a WNET v1 network layer, recomputed on chain, and the Merkle proof of
/// the weight chunk behind it: what a one-step fraud proof against a large agent's committed trace
/// needs (issue #14). Bit-exact with `warden_agent::network` in Rust, whose module documentation
/// specifies the format, the arithmetic and the hashes.
/// @dev A layer's output chunk `k` is neurons [kR, kR + r) of that layer. Its weight chunk holds their
/// `r` rows of `n` int8 weights (row-major), then their `r` int32 biases, big-endian; `n` is the
/// layer's input width. A hidden layer's neuron outputs
/// `clamp(floor((acc * multiplier + 2^(shift-1)) / 2^shift) + residual, 0, 127)` as one byte; the
/// last layer's outputs its accumulator as four big-endian bytes. The chunk's hash is
/// `keccak256(uint16 layer ‖ uint32 chunk ‖ values)`.
library WardenNetwork {
    /// @notice The weight chunk's length is not one or more whole rows of `inputs` weights and a bias.
    error MalformedWeightChunk(uint256 length, uint256 inputs);
    /// @notice A residual chunk reaches past its layer's input.
    error ResidualOutOfRange(uint256 firstNeuron, uint256 rows, uint256 inputs);
    /// @notice A hidden layer's requantization is out of range (multiplier 1 to 2^31-1, shift 1 to 62).
    error InvalidRequantization(int256 multiplier, uint256 shift);

    /// @notice How a layer turns its accumulators into outputs.
    struct Layer {
        /// Position of the layer in the network (0 for the first).
        uint16 index;
        /// Whether it is the last layer, which outputs its accumulators (the logits).
        bool last;
        /// Whether it adds its input to each output (its outputs are as wide as its inputs).
        bool residual;
        /// Requantization of a hidden layer; zero for the last layer.
        int32 multiplier;
        uint8 shift;
    }

    /// @notice The hash of output chunk `chunk` of `layer`, computed from the layer's full input and
    /// the chunk's weights; `firstNeuron` is the chunk's first neuron (chunk × the network's R).
    /// @param input The layer's input, one int8 per byte (the network's input for layer 0, else the
    /// previous layer's activations).
    /// @param weights The chunk's weight rows, then its biases, as the network file holds them.
    function outputChunkHash(
        Layer memory layer,
        uint32 chunk,
        uint256 firstNeuron,
        bytes memory input,
        bytes memory weights
    ) internal pure returns (bytes32) {
        uint256 inputs = input.length;
        if (inputs == 0 || weights.length == 0 || weights.length % (inputs + 4) != 0) {
            revert MalformedWeightChunk(weights.length, inputs);
        }
        uint256 rows = weights.length / (inputs + 4);
        if (layer.residual && (rows > inputs || firstNeuron > inputs - rows)) {
            revert ResidualOutOfRange(firstNeuron, rows, inputs);
        }
        if (!layer.last && (layer.multiplier < 1 || layer.shift < 1 || layer.shift > 62)) {
            revert InvalidRequantization(layer.multiplier, layer.shift);
        }
        uint256 width = layer.last ? 4 : 1;
        bytes memory preimage = new bytes(6 + rows * width);
        assembly ("memory-safe") {
            let out := add(preimage, 32)
            // uint16 layer ‖ uint32 chunk, big-endian, in the first six bytes (masked: a short type's
            // high bits are not guaranteed clean in assembly).
            mstore(out, or(shl(240, and(mload(layer), 0xffff)), shl(208, and(chunk, 0xffffffff))))
        }
        for (uint256 row; row < rows; ++row) {
            int256 acc = _accumulate(input, weights, row, rows);
            if (layer.last) {
                // The network's validation bounds every accumulator to int32.
                uint32 word = uint32(uint256(acc) & 0xffffffff);
                assembly ("memory-safe") {
                    mstore8(add(preimage, add(38, mul(row, 4))), shr(24, word))
                    mstore8(add(preimage, add(39, mul(row, 4))), shr(16, word))
                    mstore8(add(preimage, add(40, mul(row, 4))), shr(8, word))
                    mstore8(add(preimage, add(41, mul(row, 4))), word)
                }
            } else {
                int256 value = (acc * layer.multiplier + int256(1 << (layer.shift - 1))) >> layer.shift;
                if (layer.residual) value += int8(uint8(input[firstNeuron + row]));
                if (value < 0) value = 0;
                if (value > 127) value = 127;
                preimage[6 + row] = bytes1(uint8(uint256(value)));
            }
        }
        return keccak256(preimage);
    }

    /// @notice Whether `siblings` prove the weight chunk `weights` as leaf `index` under `root`
    /// (leaves are `keccak256` of each chunk, pairs `keccak256(left ‖ right)`).
    function verifyWeightChunk(bytes memory weights, uint256 index, bytes32[] memory siblings, bytes32 root)
        internal
        pure
        returns (bool)
    {
        bytes32 node = keccak256(weights);
        for (uint256 i; i < siblings.length; ++i) {
            node = index & 1 == 0
                ? keccak256(abi.encodePacked(node, siblings[i]))
                : keccak256(abi.encodePacked(siblings[i], node));
            index >>= 1;
        }
        return index == 0 && node == root;
    }

    /// @dev `bias + Σ w·x` of row `row`: weights and inputs read 32 bytes at a time, each byte
    /// sign-extended (inputs of hidden layers are in [0, 127], so extending them changes nothing).
    function _accumulate(bytes memory input, bytes memory weights, uint256 row, uint256 rows)
        private
        pure
        returns (int256 acc)
    {
        uint256 inputs = input.length;
        assembly ("memory-safe") {
            let w := add(add(weights, 32), mul(row, inputs))
            let x := add(input, 32)
            let full := and(inputs, not(31))
            for { let i := 0 } lt(i, full) { i := add(i, 32) } {
                let ww := mload(add(w, i))
                let xx := mload(add(x, i))
                // Unrolled: a loop's counter and jump would cost more than the multiply-add.
                acc := add(acc, mul(signextend(0, byte(0, ww)), signextend(0, byte(0, xx))))
                acc := add(acc, mul(signextend(0, byte(1, ww)), signextend(0, byte(1, xx))))
                acc := add(acc, mul(signextend(0, byte(2, ww)), signextend(0, byte(2, xx))))
                acc := add(acc, mul(signextend(0, byte(3, ww)), signextend(0, byte(3, xx))))
                acc := add(acc, mul(signextend(0, byte(4, ww)), signextend(0, byte(4, xx))))
                acc := add(acc, mul(signextend(0, byte(5, ww)), signextend(0, byte(5, xx))))
                acc := add(acc, mul(signextend(0, byte(6, ww)), signextend(0, byte(6, xx))))
                acc := add(acc, mul(signextend(0, byte(7, ww)), signextend(0, byte(7, xx))))
                acc := add(acc, mul(signextend(0, byte(8, ww)), signextend(0, byte(8, xx))))
                acc := add(acc, mul(signextend(0, byte(9, ww)), signextend(0, byte(9, xx))))
                acc := add(acc, mul(signextend(0, byte(10, ww)), signextend(0, byte(10, xx))))
                acc := add(acc, mul(signextend(0, byte(11, ww)), signextend(0, byte(11, xx))))
                acc := add(acc, mul(signextend(0, byte(12, ww)), signextend(0, byte(12, xx))))
                acc := add(acc, mul(signextend(0, byte(13, ww)), signextend(0, byte(13, xx))))
                acc := add(acc, mul(signextend(0, byte(14, ww)), signextend(0, byte(14, xx))))
                acc := add(acc, mul(signextend(0, byte(15, ww)), signextend(0, byte(15, xx))))
                acc := add(acc, mul(signextend(0, byte(16, ww)), signextend(0, byte(16, xx))))
                acc := add(acc, mul(signextend(0, byte(17, ww)), signextend(0, byte(17, xx))))
                acc := add(acc, mul(signextend(0, byte(18, ww)), signextend(0, byte(18, xx))))
                acc := add(acc, mul(signextend(0, byte(19, ww)), signextend(0, byte(19, xx))))
                acc := add(acc, mul(signextend(0, byte(20, ww)), signextend(0, byte(20, xx))))
                acc := add(acc, mul(signextend(0, byte(21, ww)), signextend(0, byte(21, xx))))
                acc := add(acc, mul(signextend(0, byte(22, ww)), signextend(0, byte(22, xx))))
                acc := add(acc, mul(signextend(0, byte(23, ww)), signextend(0, byte(23, xx))))
                acc := add(acc, mul(signextend(0, byte(24, ww)), signextend(0, byte(24, xx))))
                acc := add(acc, mul(signextend(0, byte(25, ww)), signextend(0, byte(25, xx))))
                acc := add(acc, mul(signextend(0, byte(26, ww)), signextend(0, byte(26, xx))))
                acc := add(acc, mul(signextend(0, byte(27, ww)), signextend(0, byte(27, xx))))
                acc := add(acc, mul(signextend(0, byte(28, ww)), signextend(0, byte(28, xx))))
                acc := add(acc, mul(signextend(0, byte(29, ww)), signextend(0, byte(29, xx))))
                acc := add(acc, mul(signextend(0, byte(30, ww)), signextend(0, byte(30, xx))))
                acc := add(acc, mul(signextend(0, byte(31, ww)), signextend(0, byte(31, xx))))
            }
            for { let i := full } lt(i, inputs) { i := add(i, 1) } {
                acc := add(
                    acc,
                    mul(signextend(0, byte(0, mload(add(w, i)))), signextend(0, byte(0, mload(add(x, i)))))
                )
            }
            // The bias: four big-endian bytes after all rows' weights.
            let bias := shr(224, mload(add(add(add(weights, 32), mul(rows, inputs)), mul(row, 4))))
            acc := add(acc, signextend(3, bias))
        }
    }
}
