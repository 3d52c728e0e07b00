// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @title TaskCommitments
/// @notice What a committed task keeps of its input, output and non-signers: one hash that binds all
/// three. The task manager stores it in place of the input hash when the output is committed; whoever
/// later acts on the task (execution, challenges, equivocation, rewards) is handed the three values
/// again and checks them against it. The Rust side (crate `warden-protocol`, `TaskHashes::commitment`)
/// computes the same bytes; a differential test keeps the two in agreement.
library TaskCommitments {
    /// @notice `keccak256(abi.encode(inputHash, outputHash, nonSignerHash))`: three fixed-size words,
    /// so no two different triples share an encoding.
    /// @param inputHash `keccak256` of the task's input snapshot (`TaskOpened`).
    /// @param outputHash `keccak256` of the committed output (`OutputCommitted`).
    /// @param nonSignerHash `keccak256(abi.encodePacked(nonSignerIds))` of the commitment's ascending
    /// non-signer ids (`OutputCommitted`), zero when everyone signed (`OperatorIds.hash`).
    function hash(bytes32 inputHash, bytes32 outputHash, bytes32 nonSignerHash)
        internal
        pure
        returns (bytes32 digest)
    {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, inputHash)
            mstore(add(ptr, 0x20), outputHash)
            mstore(add(ptr, 0x40), nonSignerHash)
            digest := keccak256(ptr, 0x60)
        }
    }
}
