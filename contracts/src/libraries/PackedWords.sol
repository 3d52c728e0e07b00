// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @title PackedWords
/// @notice The hash of a list of words as commitments keep it: `keccak256(abi.encodePacked(words))`,
/// and zero for the empty list, so that a commitment to nothing (no non-signers, no trace) needs no
/// preimage. `warden_protocol`'s `non_signer_hash` and `trace_hash` compute the same.
library PackedWords {
    /// @dev Hashed in place from calldata.
    function hash(bytes32[] calldata words) internal pure returns (bytes32 digest) {
        if (words.length == 0) return bytes32(0);
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := shl(5, words.length)
            calldatacopy(ptr, words.offset, size)
            digest := keccak256(ptr, size)
        }
    }

    /// @dev `hash` of words held in memory.
    function hashMemory(bytes32[] memory words) internal pure returns (bytes32) {
        if (words.length == 0) return bytes32(0);
        return keccak256(abi.encodePacked(words));
    }
}
