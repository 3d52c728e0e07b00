// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

/// @title WardenDigests
/// @notice The messages Warden's operators sign. The Rust side (crate `warden-protocol`) computes
/// the same bytes; a differential test keeps the two in agreement.
library WardenDigests {
    /// @dev Type hash of a task output attestation; distinct from `POP_TYPEHASH`, so a task
    /// signature can never be replayed as a proof of possession or the other way round.
    bytes32 internal constant OUTPUT_TYPEHASH = keccak256(
        "WardenOutput(uint256 chainId,address taskManager,uint64 taskId,uint64 agentId,bytes32 agentHash,address verifier,bytes32 inputHash,bytes32 outputHash,bytes32 traceHash,uint32 referenceBlock)"
    );

    /// @dev Type hash of the registration message an operator signs to prove it holds its key.
    bytes32 internal constant POP_TYPEHASH = keccak256(
        "WardenProofOfPossession(uint256 chainId,address registry,address operator,bytes32 publicKeyHash)"
    );

    /// @notice The digest every operator signs for a task's output. It names the agent's verifier, the
    /// contract that judges a challenge of the output: a signature is evidence only before that one.
    /// `traceHash` binds the agent's activation trace (`TaskCommitments.hashTrace`), zero for an
    /// agent that keeps none.
    function outputDigest(
        uint256 chainId,
        address taskManager,
        uint64 taskId,
        uint64 agentId,
        bytes32 agentHash,
        address verifier,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 traceHash,
        uint32 referenceBlock
    ) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                OUTPUT_TYPEHASH,
                chainId,
                taskManager,
                taskId,
                agentId,
                agentHash,
                verifier,
                inputHash,
                outputHash,
                traceHash,
                referenceBlock
            )
        );
    }

    /// @notice The hash that identifies a G1 public key: keccak256 of its EIP-2537 encoding.
    function publicKeyHash(BLS.G1Point memory publicKey) internal pure returns (bytes32) {
        return keccak256(abi.encode(publicKey));
    }

    /// @notice The message whose signature proves possession of `publicKey` by `operator`.
    function proofOfPossessionMessage(uint256 chainId, address registry, address operator, bytes32 pubkeyHash)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(POP_TYPEHASH, chainId, registry, operator, pubkeyHash));
    }
}
