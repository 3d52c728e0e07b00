// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {BLS12381} from "../../src/libraries/BLS12381.sol";
import {OperatorIds} from "../../src/libraries/OperatorIds.sol";
import {TaskCommitments} from "../../src/libraries/TaskCommitments.sol";
import {WardenDigests} from "../../src/libraries/WardenDigests.sol";

/// @title DigestHarness
/// @notice Test harness (deployed only by tests): exposes Warden's internal digest, commitment and BLS
/// libraries so the Rust implementations can be checked against them on a real chain.
contract DigestHarness {
    /// @notice `TaskCommitments.hash`: what a committed task stores of its input, output, trace and
    /// non-signers.
    function commitmentHash(bytes32 inputHash, bytes32 outputHash, bytes32 traceHash, bytes32 nonSignerHash)
        external
        pure
        returns (bytes32)
    {
        return TaskCommitments.hash(inputHash, outputHash, traceHash, nonSignerHash);
    }

    /// @notice `TaskCommitments.MAX_TRACE_LENGTH`: the most chunk hashes a commitment may carry.
    function maxTraceLength() external pure returns (uint256) {
        return TaskCommitments.MAX_TRACE_LENGTH;
    }

    /// @notice `TaskCommitments.hashTrace`: the hash of an activation trace (zero for none).
    function hashTrace(bytes32[] calldata trace) external pure returns (bytes32) {
        return TaskCommitments.hashTrace(trace);
    }

    /// @notice `OperatorIds.hash`: the non-signer hash of a commitment's ascending non-signer ids (zero
    /// for none).
    function nonSignerHash(bytes32[] calldata ids) external pure returns (bytes32) {
        return OperatorIds.hash(ids);
    }

    function outputDigest(
        address taskManager,
        uint64 taskId,
        uint64 agentId,
        bytes32 agentHash,
        address verifier,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 traceHash,
        uint32 referenceBlock
    ) external view returns (bytes32) {
        return WardenDigests.outputDigest(
            block.chainid,
            taskManager,
            taskId,
            agentId,
            agentHash,
            verifier,
            inputHash,
            outputHash,
            traceHash,
            referenceBlock
        );
    }

    /// @notice Single-key verification exactly as the registry performs it, on raw EIP-2537
    /// encodings (128-byte key, 256-byte signature).
    function verify(bytes calldata publicKey, bytes32 message, bytes calldata signature)
        external
        view
        returns (bool)
    {
        BLS.G1Point memory key = abi.decode(publicKey, (BLS.G1Point));
        BLS.G2Point memory sig = abi.decode(signature, (BLS.G2Point));
        BLS12381.requireCanonical(key);
        BLS12381.requireInSubgroup(key);
        BLS12381.requireCanonical(sig);
        return BLS12381.verify(key, BLS12381.hashToG2(message), sig);
    }
}
