// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {PackedWords} from "./PackedWords.sol";

/// @title OperatorIds
/// @notice The non-signer list a commitment records: operator ids sorted strictly ascending, kept on
/// chain only as `keccak256(abi.encodePacked(ids))`. Whoever later acts on a task's signers (slashing,
/// rewards) is handed the list again and checks it against that hash.
library OperatorIds {
    /// @dev `keccak256(abi.encodePacked(ids))`, hashed in place from calldata; zero for no ids (a
    /// commitment everyone signed records no hash).
    function hash(bytes32[] calldata ids) internal pure returns (bytes32) {
        return PackedWords.hash(ids);
    }

    /// @dev `hash` of ids held in memory.
    function hashMemory(bytes32[] memory ids) internal pure returns (bytes32) {
        return PackedWords.hashMemory(ids);
    }

    /// @dev Binary search in ids sorted ascending, as `commitOutput` required the non-signers to be.
    function contains(bytes32[] calldata sortedIds, bytes32 id) internal pure returns (bool) {
        uint256 low;
        uint256 high = sortedIds.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            bytes32 value = sortedIds[mid];
            if (value == id) return true;
            if (value < id) low = mid + 1;
            else high = mid;
        }
        return false;
    }
}
