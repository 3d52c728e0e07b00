// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {SSTORE2} from "solady/utils/SSTORE2.sol";

import {IAgentVerifier} from "../interfaces/IAgentVerifier.sol";
import {ITracedAgentVerifier, TraceStep} from "../interfaces/ITracedAgentVerifier.sol";
import {TaskCommitments} from "../libraries/TaskCommitments.sol";
import {WardenNetwork} from "../libraries/WardenNetwork.sol";
import {AgentInput} from "./AgentTypes.sol";
import {MlpPolicy} from "./MlpPolicy.sol";
import {PolicyParams} from "./PolicyParams.sol";
import {PriceMatrix} from "./PriceMatrix.sol";

/// @dev `keccak256("warden.agent.network.v1")`: changes with any change to the features, the
/// network format's arithmetic, the trace or the decoding.
bytes32 constant NETWORK_AGENT_CODE_VERSION = keccak256("warden.agent.network.v1");

/// @notice A large agent's hash: `keccak256(abi.encode(NETWORK_AGENT_CODE_VERSION, keccak256(header
/// ‖ weightsRoot), params))` (`warden_agent::network_agent_hash`), with the network hash it binds.
function networkAgentHash(bytes memory header, bytes32 weightsRoot, MlpPolicy.Params memory params)
    pure
    returns (bytes32 agentHash, bytes32 networkHash)
{
    networkHash = keccak256(abi.encodePacked(header, weightsRoot));
    agentHash = keccak256(abi.encode(NETWORK_AGENT_CODE_VERSION, networkHash, params));
}

