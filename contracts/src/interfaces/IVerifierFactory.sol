// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @title IVerifierFactory
/// @notice The one source of agent verifiers a task manager accepts. A factory deploys each verifier
/// itself, from code that cannot delegate or be upgraded, and derives the agent hash from exactly what
/// that code computes with (its model and parameters). So once a factory names `verifierOf(hash)`, the
/// verifier's behaviour is the agent the hash commits to, for good: nobody can register an agent
/// whose verifier answers like the genuine one until it is told not to.
interface IVerifierFactory {
    /// @notice The verifier this factory deployed for `agentHash` (zero if none).
    function verifierOf(bytes32 agentHash) external view returns (address);
}
