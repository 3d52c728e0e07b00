// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {OperatorSet} from "./IEigenLayer.sol";

/// @dev The parts of EigenLayer core (v1.5.0 "Redistribution" and later) that Warden reads to find
/// the StrategyManager and to tell why a slash was refused. Signatures match the deployed bytecode
/// shipped by newton-utils.

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

/// @notice Where a slash puts the shares it takes: a slash of an ERC-20 strategy books the operator's
/// slashed shares and the slashed part of its stakers' queued withdrawals under (operator set, slash
/// id, strategy); anyone then clears them, which withdraws the tokens to the set's redistribution
/// recipient (or the burn address for a set that does not redistribute).
interface IStrategyManagerSlashing {
    /// @notice Shares of `strategy` taken by slash `slashId` of `operatorSet` and not cleared yet.
    function getBurnOrRedistributableShares(
        OperatorSet calldata operatorSet,
        uint256 slashId,
        address strategy
    ) external view returns (uint256);

    /// @notice Pays out every strategy's shares of the slash to the recipient. Permissionless.
    function clearBurnOrRedistributableShares(OperatorSet calldata operatorSet, uint256 slashId)
        external
        returns (uint256[] memory amounts);

    /// @notice Pays out one strategy's shares of the slash to the recipient. Permissionless.
    function clearBurnOrRedistributableSharesByStrategy(
        OperatorSet calldata operatorSet,
        uint256 slashId,
        address strategy
    ) external returns (uint256 amount);
}