/// @title NetworkAgentVerifier
/// @notice The on-chain verifier of a large agent (issue #14): a WNET v1 network over the snapshot's
/// price matrix (`PriceMatrix`), decoded to a swap or a hold as the reference policy decodes its
/// logits. The network is far too large to run here; the verifier holds only its header and weights
/// root, and judges one step of a run against the run's committed trace (`disproves`).
/// @dev Immutable: another network or parameter set is another agent hash and another verifier.
contract NetworkAgentVerifier is ITracedAgentVerifier, PolicyParams {
    /// @notice `NETWORK_AGENT_CODE_VERSION`, part of the agent hash.
    bytes32 public constant AGENT_CODE_VERSION = NETWORK_AGENT_CODE_VERSION;

    /// @notice `TraceStep.kind`: the trace has the wrong number of chunk hashes.
    uint8 public constant TRACE_LENGTH = 0;
    /// @notice `TraceStep.kind`: an output chunk is not what its layer computes.
    uint8 public constant OUTPUT_CHUNK = 1;
    /// @notice `TraceStep.kind`: the last layer does not decode to the committed output.
    uint8 public constant DECODED_ACTION = 2;

    /// @notice The data contract holding the network's header (SSTORE2).
    address public immutable headerPointer;
    /// @notice The Merkle root of the network's weight chunks.
    bytes32 public immutable weightsRoot;
    /// @notice `keccak256(header ‖ weightsRoot)`: the network's hash (`warden_agent::network`).
    bytes32 public immutable networkHash;
    /// @inheritdoc IAgentVerifier
    bytes32 public immutable agentHash;
    /// @inheritdoc ITracedAgentVerifier
    uint256 public immutable traceLength;

    uint256 private immutable _rows;

    /// @notice Emitted once, at deployment, with everything the agent hash commits to.
    event NetworkAgentVerifierDeployed(
        bytes32 indexed agentHash,
        bytes32 indexed networkHash,
        address headerPointer,
        bytes32 weightsRoot,
        MlpPolicy.Params params
    );

    /// @notice The network's trace would be longer than a commitment may carry.
    error TraceTooLong(uint256 chunks, uint256 max);
    /// @notice The network reads another input width than the price matrix's 256.
    error InputWidthMismatch(uint256 inputWidth, uint256 features);
    /// @notice A large agent cannot be re-run on chain: its challenges prove one step of its trace.
    error TraceRequired();
    /// @notice `TraceStep.kind` is none of the three steps.
    error UnknownStep(uint8 kind);
    /// @notice The layer has no such output chunk.
    error NoSuchChunk(uint16 layer, uint32 chunk, uint256 chunks);
    /// @notice The weight chunk is not the network's chunk for that output chunk.
    error InvalidWeightProof(uint16 layer, uint32 chunk);
    /// @notice The layer output shown has another length than the layer's.
    error LayerOutputLength(uint16 layer, uint256 length, uint256 expected);
    /// @notice A chunk of the layer output shown does not hash to the trace's hash of that chunk.
    error UncommittedLayerOutput(uint16 layer, uint32 chunk);
    /// @notice The input is too short to decode as an `AgentInput`.
    error MalformedInput(uint256 length);

    /// @dev The smallest encoding of an `AgentInput`: tuple offset, ten head words, the history's
    /// length word.
    uint256 private constant MIN_INPUT_LENGTH = 32 * 12;

    /// @param header_ The network file's bytes before its weights (validated here).
    /// @param weightsRoot_ The Merkle root of its weight chunks.
    /// @param params_ The decoding's parameters, as the reference policy's (validated here).
    constructor(bytes memory header_, bytes32 weightsRoot_, MlpPolicy.Params memory params_)
        PolicyParams(params_)
    {
        (uint256 inputWidth, uint256 rows, uint256 chunks) = WardenNetwork.validateHeader(header_);
        if (inputWidth != PriceMatrix.WIDTH) revert InputWidthMismatch(inputWidth, PriceMatrix.WIDTH);
        if (chunks > TaskCommitments.MAX_TRACE_LENGTH) {
            revert TraceTooLong(chunks, TaskCommitments.MAX_TRACE_LENGTH);
        }
        (bytes32 agent, bytes32 network) = networkAgentHash(header_, weightsRoot_, params_);
        address pointer = SSTORE2.write(header_);
        headerPointer = pointer;
        weightsRoot = weightsRoot_;
        networkHash = network;
        agentHash = agent;
        traceLength = chunks;
        _rows = rows;
        emit NetworkAgentVerifierDeployed(agent, network, pointer, weightsRoot_, params_);
    }

    /// @inheritdoc IAgentVerifier
    /// @dev Always reverts with `TraceRequired`: the network is too large to run here.
    function evaluate(bytes calldata) external pure returns (bytes memory) {
        revert TraceRequired();
    }

    /// @inheritdoc IAgentVerifier
    function actionDeadlineSeconds() external view returns (uint32) {
        return _deadlineSeconds;
    }

    /// @inheritdoc ITracedAgentVerifier
    /// @dev A trace of the wrong length is disproved by any step. Otherwise `OUTPUT_CHUNK` recomputes
    /// one chunk from its layer's committed input (the snapshot's price matrix for layer 0) and its
    /// weights, proven under the root; `DECODED_ACTION` decodes the committed logits as the reference
    /// policy does and compares the action with the committed output.
    function disproves(
        bytes calldata input,
        bytes calldata output,
        bytes32[] calldata trace,
        TraceStep calldata step
    ) external view returns (bool) {
        if (trace.length != traceLength) return true;
        if (step.kind == TRACE_LENGTH) return false;
        if (step.kind != OUTPUT_CHUNK && step.kind != DECODED_ACTION) revert UnknownStep(step.kind);
        if (input.length < MIN_INPUT_LENGTH) revert MalformedInput(input.length);
        AgentInput memory snapshot = abi.decode(input, (AgentInput));
        bytes memory networkHeader = SSTORE2.read(headerPointer);
        if (step.kind == OUTPUT_CHUNK) return _disprovesChunk(networkHeader, snapshot, trace, step);
        uint256 last = WardenNetwork.layerCount(networkHeader) - 1;
        bytes memory logits = _committedOutput(networkHeader, trace, last, step.layerInput);
        return keccak256(_decode(logits, snapshot)) != keccak256(output);
    }

    /// @notice The network's header.
    function header() external view returns (bytes memory) {
        return SSTORE2.read(headerPointer);
    }

    /// @dev Whether the step's chunk, recomputed, differs from the trace's hash of it.
    function _disprovesChunk(
        bytes memory header_,
        AgentInput memory snapshot,
        bytes32[] calldata trace,
        TraceStep calldata step
    ) private view returns (bool) {
        WardenNetwork.Shape memory shape = WardenNetwork.shapeOf(header_, step.layer);
        uint256 rows = _rows;
        uint256 chunks = (shape.outputs + rows - 1) / rows;
        if (step.chunk >= chunks) revert NoSuchChunk(step.layer, step.chunk, chunks);
        bytes memory layerInput = step.layer == 0
            ? PriceMatrix.features(snapshot)
            : _committedOutput(header_, trace, step.layer - 1, step.layerInput);
        uint256 leaf = shape.firstChunk + step.chunk;
        if (!WardenNetwork.verifyWeightChunk(step.weights, leaf, step.siblings, weightsRoot)) {
            revert InvalidWeightProof(step.layer, step.chunk);
        }
        bytes32 recomputed = WardenNetwork.outputChunkHash(
            shape.layer, step.chunk, uint256(step.chunk) * rows, layerInput, step.weights
        );
        return recomputed != trace[leaf];
    }

    /// @dev `values` as layer `index`'s whole output, checked chunk by chunk against the trace.
    function _committedOutput(
        bytes memory header_,
        bytes32[] calldata trace,
        uint256 index,
        bytes memory values
    ) private view returns (bytes memory) {
        WardenNetwork.Shape memory shape = WardenNetwork.shapeOf(header_, index);
        uint256 width = shape.layer.last ? 4 : 1;
        uint256 expected = shape.outputs * width;
        if (values.length != expected) revert LayerOutputLength(shape.layer.index, values.length, expected);
        uint256 rows = _rows;
        for (uint256 start; start < shape.outputs; start += rows) {
            uint256 count = shape.outputs - start < rows ? shape.outputs - start : rows;
            // A layer has at most 65,536 outputs, so its chunk index fits.
            // forge-lint: disable-next-line(unsafe-typecast)
            uint32 chunk = uint32(start / rows);
            bytes32 hash =
                WardenNetwork.chunkHash(shape.layer.index, chunk, values, start * width, count * width);
            if (hash != trace[shape.firstChunk + chunk]) {
                revert UncommittedLayerOutput(shape.layer.index, chunk);
            }
        }
        return values;
    }

    /// @dev The action the logits (three big-endian int32) decode to, as the reference policy's.
    function _decode(bytes memory logitBytes, AgentInput memory snapshot)
        private
        view
        returns (bytes memory)
    {
        int256[] memory logits = new int256[](MlpPolicy.NUM_ACTIONS);
        for (uint256 i; i < MlpPolicy.NUM_ACTIONS; ++i) {
            uint32 word;
            assembly ("memory-safe") {
                word := shr(224, mload(add(add(logitBytes, 32), mul(i, 4))))
            }
            // The four bytes are the logit's two's complement.
            // forge-lint: disable-next-line(unsafe-typecast)
            logits[i] = int256(int32(word));
        }
        MlpPolicy.Params memory p = params();
        (uint8 kind, uint256 margin) = MlpPolicy.decide(logits);
        return MlpPolicy.encodeAction(kind, MlpPolicy.sizeBps(kind, margin, p), snapshot, p);
    }
}
