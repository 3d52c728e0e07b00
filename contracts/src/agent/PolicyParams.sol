// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MlpPolicy} from "./MlpPolicy.sol";

/// @title PolicyParams
/// @notice The reference policy's parameters (router, slippage, deadline, sizes), validated once and
/// kept in immutables by the verifiers whose logits decode to its swaps: the reference MLP's and a
/// large agent's. Immutables cost no storage read when a challenge decodes an action.
abstract contract PolicyParams {
    address private immutable _router;
    uint16 private immutable _slippageBps;
    /// @dev How long the agent's swaps stay valid after the snapshot; its verifier reports it.
    uint32 internal immutable _deadlineSeconds;
    uint16 private immutable _maxSizeBps;
    uint32 private immutable _sizeBpsPerLogit;
    uint16 private immutable _maxTradeBps;

    /// @dev Reverts with `MlpPolicy`'s errors for parameters out of range.
    constructor(MlpPolicy.Params memory params_) {
        MlpPolicy.validateParams(params_);
        _router = params_.router;
        _slippageBps = params_.slippageBps;
        _deadlineSeconds = params_.deadlineSeconds;
        _maxSizeBps = params_.maxSizeBps;
        _sizeBpsPerLogit = params_.sizeBpsPerLogit;
        _maxTradeBps = params_.maxTradeBps;
    }

    /// @notice The agent's parameters.
    function params() public view returns (MlpPolicy.Params memory) {
        return MlpPolicy.Params({
            router: _router,
            slippageBps: _slippageBps,
            deadlineSeconds: _deadlineSeconds,
            maxSizeBps: _maxSizeBps,
            sizeBpsPerLogit: _sizeBpsPerLogit,
            maxTradeBps: _maxTradeBps
        });
    }
}
