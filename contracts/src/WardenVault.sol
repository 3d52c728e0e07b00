// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {AgentActions} from "./agent/AgentTypes.sol";
import {ITaskManager} from "./interfaces/ITaskManager.sol";
import {IWardenVault} from "./interfaces/IWardenVault.sol";

/// @title WardenVault
/// @notice Holds one owner's ERC-20 funds for one Warden agent. It executes only what its task
/// manager hands it, which is only a quorum-committed output whose challenge window passed without a
/// veto, and only within the owner's policy:
/// - deny by default: a call action needs the owner's permission for its target and selector;
/// - spending caps: for each capped token the action's target gets an allowance of at most what the
///   caps leave, and the vault's balance is measured around the call, so any outflow, however it
///   happens, counts against a per-action cap and a rolling 24-hour cap. Uncapped tokens are never
///   approved to anyone;
/// - pause: stops call actions; withdrawals stay open.
/// @dev Holds are executed even while paused: they move nothing, and letting them finish keeps the
/// agent's task sequence moving (a reverted hold would sit committed until it expired).
contract WardenVault is IWardenVault, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Upper bound on capped tokens: every call action measures each of them.
    uint256 public constant MAX_CAPPED_TOKENS = 8;
    /// @notice Length of the rolling spending window, in hourly buckets.
    uint32 public constant WINDOW_HOURS = 24;

    /// @notice A token's outflow limits.
    struct SpendingCap {
        uint256 perAction;
        uint256 daily;
    }

    /// @dev The rolling window's running total: the sum of the buckets of hours
    /// (lastHour - 24, lastHour]. Advancing it only reads the buckets that leave the window, so an
    /// action costs a few storage reads per token rather than 24.
    struct Window {
        uint32 lastHour;
        uint224 total;
    }

    /// @dev Outflow in one hour; `hour` tells a current bucket from one left over from a day ago.
    struct Bucket {
        uint32 hour;
        uint224 amount;
    }

    /// @dev What an action's bookkeeping needs per capped token between before and after the call.
    struct Flow {
        address token;
        uint256 balanceBefore;
        uint256 allowance;
        Window window;
    }

    /// @inheritdoc IWardenVault
    address public immutable taskManager;

    /// @inheritdoc IWardenVault
    bool public paused;

    /// @notice Whether actions may call `selector` on `target`.
    mapping(address target => mapping(bytes4 selector => bool)) public callAllowed;

    /// @notice A token's caps (both zero for an uncapped token, or one capped to zero).
    mapping(address token => SpendingCap) public spendingCap;

    address[] private _cappedTokens;
    mapping(address token => bool) private _isCapped;
    mapping(address token => Window) private _windows;
    mapping(address token => Bucket[WINDOW_HOURS]) private _buckets;

    /// @param owner_ The vault's owner.
    /// @param taskManager_ The task manager whose final outputs this vault executes.
    constructor(address owner_, address taskManager_) Ownable(owner_) {
        if (taskManager_ == address(0)) revert InvalidAddress(taskManager_);
        taskManager = taskManager_;
    }

    // ------------------------------------------------------------------------------------------
    // Actions
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IWardenVault
    /// @dev Any non-zero kind is a call: the kind only labels it (buy or sell for the reference
    /// agent). A failing call reverts with `ActionFailed`, and so does the task manager's `execute`:
    /// the task stays committed and may be retried until its execution window ends. The caps'
    /// bookkeeping necessarily follows the call it measures; every state-changing entry point is
    /// `nonReentrant`, so the call can neither re-enter an action nor change the policy midway.
    function executeAction(uint64 taskId, bytes calldata output) external nonReentrant {
        if (msg.sender != taskManager) revert NotTaskManager(msg.sender);
        // Four head words; shorter bytes cannot be an action, and saying so beats an empty revert.
        if (output.length < 0x80) revert MalformedAction();
        (uint8 kind, address target, uint256 value, bytes memory data) =
            abi.decode(output, (uint8, address, uint256, bytes));

        if (kind == AgentActions.HOLD) {
            // "Do nothing" has exactly one encoding; anything else claiming to be a hold is malformed.
            if (target != address(0) || value != 0 || data.length != 0) revert MalformedAction();
            emit ActionExecuted(taskId, kind, address(0), 0);
            return;
        }
        if (paused) revert VaultPaused();
        if (value != 0) revert NativeValueNotAllowed(value);
        if (data.length < 4) revert MalformedAction();
        // The selector is by definition the first four bytes of the call data.
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes4 selector = bytes4(data);
        if (!callAllowed[target][selector]) revert CallNotAllowed(target, selector);

        uint32 hour = _currentHour();
        Flow[] memory flows = _prepareFlows(target, hour);
        for (uint256 i; i < flows.length; ++i) {
            if (flows[i].allowance != 0) IERC20(flows[i].token).forceApprove(target, flows[i].allowance);
        }

        (bool ok, bytes memory reason) = target.call(data);
        if (!ok) revert ActionFailed(target, reason);

        for (uint256 i; i < flows.length; ++i) {
            _settleFlow(taskId, target, hour, flows[i]);
        }
        emit ActionExecuted(taskId, kind, target, 0);
    }

    /// @inheritdoc IWardenVault
    function veto(uint64 taskId) external onlyOwner nonReentrant {
        emit ActionVetoed(taskId);
        ITaskManager(taskManager).veto(taskId);
    }

    // ------------------------------------------------------------------------------------------
    // Owner policy
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IWardenVault
    /// @dev Never allow calls on a token contract the vault holds: for capped tokens the vault
    /// refuses such actions, for uncapped ones it has no way to tell.
    function setCallPermission(address target, bytes4 selector, bool allowed)
        external
        onlyOwner
        nonReentrant
    {
        if (target == address(0) || target == address(this)) revert InvalidAddress(target);
        callAllowed[target][selector] = allowed;
        emit CallPermissionSet(target, selector, allowed);
    }

    /// @inheritdoc IWardenVault
    /// @dev A token, once capped, stays measured: caps of zero forbid its outflow rather than
    /// uncapping it. A lowered daily cap applies at once to the outflow already in the window.
    function setSpendingCap(address token, uint256 perActionCap, uint256 dailyCap)
        external
        onlyOwner
        nonReentrant
    {
        if (token == address(0)) revert InvalidAddress(token);
        if (!_isCapped[token]) {
            if (_cappedTokens.length == MAX_CAPPED_TOKENS) revert TooManyCappedTokens();
            _isCapped[token] = true;
            _cappedTokens.push(token);
        }
        spendingCap[token] = SpendingCap({perAction: perActionCap, daily: dailyCap});
        emit SpendingCapSet(token, perActionCap, dailyCap);
    }

    /// @inheritdoc IWardenVault
    function pause() external onlyOwner nonReentrant {
        paused = true;
        emit Paused(true);
    }

    /// @inheritdoc IWardenVault
    function unpause() external onlyOwner nonReentrant {
        paused = false;
        emit Paused(false);
    }

    /// @inheritdoc IWardenVault
    /// @dev Not counted against the caps: they bound the agent, not the owner.
    function withdraw(address token, address to, uint256 amount) external onlyOwner nonReentrant {
        if (to == address(0)) revert InvalidAddress(to);
        emit Withdrawn(token, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @notice Disabled: a vault without an owner could never be withdrawn from.
    function renounceOwnership() public pure override {
        revert RenounceDisabled();
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IWardenVault
    function owner() public view override(IWardenVault, Ownable) returns (address) {
        return super.owner();
    }

    /// @inheritdoc IWardenVault
    function spentInWindow(address token) external view returns (uint256) {
        return _windowAt(token, _currentHour()).total;
    }

    /// @notice The tokens with spending caps, in the order they were first capped.
    function cappedTokens() external view returns (address[] memory) {
        return _cappedTokens;
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    /// @dev Per capped token: the balance before the call and the allowance the caps leave.
    function _prepareFlows(address target, uint32 hour) private view returns (Flow[] memory flows) {
        uint256 count = _cappedTokens.length;
        flows = new Flow[](count);
        for (uint256 i; i < count; ++i) {
            address token = _cappedTokens[i];
            // Calls on the token itself could approve or permit a spender for later, an outflow the
            // balance measurement around this call would never see.
            if (token == target) revert CappedTokenTarget(token);
            Window memory window = _windowAt(token, hour);
            SpendingCap memory cap = spendingCap[token];
            uint256 room = cap.daily > window.total ? cap.daily - window.total : 0;
            flows[i] = Flow({
                token: token,
                balanceBefore: IERC20(token).balanceOf(address(this)),
                allowance: cap.perAction < room ? cap.perAction : room,
                window: window
            });
        }
    }

    /// @dev Revokes the allowance, measures the outflow, enforces the caps and books the outflow. The
    /// outflow is the net fall of the vault's balance over the call: a token whose balance rose (a
    /// swap's proceeds) spent nothing, and an inflow never frees outflow already booked in the window.
    function _settleFlow(uint64 taskId, address target, uint32 hour, Flow memory flow) private {
        IERC20 token = IERC20(flow.token);
        if (flow.allowance != 0) token.forceApprove(target, 0);
        uint256 balanceAfter = token.balanceOf(address(this));
        if (balanceAfter >= flow.balanceBefore) return;
        uint256 outflow = flow.balanceBefore - balanceAfter;

        SpendingCap memory cap = spendingCap[flow.token];
        if (outflow > cap.perAction) revert PerActionCapExceeded(flow.token, outflow, cap.perAction);
        uint256 spent = flow.window.total;
        if (spent + outflow > cap.daily) revert DailyCapExceeded(flow.token, spent, outflow, cap.daily);

        uint224 amount = outflow.toUint224();
        Bucket storage bucket = _buckets[flow.token][hour % WINDOW_HOURS];
        // A bucket last written in another hour holds outflow that has already left the window.
        if (bucket.hour != hour) {
            bucket.hour = hour;
            bucket.amount = amount;
        } else {
            bucket.amount += amount;
        }
        _windows[flow.token] = Window({lastHour: hour, total: flow.window.total + amount});
        emit Spent(taskId, flow.token, outflow);
    }

    /// @dev The token's window advanced to `hour`, without writing it: subtracts the buckets of the
    /// hours that left the window since `lastHour` (all of them if a day or more has passed).
    function _windowAt(address token, uint32 hour) private view returns (Window memory window) {
        window = _windows[token];
        uint32 lastHour = window.lastHour;
        if (hour == lastHour) return window;
        if (hour - lastHour >= WINDOW_HOURS) {
            window.total = 0;
        } else {
            Bucket[WINDOW_HOURS] storage buckets = _buckets[token];
            for (uint32 h = lastHour + 1; h <= hour; ++h) {
                Bucket memory bucket = buckets[h % WINDOW_HOURS];
                if (bucket.hour + WINDOW_HOURS == h) window.total -= bucket.amount;
            }
        }
        window.lastHour = hour;
    }

    function _currentHour() private view returns (uint32) {
        return (block.timestamp / 1 hours).toUint32();
    }
}
