// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {SSTORE2} from "solady/utils/SSTORE2.sol";

import {IAgentVerifier} from "../interfaces/IAgentVerifier.sol";
import {AgentInput} from "./AgentTypes.sol";
import {MlpPolicy} from "./MlpPolicy.sol";
import {PolicyParams} from "./PolicyParams.sol";

/// @title MlpAgentVerifier
/// @notice The on-chain verifier of one reference-agent configuration (a WMLP model and parameters):
/// challenges call `evaluate` to recompute the action the operators should have signed.
/// @dev Immutable by design: a different model or parameter set is a different agent (another
/// agent hash) and gets its own verifier. The model lives in the code of a data contract (SSTORE2):
/// reading it back costs one EXTCODECOPY (~2.6k gas cold plus 3 gas per word), where storage would
/// cost 2.1k gas per 32-byte slot cold (~40k gas for the 608-byte reference model).
contract MlpAgentVerifier is IAgentVerifier, PolicyParams {
    /// @notice The data contract holding the model bytes.
    address public immutable modelPointer;
    /// @notice `keccak256` of the model bytes.
    bytes32 public immutable modelHash;
    /// @inheritdoc IAgentVerifier
    bytes32 public immutable agentHash;

    /// @notice Emitted once, at deployment, with everything the agent hash commits to.
    event MlpAgentVerifierDeployed(
        bytes32 indexed agentHash, bytes32 indexed modelHash, address modelPointer, MlpPolicy.Params params
    );

    /// @notice `evaluate` was given fewer bytes than the smallest `abi.encode(AgentInput)`.
    error MalformedInput(uint256 length);

    /// @dev The smallest encoding: tuple offset, ten head words, the history's length word.
    uint256 private constant MIN_INPUT_LENGTH = 32 * 12;

    /// @param model_ A WMLP v1 model (validated here; reverts with `MlpPolicy`'s errors).
    /// @param params_ The agent's parameters (validated here).
    constructor(bytes memory model_, MlpPolicy.Params memory params_) PolicyParams(params_) {
        MlpPolicy.validateModel(model_);
        address pointer = SSTORE2.write(model_);
        bytes32 hash = keccak256(model_);
        bytes32 agent = MlpPolicy.agentHash(hash, params_);
        modelPointer = pointer;
        modelHash = hash;
        agentHash = agent;
        emit MlpAgentVerifierDeployed(agent, hash, pointer, params_);
    }

    /// @inheritdoc IAgentVerifier
    /// @dev Reverts with `MalformedInput` for input too short to decode, with empty data for other
    /// undecodable bytes (abi.decode's own check), and with `MlpPolicy.HistoryTooShort` for fewer
    /// than 16 prices. Any other input yields an action.
    function evaluate(bytes calldata input) external view returns (bytes memory) {
        if (input.length < MIN_INPUT_LENGTH) revert MalformedInput(input.length);
        AgentInput memory decoded = abi.decode(input, (AgentInput));
        return MlpPolicy.evaluate(SSTORE2.read(modelPointer), decoded, params());
    }

    /// @inheritdoc IAgentVerifier
    /// @dev The swap deadline: the router refuses a swap later than snapshot time + this.
    function actionDeadlineSeconds() external view returns (uint32) {
        return _deadlineSeconds;
    }

    /// @notice The model bytes (a WMLP v1 file).
    function model() external view returns (bytes memory) {
        return SSTORE2.read(modelPointer);
    }
}
