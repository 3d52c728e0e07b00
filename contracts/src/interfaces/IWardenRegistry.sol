// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {IAllocationManager} from "./IEigenLayer.sol";

/// @title IWardenRegistry
/// @notice What the task lifecycle and the challenges contract need of Warden's operator registry:
/// the quorum check against the operator set at a reference block, the operator history that tells
/// signers from non-signers, and slashing through Warden's AVS identity in EigenLayer.
interface IWardenRegistry {
    /// @notice EigenLayer's AllocationManager the registry is the AVS of.
    function allocationManager() external view returns (IAllocationManager);

    /// @notice The one contract allowed to slash through the registry (zero until set, then fixed).
    function slasher() external view returns (address);

    /// @notice The strategies of Warden's operator set, in the set's order.
    function strategies() external view returns (address[] memory);

    /// @notice How many operators have ever registered (the length of the operator id list).
    function operatorIdCount() external view returns (uint256);

    /// @notice The operator address that owns an operator id (zero if none).
    function operatorOf(bytes32 operatorId) external view returns (address);

    /// @notice Whether the operator was in the set at `blockNumber`, and its weight then.
    function operatorAt(bytes32 operatorId, uint32 blockNumber) external view returns (bool, uint96);

    /// @notice The `index`-th operator ever registered: its id, its address, and whether it was in
    /// the set at `blockNumber`. One call for what slashing examines per operator.
    function operatorAtIndex(uint256 index, uint32 blockNumber)
        external
        view
        returns (bytes32 operatorId, address operator, bool registered);

    /// @notice Verifies `signature` over `digest` by every operator registered at `referenceBlock`
    /// except `nonSigners` (sorted by operator id, strictly ascending) and returns the weight that
    /// signed and the set's total weight then. Reverts on any malformed input or invalid signature.
    function checkQuorum(
        uint32 referenceBlock,
        bytes32 digest,
        BLS.G1Point[] calldata nonSigners,
        BLS.G2Point calldata signature
    ) external view returns (uint256 signedWeight, uint256 totalWeight);

    /// @notice Has EigenLayer slash `wadToSlash` of the operator's allocation to Warden's set. Only
    /// the slasher. Returns the shares EigenLayer took (summed over the set's strategies, queued
    /// withdrawals included): zero when the operator had nothing left to take.
    function slashOperator(address operator, uint256 wadToSlash, string calldata description)
        external
        returns (uint256 sharesSlashed);
}
