// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {PackedWords} from "./PackedWords.sol";

/// @title TaskCommitments
/// @notice What a committed task keeps of its input, output, activation trace and non-signers: one hash
/// that binds all four. The task manager stores it in place of the input hash when the output is
/// committed; whoever later acts on the task (execution, challenges, equivocation, rewards) is handed
/// the four values again and checks them against it. The Rust side (crate `warden-protocol`,
/// `TaskHashes::commitment`) computes the same bytes; a differential test keeps the two in agreement.
library TaskCommitments {
    /// @notice The most chunk hashes a committed trace may hold. A challenge shows the whole trace
    /// with one step of the run (up to a weight chunk and a layer's input): 1,024 hashes are 32 kB,
    /// which leaves room for the step in one transaction that nodes relay (128 kB). A longer trace
    /// could make fraud unprovable, so no commitment may carry one.
    uint256 internal constant MAX_TRACE_LENGTH = 1024;

    /// @notice `keccak256(abi.encode(inputHash, outputHash, traceHash, nonSignerHash))`: four
    /// fixed-size words, so no two different quadruples share an encoding.
    /// @param inputHash `keccak256` of the task's input snapshot (`TaskOpened`).
    /// @param outputHash `keccak256` of the committed output (`OutputCommitted`).
    /// @param traceHash The committed activation trace's hash (`hashTrace`), zero for an agent that
    /// keeps none.
    /// @param nonSignerHash `keccak256(abi.encodePacked(nonSignerIds))` of the commitment's ascending
    /// non-signer ids (`OutputCommitted`), zero when everyone signed (`OperatorIds.hash`).
    function hash(bytes32 inputHash, bytes32 outputHash, bytes32 traceHash, bytes32 nonSignerHash)
        internal
        pure
        returns (bytes32 digest)
    {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, inputHash)
            mstore(add(ptr, 0x20), outputHash)
            mstore(add(ptr, 0x40), traceHash)
            mstore(add(ptr, 0x60), nonSignerHash)
            digest := keccak256(ptr, 0x80)
        }
    }

    /// @notice The hash of an activation trace, the list of an agent's output-chunk hashes in layer
    /// order: `keccak256(abi.encodePacked(trace))`, and zero for the empty trace of an agent that
    /// keeps none (so a traceless agent's digests need no preimage).
    function hashTrace(bytes32[] calldata trace) internal pure returns (bytes32) {
        return PackedWords.hash(trace);
    }
}
