// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @dev The parts of EigenLayer core v1.3.0 that Warden reads to learn what a slash took and why a
/// slash was refused. Signatures match the deployed bytecode shipped by eigensdk.

/// @notice The AllocationManager's link to the DelegationManager, and the refusal Warden treats as
/// final.
interface IAllocationManagerSlashing {
    /// @notice The operator is neither in the operator set nor still inside its deallocation delay
    /// after leaving it: nothing of it can ever be slashed for the set again.
    error OperatorNotSlashable();

    /// @notice The DelegationManager, whose `slashOperatorShares` every slash ends in.
    function delegation() external view returns (address);
}

/// @notice The DelegationManager's link to the StrategyManager, the share manager of every ERC-20
/// strategy.
interface IDelegationManagerSlashing {
    /// @notice The StrategyManager.
    function strategyManager() external view returns (address);
}

/// @notice Where a slash puts the shares it takes: a slash of an ERC-20 strategy adds the operator's
/// slashed shares and the slashed part of its stakers' queued withdrawals to the strategy's burnable
/// shares, which only a later `burnShares` removes.
interface IStrategyManagerSlashing {
    /// @notice The strategy's slashed shares not yet burnt.
    function getBurnableShares(address strategy) external view returns (uint256);
}
