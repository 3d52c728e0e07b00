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

    /// @notice How long, in seconds after the snapshot's timestamp, the agent's actions stay
    /// executable (e.g. a swap's deadline); `type(uint32).max` if they never lapse. The task manager
    /// refuses an agent whose actions would lapse before its windows let them execute.
    function actionDeadlineSeconds() external view returns (uint32);
}
