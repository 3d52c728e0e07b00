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

    /// @notice The header is not a WNET v1 header: `offset` is the byte of the first problem (magic,
    /// version, layer count, input width, chunk rows, decoder, a layer's kind, width, residual or
    /// requantization, the last layer's width), `length` the header's length.
    error MalformedHeader(uint256 offset, uint256 length);
    /// @notice A chunk's values reach past the layer output they are cut from.
    error ValuesOutOfRange(uint256 length, uint256 end);
    /// @notice The network has no layer `index`.
    error NoSuchLayer(uint256 index, uint256 layers);

    /// @dev The header's fixed part and each layer's entry (`warden_agent::network`'s format).
    uint256 internal constant FIXED_HEADER_LEN = 13;
    /// @dev "WNET", the file's first four bytes, as a big-endian integer.
    uint256 internal constant MAGIC = 0x574e4554;
    uint256 internal constant LAYER_HEADER_LEN = 10;
    uint256 internal constant MAX_LAYERS = 64;
    uint256 internal constant MAX_WIDTH = 65_536;
    uint256 internal constant MAX_CHUNK_ROWS = 4096;
    /// @dev The reference policy's decoder: three logits, hold, buy and sell.
    uint8 internal constant DECODER_THREE_LOGITS = 1;

    /// @notice A layer as its header describes it, and where its chunks start among the trace's
    /// hashes and the weights' leaves (the same place: both list chunks layer by layer).
    struct Shape {
        Layer layer;
        uint256 inputs;
        uint256 outputs;
        uint256 firstChunk;
    }

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
                // The network's validation bounds every accumulator to int32: the low 32 bits are
                // its two's complement.
                // forge-lint: disable-next-line(unsafe-typecast)
                uint32 word = uint32(uint256(acc) & 0xffffffff);
                assembly ("memory-safe") {
                    mstore8(add(preimage, add(38, mul(row, 4))), shr(24, word))
                    mstore8(add(preimage, add(39, mul(row, 4))), shr(16, word))
                    mstore8(add(preimage, add(40, mul(row, 4))), shr(8, word))
                    mstore8(add(preimage, add(41, mul(row, 4))), word)
                }
            } else {
                // Rounding half up: add 2^(shift-1), then shift arithmetically (floor).
                // forge-lint: disable-next-line(incorrect-shift)
                int256 value = (acc * layer.multiplier + int256(1 << (layer.shift - 1))) >> layer.shift;
                if (layer.residual) value += int8(uint8(input[firstNeuron + row]));
                if (value < 0) value = 0;
                if (value > 127) value = 127;
                // Clamped to [0, 127] just above.
                // forge-lint: disable-next-line(unsafe-typecast)
                preimage[6 + row] = bytes1(uint8(uint256(value)));
            }
        }
        return keccak256(preimage);
    }

    /// @notice Validates a WNET v1 header (the file's bytes before the weights) and returns its
    /// input width, its rows per chunk and the number of output chunks of all layers, which is the
    /// length of every trace and the number of weight leaves. Reverts with `MalformedHeader`.
    function validateHeader(bytes memory header)
        internal
        pure
        returns (uint256 inputWidth, uint256 rows, uint256 chunks)
    {
        uint256 length = header.length;
        if (length < FIXED_HEADER_LEN || _read(header, 0, 4) != MAGIC) {
            revert MalformedHeader(0, length);
        }
        if (_read(header, 4, 1) != 1) revert MalformedHeader(4, length);
        uint256 layers = _read(header, 5, 1);
        if (layers == 0 || layers > MAX_LAYERS || length != FIXED_HEADER_LEN + layers * LAYER_HEADER_LEN) {
            revert MalformedHeader(5, length);
        }
        inputWidth = _read(header, 6, 4);
        if (inputWidth == 0 || inputWidth > MAX_WIDTH) revert MalformedHeader(6, length);
        rows = _read(header, 10, 2);
        if (rows == 0 || rows > MAX_CHUNK_ROWS) revert MalformedHeader(10, length);
        if (_read(header, 12, 1) != DECODER_THREE_LOGITS) revert MalformedHeader(12, length);
        uint256 inputs = inputWidth;
        for (uint256 i; i < layers; ++i) {
            uint256 at = FIXED_HEADER_LEN + i * LAYER_HEADER_LEN;
            uint256 kind = _read(header, at, 1);
            uint256 outputs = _read(header, at + 1, 4);
            bool last = i + 1 == layers;
            if (kind > 1 || (kind == 1 && (last || outputs != inputs))) revert MalformedHeader(at, length);
            if (outputs == 0 || outputs > MAX_WIDTH) revert MalformedHeader(at + 1, length);
            uint256 multiplier = _read(header, at + 5, 4);
            uint256 shift = _read(header, at + 9, 1);
            bool valid = last
                ? multiplier == 0 && shift == 0
                : multiplier != 0 && multiplier < 2 ** 31 && shift != 0 && shift <= 62;
            if (!valid) revert MalformedHeader(at + 5, length);
            chunks += (outputs + rows - 1) / rows;
            inputs = outputs;
        }
        if (inputs != 3) {
            revert MalformedHeader(FIXED_HEADER_LEN + (layers - 1) * LAYER_HEADER_LEN + 1, length);
        }
    }

    /// @notice The number of layers of a validated header.
    function layerCount(bytes memory header) internal pure returns (uint256) {
        return _read(header, 5, 1);
    }

    /// @notice Layer `index` of a validated header. Reverts with `NoSuchLayer` past the last.
    function shapeOf(bytes memory header, uint256 index) internal pure returns (Shape memory shape) {
        uint256 layers = _read(header, 5, 1);
        if (index >= layers) revert NoSuchLayer(index, layers);
        uint256 rows = _read(header, 10, 2);
        uint256 inputs = _read(header, 6, 4);
        uint256 firstChunk;
        for (uint256 i; i < index; ++i) {
            uint256 outputs = _read(header, FIXED_HEADER_LEN + i * LAYER_HEADER_LEN + 1, 4);
            firstChunk += (outputs + rows - 1) / rows;
            inputs = outputs;
        }
        uint256 at = FIXED_HEADER_LEN + index * LAYER_HEADER_LEN;
        // A validated header keeps the multiplier below 2^31 and the shift below 63.
        shape = Shape({
            layer: Layer({
                // forge-lint: disable-next-line(unsafe-typecast)
                index: uint16(index),
                last: index + 1 == layers,
                residual: _read(header, at, 1) == 1,
                // forge-lint: disable-next-line(unsafe-typecast)
                multiplier: int32(uint32(_read(header, at + 5, 4))),
                // forge-lint: disable-next-line(unsafe-typecast)
                shift: uint8(_read(header, at + 9, 1))
            }),
            inputs: inputs,
            outputs: _read(header, at + 1, 4),
            firstChunk: firstChunk
        });
    }

    /// @notice `keccak256(uint16 layer ‖ uint32 chunk ‖ values[start, start + length))`: the hash of an
    /// output chunk whose values are a slice of a layer's whole output.
    function chunkHash(uint16 layer, uint32 chunk, bytes memory values, uint256 start, uint256 length)
        internal
        pure
        returns (bytes32 hash)
    {
        if (start + length > values.length) revert ValuesOutOfRange(values.length, start + length);
        assembly ("memory-safe") {
            let preimage := mload(0x40)
            mstore(preimage, or(shl(240, and(layer, 0xffff)), shl(208, and(chunk, 0xffffffff))))
            mcopy(add(preimage, 6), add(add(values, 32), start), length)
            hash := keccak256(preimage, add(6, length))
        }
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

    /// @dev The big-endian unsigned integer of `size` bytes (at most 32) at `offset`, which the
    /// callers keep within `data`.
    function _read(bytes memory data, uint256 offset, uint256 size) private pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := shr(sub(256, shl(3, size)), mload(add(add(data, 32), offset)))
        }
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
