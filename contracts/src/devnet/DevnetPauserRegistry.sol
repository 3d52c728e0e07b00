// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IPauserRegistry} from "../interfaces/IEigenLayer.sol";

/// @title DevnetPauserRegistry
/// @notice The pauser registry EigenLayer's core contracts are constructed with on a Warden devnet
/// (newton-utils ships no bytecode for EigenLayer's own). One pauser, who is also the unpauser.
contract DevnetPauserRegistry is IPauserRegistry {
    /// @notice The single account allowed to pause and unpause.
    address public immutable pauser;

    /// @notice Emitted once, at deployment, in the shape EigenLayer's registry uses.
    event PauserStatusChanged(address pauser, bool canPause);

    /// @param pauser_ The pauser and unpauser.
    constructor(address pauser_) {
        pauser = pauser_;
        emit PauserStatusChanged(pauser_, true);
    }

    /// @inheritdoc IPauserRegistry
    function isPauser(address account) external view returns (bool) {
        return account == pauser;
    }

    /// @inheritdoc IPauserRegistry
    function unpauser() external view returns (address) {
        return pauser;
    }
}
