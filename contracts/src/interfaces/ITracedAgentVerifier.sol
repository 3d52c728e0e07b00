// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {IAgentVerifier} from "./IAgentVerifier.sol";

/// @notice One step of an agent's run, shown to its verifier to prove the committed output or
/// activation trace wrong (`ITracedAgentVerifier.disproves`).
struct TraceStep {
    /// @dev `TRACE_LENGTH` (0): the trace has the wrong number of chunk hashes; `OUTPUT_CHUNK` (1):
    /// chunk `chunk` of layer `layer` is not what the layer computes from its committed input;
    /// `DECODED_ACTION` (2): the committed last layer does not decode to the committed output.
    uint8 kind;
    uint16 layer;
    uint32 chunk;
    /// @dev `OUTPUT_CHUNK`: the layer's input, the previous layer's whole output as the trace commits
    /// it (ignored for layer 0, whose input the verifier computes from the snapshot).
    /// `DECODED_ACTION`: the last layer's whole output (the logits).
    bytes layerInput;
    /// @dev `OUTPUT_CHUNK`: the chunk's weight rows and biases, as the network file holds them.
    bytes weights;
    /// @dev `OUTPUT_CHUNK`: the Merkle proof of `weights` under the network's weights root.
    bytes32[] siblings;
}

/// @title ITracedAgentVerifier
/// @notice The verifier of an agent too large to re-run on chain: its operators commit to every
/// intermediate result (the activation trace, a list of output-chunk hashes), and a challenge proves
/// one step of the run wrong in one transaction instead of re-running it all.
interface ITracedAgentVerifier is IAgentVerifier {
    /// @notice How many chunk hashes an honest trace holds.
    function traceLength() external view returns (uint256);

    /// @notice Whether `step` proves that `output` and `trace`, committed for the snapshot `input`,
    /// are not what the agent computes. False for a step that checks out: the committed run is right
    /// there. Reverts when the step itself is unsound (a weight chunk that is not the network's, a
    /// layer input the trace does not commit, a chunk the layer does not have), so that a malformed
    /// challenge is refused rather than judged.
    function disproves(
        bytes calldata input,
        bytes calldata output,
        bytes32[] calldata trace,
        TraceStep calldata step
    ) external view returns (bool);
}
