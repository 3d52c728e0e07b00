// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @title IAgentVerifier
/// @notice An agent's on-chain twin, used to adjudicate challenges: it recomputes the agent's output
/// for an input snapshot exactly as the operators' off-chain implementation does.
interface IAgentVerifier {
    /// @notice Commitment to the agent's code version, model and parameters; operators sign it.
    function agentHash() external view returns (bytes32);

    /// @notice The agent's encoded action for `input` (`abi.encode(AgentInput)`). Reverts only for
    /// an input outside the agent's domain.
    function evaluate(bytes calldata input) external view returns (bytes memory);
}
