// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IStrategy} from "../interfaces/IEigenLayer.sol";

/// @dev The part of EigenLayer's StrategyManager a strategy reads.
interface IStrategyManagerShares {
    function stakerDepositShares(address staker, address strategy) external view returns (uint256);
}

/// @title OneToOneStrategy
/// @notice An EigenLayer deposit strategy in which one share is always one token: enough for a
/// devnet, where nothing accrues yield. Only the StrategyManager moves funds.
contract OneToOneStrategy is IStrategy {
    using SafeERC20 for IERC20;

    /// @notice EigenLayer's StrategyManager, the only caller of `deposit` and `withdraw`.
    address public immutable strategyManager;
    IERC20 private immutable _token;

    /// @inheritdoc IStrategy
    uint256 public totalShares;

    /// @notice Emitted on every deposit (shares minted 1:1).
    event Deposited(uint256 amount, uint256 newTotalShares);
    /// @notice Emitted on every withdrawal (shares burned 1:1).
    event Withdrawn(address indexed recipient, uint256 amount, uint256 newTotalShares);

    /// @notice Caller is not the StrategyManager.
    error OnlyStrategyManager();
    /// @notice The token is not this strategy's.
    error OnlyUnderlyingToken();
    /// @notice More shares withdrawn than exist.
    error WithdrawalExceedsShares(uint256 requested, uint256 available);

    /// @param strategyManager_ EigenLayer's StrategyManager (proxy).
    /// @param token_ The underlying token.
    constructor(address strategyManager_, IERC20 token_) {
        strategyManager = strategyManager_;
        _token = token_;
    }

    modifier onlyStrategyManager() {
        if (msg.sender != strategyManager) revert OnlyStrategyManager();
        _;
    }

    /// @inheritdoc IStrategy
    /// @dev The StrategyManager has already transferred `amount` to this contract.
    function deposit(address token, uint256 amount) external onlyStrategyManager returns (uint256) {
        if (token != address(_token)) revert OnlyUnderlyingToken();
        totalShares += amount;
        emit Deposited(amount, totalShares);
        return amount;
    }

    /// @inheritdoc IStrategy
    function withdraw(address recipient, address token, uint256 amountShares)
        external
        onlyStrategyManager
        returns (uint256)
    {
        if (token != address(_token)) revert OnlyUnderlyingToken();
        if (amountShares > totalShares) revert WithdrawalExceedsShares(amountShares, totalShares);
        totalShares -= amountShares;
        emit Withdrawn(recipient, amountShares, totalShares);
        _token.safeTransfer(recipient, amountShares);
        return amountShares;
    }

    /// @inheritdoc IStrategy
    function sharesToUnderlying(uint256 amountShares) external pure returns (uint256) {
        return amountShares;
    }

    /// @inheritdoc IStrategy
    function underlyingToShares(uint256 amountUnderlying) external pure returns (uint256) {
        return amountUnderlying;
    }

    /// @inheritdoc IStrategy
    function userUnderlying(address user) external view returns (uint256) {
        return shares(user);
    }

    /// @inheritdoc IStrategy
    function shares(address user) public view returns (uint256) {
        return IStrategyManagerShares(strategyManager).stakerDepositShares(user, address(this));
    }

    /// @inheritdoc IStrategy
    function sharesToUnderlyingView(uint256 amountShares) external pure returns (uint256) {
        return amountShares;
    }

    /// @inheritdoc IStrategy
    function underlyingToSharesView(uint256 amountUnderlying) external pure returns (uint256) {
        return amountUnderlying;
    }

    /// @inheritdoc IStrategy
    function userUnderlyingView(address user) external view returns (uint256) {
        return shares(user);
    }

    /// @inheritdoc IStrategy
    function underlyingToken() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IStrategy
    function explanation() external pure returns (string memory) {
        return "Warden devnet strategy: one share per token";
    }
}
