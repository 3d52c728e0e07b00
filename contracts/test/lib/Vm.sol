// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @dev The forge cheatcodes Warden's tests use, declared against forge's fixed cheatcode address.
/// (The registry's forge-std package is an outdated unofficial copy, so the tests carry their own
/// minimal base instead.)
interface Vm {
    /// @dev The gas of the last call, seen from inside the callee.
    struct Gas {
        uint64 gasLimit;
        uint64 gasTotalUsed;
        uint64 gasMemoryUsed;
        int64 gasRefunded;
        uint64 gasRemaining;
    }

    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function roll(uint256 newHeight) external;
    function store(address target, bytes32 slot, bytes32 value) external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function readFile(string calldata path) external view returns (string memory);
    function parseBytes(string calldata value) external pure returns (bytes memory);
    function projectRoot() external view returns (string memory);
    function getNonce(address account) external view returns (uint64);
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function addr(uint256 privateKey) external pure returns (address);
    function label(address account, string calldata newLabel) external;
    function pauseGasMetering() external;
    function resumeGasMetering() external;
    function toString(uint256 value) external pure returns (string memory);
    function randomUint() external returns (uint256);
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
    function assume(bool condition) external pure;
    function cool(address target) external;
    function lastCallGas() external view returns (Gas memory gas);

    /// @dev An event recorded by `recordLogs`.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function warp(uint256 newTimestamp) external;
    function expectRevert() external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function deal(address account, uint256 newBalance) external;
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);
}

/// @dev Minimal assertion base. A failed assertion reverts, which forge reports as a failed test.
abstract contract TestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error AssertionFailed(string message);
    error AssertionEqFailed(string message, uint256 left, uint256 right);

    /// @dev Read by forge's test discovery in its ds-test compatible mode.
    bool public IS_TEST = true;

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) revert AssertionFailed(message);
    }

    function assertEq(uint256 left, uint256 right, string memory message) internal pure {
        if (left != right) revert AssertionEqFailed(message, left, right);
    }

    function assertEq(bytes32 left, bytes32 right, string memory message) internal pure {
        if (left != right) revert AssertionEqFailed(message, uint256(left), uint256(right));
    }

    function assertLe(uint256 left, uint256 right, string memory message) internal pure {
        if (left > right) revert AssertionEqFailed(message, left, right);
    }

    function assertEq(address left, address right, string memory message) internal pure {
        if (left != right) revert AssertionEqFailed(message, uint160(left), uint160(right));
    }

    function assertEq(bytes memory left, bytes memory right, string memory message) internal pure {
        if (keccak256(left) != keccak256(right)) revert AssertionFailed(message);
    }

    /// @dev Maps `x` into [min, max] (inclusive) for fuzz inputs; forge has no `bound` cheatcode.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        return min + x % (max - min + 1);
    }
}
