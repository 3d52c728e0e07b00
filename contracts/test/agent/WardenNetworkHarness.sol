// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AgentInput} from "../../src/agent/AgentTypes.sol";
import {PriceMatrix} from "../../src/agent/PriceMatrix.sol";
import {WardenNetwork} from "../../src/libraries/WardenNetwork.sol";

/// @dev Exposes the library to external calls: for expected reverts, for a proof's gas as a
/// transaction spends it (the chunk comes in as calldata), and for the Rust differential test
/// (crates/agent/tests/differential.rs), with the large agent's features.
contract WardenNetworkHarness {
    function outputChunkHash(
        WardenNetwork.Layer memory layer,
        uint32 chunk,
        uint256 firstNeuron,
        bytes memory input,
        bytes memory weights
    ) external pure returns (bytes32) {
        return WardenNetwork.outputChunkHash(layer, chunk, firstNeuron, input, weights);
    }

    function priceMatrix(AgentInput memory input) external pure returns (bytes memory) {
        return PriceMatrix.features(input);
    }

    function verifyWeightChunk(bytes memory weights, uint256 index, bytes32[] memory siblings, bytes32 root)
        external
        pure
        returns (bool)
    {
        return WardenNetwork.verifyWeightChunk(weights, index, siblings, root);
    }
}
