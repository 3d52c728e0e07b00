// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {OperatorSet} from "./IEigenLayer.sol";

/// @notice The StrategyManager's redistribution step (EigenLayer core v1.5.0 and later): after a slash
/// of a redistributing operator set, anyone clears the slash's shares, and the strategies send the
/// underlying tokens to the set's redistribution recipient.
interface IStrategyManagerRedistribution {
    /// @notice Sends the tokens behind slash `slashId`'s shares, in every strategy, to the operator
    /// set's redistribution recipient; returns the amount per strategy.
    function clearBurnOrRedistributableShares(OperatorSet calldata operatorSet, uint256 slashId)
        external
        returns (uint256[] memory);
}
