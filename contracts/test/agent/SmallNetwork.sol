// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AgentInput} from "../../src/agent/AgentTypes.sol";
import {MlpPolicy} from "../../src/agent/MlpPolicy.sol";
import {TraceStep} from "../../src/interfaces/ITracedAgentVerifier.sol";
import {WardenNetwork} from "../../src/libraries/WardenNetwork.sol";

/// @dev A small network in the large agents' format, built and run by the tests themselves: 256
/// price features -> 4 (dense) -> 4 (residual) -> 3 logits, two neurons per chunk, so six chunks (two
/// per layer, the last one short) under a Merkle root of eight leaves. Weights in [-8, 8] and biases
/// in [-500, 500] drawn from keccak. Its forward pass is the test's own, written from the format's
/// statement (`warden_agent::network`), not the contract's.
abstract contract SmallNetwork {
    uint256 internal constant ROWS = 2;
    uint256 internal constant LAYERS = 3;
    uint256 internal constant CHUNKS = 6;
    /// @dev "WNET", a network file's first four bytes.
    bytes4 internal constant WNET = 0x574e4554;

    bytes internal header;
    bytes[CHUNKS] internal weightChunks;
    bytes32 internal root;

    function buildSmallNetwork() internal {
        // forge-lint: disable-next-line(unsafe-typecast)
        header = abi.encodePacked(WNET, uint8(1), uint8(LAYERS), uint32(256), uint16(ROWS), uint8(1));
        header = abi.encodePacked(
            header, layerHeader(0, 4, 1, 12), layerHeader(1, 4, 1, 6), layerHeader(0, 3, 0, 0)
        );
        uint256 leaf;
        uint256 inputs = 256;
        for (uint256 layer; layer < LAYERS; ++layer) {
            uint256 outputs = _outputs(layer);
            for (uint256 first; first < outputs; first += ROWS) {
                uint256 rows = outputs - first < ROWS ? outputs - first : ROWS;
                weightChunks[leaf++] = _weightChunk(layer, first, rows, inputs);
            }
            inputs = outputs;
        }
        root = _root();
    }

    /// @dev Every layer's whole output for the network's input `features`.
    function runAll(bytes memory features) internal view returns (bytes[LAYERS] memory outputs) {
        bytes memory x = features;
        for (uint256 layer; layer < LAYERS; ++layer) {
            x = runLayer(layer, x);
            outputs[layer] = x;
        }
    }

    function _outputs(uint256 layer) private pure returns (uint256) {
        return layer == 2 ? 3 : 4;
    }

    function layerHeader(uint8 kind, uint32 outputs, int32 multiplier, uint8 shift)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(kind, outputs, multiplier, shift);
    }

    /// @dev Rows of weights in [-8, 8] and biases in [-500, 500], drawn from keccak.
    function _weightChunk(uint256 layer, uint256 first, uint256 rows, uint256 inputs)
        private
        pure
        returns (bytes memory chunk)
    {
        chunk = new bytes(rows * (inputs + 4));
        for (uint256 row; row < rows; ++row) {
            for (uint256 i; i < inputs; ++i) {
                int256 w = int256(uint256(keccak256(abi.encode(layer, first + row, i))) % 17) - 8;
                // forge-lint: disable-next-line(unsafe-typecast)
                chunk[row * inputs + i] = bytes1(uint8(int8(w)));
            }
            int256 bias = int256(uint256(keccak256(abi.encode("bias", layer, first + row))) % 1001) - 500;
            // forge-lint: disable-next-line(unsafe-typecast)
            bytes4 word = bytes4(uint32(int32(bias)));
            for (uint256 b; b < 4; ++b) {
                chunk[rows * inputs + row * 4 + b] = word[b];
            }
        }
    }

    function _root() private view returns (bytes32) {
        bytes32[] memory level = new bytes32[](8);
        for (uint256 i; i < CHUNKS; ++i) {
            level[i] = keccak256(weightChunks[i]);
        }
        while (level.length > 1) {
            bytes32[] memory up = new bytes32[](level.length / 2);
            for (uint256 i; i < up.length; ++i) {
                up[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
            level = up;
        }
        return level[0];
    }

    function _proof(uint256 index) private view returns (bytes32[] memory siblings) {
        bytes32[] memory level = new bytes32[](8);
        for (uint256 i; i < CHUNKS; ++i) {
            level[i] = keccak256(weightChunks[i]);
        }
        siblings = new bytes32[](3);
        for (uint256 depth; depth < 3; ++depth) {
            siblings[depth] = level[index ^ 1];
            bytes32[] memory up = new bytes32[](level.length / 2);
            for (uint256 i; i < up.length; ++i) {
                up[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
            level = up;
            index >>= 1;
        }
    }

    /// @dev The layer's whole output for input `x`, computed neuron by neuron as the format states.
    function runLayer(uint256 layer, bytes memory x) internal view returns (bytes memory y) {
        uint256 outputs = _outputs(layer);
        bool last = layer == LAYERS - 1;
        y = new bytes(outputs * (last ? 4 : 1));
        for (uint256 neuron; neuron < outputs; ++neuron) {
            bytes memory chunk = weightChunks[2 * layer + neuron / ROWS];
            uint256 rows = chunk.length / (x.length + 4);
            uint256 row = neuron % ROWS;
            int256 acc;
            for (uint256 i; i < x.length; ++i) {
                acc += int256(int8(uint8(chunk[row * x.length + i]))) * int256(int8(uint8(x[i])));
            }
            uint256 at = rows * x.length + row * 4;
            acc += int256(
                int32(
                    uint32(bytes4(abi.encodePacked(chunk[at], chunk[at + 1], chunk[at + 2], chunk[at + 3])))
                )
            );
            if (last) {
                // forge-lint: disable-next-line(unsafe-typecast)
                bytes4 word = bytes4(uint32(int32(acc)));
                for (uint256 b; b < 4; ++b) {
                    y[neuron * 4 + b] = word[b];
                }
            } else {
                (int256 multiplier, uint256 shift) =
                    layer == 0 ? (int256(1), uint256(12)) : (int256(1), uint256(6));
                // Rounding half up, then an arithmetic shift (floor).
                // forge-lint: disable-next-line(incorrect-shift)
                int256 value = (acc * multiplier + int256(1 << (shift - 1))) >> shift;
                if (layer == 1) value += int256(int8(uint8(x[neuron])));
                value = value < 0 ? int256(0) : value > 127 ? int256(127) : value;
                // forge-lint: disable-next-line(unsafe-typecast)
                y[neuron] = bytes1(uint8(uint256(value)));
            }
        }
    }

    function traceOf(bytes[LAYERS] memory outputs) internal pure returns (bytes32[] memory trace) {
        trace = new bytes32[](CHUNKS);
        uint256 k;
        for (uint256 layer; layer < LAYERS; ++layer) {
            uint256 width = layer == LAYERS - 1 ? 4 : 1;
            uint256 count = _outputs(layer);
            for (uint256 first; first < count; first += ROWS) {
                uint256 rows = count - first < ROWS ? count - first : ROWS;
                // forge-lint: disable-next-line(unsafe-typecast)
                (uint16 layerIndex, uint32 chunkIndex) = (uint16(layer), uint32(first / ROWS));
                trace[k++] = WardenNetwork.chunkHash(
                    layerIndex, chunkIndex, outputs[layer], first * width, rows * width
                );
            }
        }
    }

    /// @dev The action the logits decode to, as the reference policy decodes them.
    function decodeLogits(bytes memory logitBytes, AgentInput memory snapshot_, MlpPolicy.Params memory p)
        internal
        pure
        returns (bytes memory)
    {
        int256[] memory logits = new int256[](3);
        for (uint256 i; i < 3; ++i) {
            bytes4 word = bytes4(
                abi.encodePacked(
                    logitBytes[4 * i], logitBytes[4 * i + 1], logitBytes[4 * i + 2], logitBytes[4 * i + 3]
                )
            );
            logits[i] = int256(int32(uint32(word)));
        }
        (uint8 kind, uint256 margin) = MlpPolicy.decide(logits);
        return MlpPolicy.encodeAction(kind, MlpPolicy.sizeBps(kind, margin, p), snapshot_, p);
    }

    function chunkStep(uint256 layer, uint256 chunk, bytes[LAYERS] memory outputs)
        internal
        view
        returns (TraceStep memory)
    {
        return TraceStep({
            kind: 1,
            // forge-lint: disable-next-line(unsafe-typecast)
            layer: uint16(layer),
            // forge-lint: disable-next-line(unsafe-typecast)
            chunk: uint32(chunk),
            layerInput: layer == 0 ? bytes("") : outputs[layer - 1],
            weights: weightChunks[2 * layer + chunk],
            siblings: _proof(2 * layer + chunk)
        });
    }

    function decodeStep(bytes[LAYERS] memory outputs) internal pure returns (TraceStep memory) {
        return TraceStep({
            kind: 2,
            layer: 0,
            chunk: 0,
            layerInput: outputs[LAYERS - 1],
            weights: "",
            siblings: new bytes32[](0)
        });
    }

    function lengthStep() internal pure returns (TraceStep memory) {
        return
            TraceStep({kind: 0, layer: 0, chunk: 0, layerInput: "", weights: "", siblings: new bytes32[](0)});
    }
}
