// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {AgentActions} from "./agent/AgentTypes.sol";
import {ITaskManager} from "./interfaces/ITaskManager.sol";
import {IUniswapV2Router} from "./interfaces/IUniswapV2.sol";
import {ActionContext, IWardenVault} from "./interfaces/IWardenVault.sol";
import {IWardenRewards} from "./interfaces/IWardenRewards.sol";

/// @title WardenVault
/// @notice Holds one owner's ERC-20 funds for one Warden agent. It executes only what its task
/// manager hands it, which is only a quorum-committed output whose challenge window passed without a
/// veto, and only within the owner's policy:
/// - deny by default: a call action needs the owner's permission for its target and selector;
/// - spending caps: for each capped token the action's target gets an allowance of at most what the
///   caps leave, and the vault's balance is measured around the call, so any outflow, however it
///   happens, counts against a per-action cap and a rolling 24-hour cap. Uncapped tokens are never
///   approved to anyone;
/// - pause: stops call actions; withdrawals stay open;
/// - stake bound: a call action's outflow of the agent's base and quote tokens, valued in the base
///   token at the TWAP of the task's snapshot, may not exceed `stakeBoundBps` of the slashable stake
///   that signed it, and it may move no other token. Since the task manager keeps at most one live
///   task per agent, this bounds the value of everything committed but not yet final by the stake
///   that would be slashed if it were fraudulent: corrupting a quorum costs more than it can take;
/// - price sanity: a call action executes only while the spot price is within `maxPriceDeviationBps`
///   of the TWAP up to now, so a front-run that moves the pair against the action makes it wait
///   rather than fill at the manipulated price.
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

    /// @dev What an action's bookkeeping needs per measured token (every capped token, and the base
    /// and quote tokens whether capped or not) between before and after the call.
    struct Flow {
        address token;
        uint256 balanceBefore;
        uint256 allowance;
        Window window;
        /// @dev Whether the owner capped the token: its outflow is then booked against the caps.
        bool capped;
        /// @dev Whether the snapshot prices the token (the base or the quote): any other may not move.
        bool valued;
    }

    /// @dev What an action moved of the base and quote tokens.
    struct Movement {
        uint256 outflowBase;
        uint256 outflowQuote;
        uint256 inflowBase;
        uint256 inflowQuote;
    }

    /// @dev Denominator of `stakeBoundBps` and `maxPriceDeviationBps`.
    uint16 private constant BPS = 10_000;
    /// @dev 1e18: prices are quote per base in this fixed point.
    uint256 private constant WAD = 1e18;
    /// @notice The spot-to-TWAP tolerance a new vault starts with: 1 %. The reference agent's 2 %
    /// slippage leaves room for 0.3 % fee, 0.25 % price impact (its largest trade) and this.
    uint16 public constant DEFAULT_MAX_PRICE_DEVIATION_BPS = 100;

    /// @inheritdoc IWardenVault
    address public immutable taskManager;

    /// @inheritdoc IWardenVault
    bool public paused;

    /// @inheritdoc IWardenVault
    uint16 public stakeBoundBps;

    /// @inheritdoc IWardenVault
    uint16 public maxPriceDeviationBps;

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
    /// @param stakeBoundBps_ The stake bound, in (0, 10_000) basis points of the signed stake.
    constructor(address owner_, address taskManager_, uint16 stakeBoundBps_) Ownable(owner_) {
        if (taskManager_ == address(0)) revert InvalidAddress(taskManager_);
        taskManager = taskManager_;
        _setStakeBound(stakeBoundBps_);
        _setMaxPriceDeviation(DEFAULT_MAX_PRICE_DEVIATION_BPS);
    }

    // ------------------------------------------------------------------------------------------
    // Actions
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IWardenVault
    /// @dev Any non-zero kind is a call: the kind only labels it (buy or sell for the reference
    /// agent). A failing call reverts with `ActionFailed`, and so does the task manager's `execute`:
    /// the task stays committed and may be retried until its execution window ends. The caps' and the
    /// stake bound's bookkeeping necessarily follows the call it measures; every state-changing entry
    /// point is `nonReentrant`, so the call can neither re-enter an action nor change the policy
    /// midway.
    function executeAction(uint64 taskId, bytes calldata output, ActionContext calldata context)
        external
        nonReentrant
        returns (uint256 value, uint256 loss)
    {
        if (msg.sender != taskManager) revert NotTaskManager(msg.sender);
        // Four head words; shorter bytes cannot be an action, and saying so beats an empty revert.
        if (output.length < 0x80) revert MalformedAction();
        (uint8 kind, address target, uint256 nativeValue, bytes memory data) =
            abi.decode(output, (uint8, address, uint256, bytes));

        if (kind == AgentActions.HOLD) {
            // "Do nothing" has exactly one encoding; anything else claiming to be a hold is malformed.
            if (target != address(0) || nativeValue != 0 || data.length != 0) revert MalformedAction();
            emit ActionExecuted(taskId, kind, address(0), 0);
            return (0, 0);
        }
        if (paused) revert VaultPaused();
        if (nativeValue != 0) revert NativeValueNotAllowed(nativeValue);
        if (data.length < 4) revert MalformedAction();
        // The selector is by definition the first four bytes of the call data.
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes4 selector = bytes4(data);
        if (!callAllowed[target][selector]) revert CallNotAllowed(target, selector);

        (value, loss) = _call(taskId, target, data, context);
        emit ActionExecuted(taskId, kind, target, 0);
    }

    /// @dev Approves what the caps and the stake bound leave, makes the call, then measures, books and
    /// bounds its outflow. Returns the outflow's value and the vault's loss (see `executeAction`).
    function _call(uint64 taskId, address target, bytes memory data, ActionContext calldata context)
        private
        returns (uint256 value, uint256 loss)
    {
        _requireSpotNearTwap(context);
        uint256 bound = _stakeBound(context);
        uint32 hour = _currentHour();
        Flow[] memory flows = _prepareFlows(target, hour, context, bound);
        _requireDeclaredSpendFits(data, flows, context, bound);
        for (uint256 i; i < flows.length; ++i) {
            if (flows[i].allowance != 0) IERC20(flows[i].token).forceApprove(target, flows[i].allowance);
        }

        (bool ok, bytes memory reason) = target.call(data);
        if (!ok) revert ActionFailed(target, reason);

        Movement memory moved = _settleFlows(taskId, target, hour, flows, context);
        value = _valueInBase(moved.outflowBase, moved.outflowQuote, context);
        if (value > bound) revert StakeBoundExceeded(value, bound);
        // Proceeds are valued rounded down and the outflow rounded up: against the claim of a loss
        // being too small.
        uint256 proceeds = _proceedsInBase(moved.inflowBase, moved.inflowQuote, context);
        loss = value > proceeds ? value - proceeds : 0;
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
    /// @dev Strictly below 100 %: a quorum must always stand to lose more than its action can move.
    function setStakeBound(uint16 bps) external onlyOwner nonReentrant {
        _setStakeBound(bps);
    }

    /// @inheritdoc IWardenVault
    /// @dev Tighter than the agent's slippage less fee and price impact, or honest trades wait out
    /// deviations they would have survived; looser, and a front-run may take up to the slippage.
    function setMaxPriceDeviation(uint16 bps) external onlyOwner nonReentrant {
        _setMaxPriceDeviation(bps);
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

    /// @inheritdoc IWardenVault
    /// @dev Not counted against the caps, like a withdrawal: fees are the owner's decision. The
    /// allowance covers exactly this payment and is pulled in full.
    function fundTaskFees(address rewards, uint256 amount) external onlyOwner nonReentrant {
        ITaskManager manager = ITaskManager(taskManager);
        uint64 agentId = manager.agentOf(address(this));
        if (agentId == 0) revert AgentNotRegistered();
        IERC20 token = IERC20(manager.getAgent(agentId).tokenBase);
        emit TaskFeesFunded(rewards, agentId, amount);
        token.forceApprove(rewards, amount);
        IWardenRewards(rewards).fundFees(agentId, amount);
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

    /// @dev Per measured token: the balance before the call and the allowance the caps and the stake
    /// bound leave. Capped tokens come first, then the base and quote tokens if uncapped; uncapped
    /// tokens get no allowance, and only the base and quote tokens, which the snapshot prices, can
    /// get one at all.
    function _prepareFlows(address target, uint32 hour, ActionContext calldata context, uint256 bound)
        private
        view
        returns (Flow[] memory flows)
    {
        uint256 count = _cappedTokens.length;
        bool baseCapped = _isCapped[context.tokenBase];
        bool quoteCapped = _isCapped[context.tokenQuote];
        flows = new Flow[](count + (baseCapped ? 0 : 1) + (quoteCapped ? 0 : 1));
        // The bound in quote units, rounded down: against the action. Zero bound means no price.
        uint256 boundQuote = bound == 0 ? 0 : Math.mulDiv(bound, context.price, WAD);
        for (uint256 i; i < count; ++i) {
            address token = _cappedTokens[i];
            // Calls on the token itself could approve or permit a spender for later, an outflow the
            // balance measurement around this call would never see.
            if (token == target) revert CappedTokenTarget(token);
            Window memory window = _windowAt(token, hour);
            SpendingCap memory cap = spendingCap[token];
            uint256 room = cap.daily > window.total ? cap.daily - window.total : 0;
            bool isBase = token == context.tokenBase;
            bool valued = isBase || token == context.tokenQuote;
            uint256 allowance = Math.min(cap.perAction, room);
            allowance = valued ? Math.min(allowance, isBase ? bound : boundQuote) : 0;
            flows[i] = Flow({
                token: token,
                balanceBefore: IERC20(token).balanceOf(address(this)),
                allowance: allowance,
                window: window,
                capped: true,
                valued: valued
            });
        }
        if (!baseCapped) flows[count++] = _uncappedFlow(context.tokenBase, target);
        if (!quoteCapped) flows[count] = _uncappedFlow(context.tokenQuote, target);
    }

    /// @dev Refuses, before the call, an action whose spend is known from its calldata (an exact-input
    /// swap: `amountIn` of `path[0]`) and exceeds what the caps or the stake bound leave, with the
    /// error naming the limit: the call could only fail (its target could not pull the amount), with
    /// the target's own, less telling, error. The measurement after the call still bounds whatever
    /// the action actually moves.
    function _requireDeclaredSpendFits(
        bytes memory data,
        Flow[] memory flows,
        ActionContext calldata context,
        uint256 bound
    ) private view {
        (address token, uint256 requested) = _declaredSpend(data);
        if (requested == 0) return;
        for (uint256 i; i < flows.length; ++i) {
            Flow memory flow = flows[i];
            if (flow.token != token) continue;
            // The allowance is the least of what every limit leaves: within it, nothing to refuse.
            if (requested <= flow.allowance) return;
            if (flow.capped) {
                SpendingCap memory cap = spendingCap[token];
                if (requested > cap.perAction) revert PerActionCapExceeded(token, requested, cap.perAction);
                uint256 spent = flow.window.total;
                if (spent + requested > cap.daily) {
                    revert DailyCapExceeded(token, spent, requested, cap.daily);
                }
            }
            if (flow.valued) {
                bool isBase = token == context.tokenBase;
                uint256 value = _valueInBase(isBase ? requested : 0, isBase ? 0 : requested, context);
                if (value > bound) revert StakeBoundExceeded(value, bound);
            }
            return;
        }
    }

    /// @dev What an exact-input swap of a Uniswap v2 router spends: `amountIn` of `path[0]`. Zero for
    /// any other call, or calldata too short to hold the arguments (the call then fails on its own).
    function _declaredSpend(bytes memory data) private pure returns (address token, uint256 amount) {
        bytes4 exactIn = IUniswapV2Router.swapExactTokensForTokens.selector;
        bytes4 exactInFee = IUniswapV2Router.swapExactTokensForTokensSupportingFeeOnTransferTokens.selector;
        assembly ("memory-safe") {
            let length := mload(data)
            // Selector + five head words: amountIn, amountOutMin, path offset, to, deadline.
            if gt(length, 0xa3) {
                let selector := and(mload(add(data, 0x20)), shl(224, 0xffffffff))
                if or(eq(selector, exactIn), eq(selector, exactInFee)) {
                    let args := add(data, 0x24)
                    let pathOffset := mload(add(args, 0x40))
                    // The path's length word and first element must lie within the arguments.
                    if and(lt(pathOffset, length), iszero(gt(add(pathOffset, 0x40), sub(length, 4)))) {
                        let path := add(args, pathOffset)
                        let first := mload(add(path, 0x20))
                        if and(gt(mload(path), 0), iszero(shr(160, first))) {
                            token := first
                            amount := mload(args)
                        }
                    }
                }
            }
        }
    }

    /// @dev Settles every measured token after the call; returns how much of the base and quote tokens
    /// left and arrived.
    function _settleFlows(
        uint64 taskId,
        address target,
        uint32 hour,
        Flow[] memory flows,
        ActionContext calldata context
    ) private returns (Movement memory moved) {
        for (uint256 i; i < flows.length; ++i) {
            (uint256 outflow, uint256 inflow) = _settleFlow(taskId, target, hour, flows[i]);
            if (flows[i].token == context.tokenBase) {
                (moved.outflowBase, moved.inflowBase) = (outflow, inflow);
            } else if (flows[i].token == context.tokenQuote) {
                (moved.outflowQuote, moved.inflowQuote) = (outflow, inflow);
            }
        }
    }

    /// @dev An uncapped base or quote token is measured for the stake bound but never approved.
    function _uncappedFlow(address token, address target) private view returns (Flow memory flow) {
        if (token == target) revert CappedTokenTarget(token);
        flow.token = token;
        flow.balanceBefore = IERC20(token).balanceOf(address(this));
        flow.valued = true;
    }

    /// @dev Revokes the allowance, measures the outflow, refuses it if the token is unpriced, enforces
    /// the caps and books it for a capped token, and returns it with the inflow. The outflow is the
    /// net fall of the vault's balance over the call: a token whose balance rose (a swap's proceeds)
    /// spent nothing, and an inflow never frees outflow already booked in the window.
    function _settleFlow(uint64 taskId, address target, uint32 hour, Flow memory flow)
        private
        returns (uint256 outflow, uint256 inflow)
    {
        IERC20 token = IERC20(flow.token);
        if (flow.allowance != 0) token.forceApprove(target, 0);
        uint256 balanceAfter = token.balanceOf(address(this));
        if (balanceAfter >= flow.balanceBefore) return (0, balanceAfter - flow.balanceBefore);
        outflow = flow.balanceBefore - balanceAfter;
        if (!flow.valued) revert UnvaluedOutflow(flow.token);
        if (!flow.capped) return (outflow, 0);

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

    function _setStakeBound(uint16 bps) private {
        if (bps == 0 || bps >= BPS) revert InvalidStakeBound(bps);
        stakeBoundBps = bps;
        emit StakeBoundSet(bps);
    }

    function _setMaxPriceDeviation(uint16 bps) private {
        if (bps == 0 || bps > BPS) revert InvalidPriceDeviation(bps);
        maxPriceDeviationBps = bps;
        emit MaxPriceDeviationSet(bps);
    }

    /// @dev Refuses while `|spot - twap| > twap * maxPriceDeviationBps / 10000`, or without a TWAP. The
    /// TWAP up to now is what one block cannot move: a spot away from it is a price someone is holding
    /// off, and filling against it would hand them up to the agent's slippage.
    function _requireSpotNearTwap(ActionContext calldata context) private view {
        uint256 spot = context.spotNow;
        uint256 twap = context.twapNow;
        uint16 tolerance = maxPriceDeviationBps;
        uint256 distance = spot > twap ? spot - twap : twap - spot;
        // distance < 2^256 / 10^4 for any price the pair can hold (below 2^112 * 1e18).
        if (twap == 0 || distance * BPS > twap * tolerance) {
            revert PriceDeviationTooHigh(spot, twap, tolerance);
        }
    }

    /// @dev `stakeBoundBps` of the signed stake, in the base token. Without a price no outflow can be
    /// valued, so the bound is zero and a call may move nothing.
    function _stakeBound(ActionContext calldata context) private view returns (uint256) {
        if (context.price == 0) return 0;
        return Math.mulDiv(context.signedStake, stakeBoundBps, BPS);
    }

    /// @dev Base plus quote outflow valued in the base token at the snapshot's TWAP, rounded up:
    /// against the action. Quote outflow without a price is worth more than any bound.
    function _valueInBase(uint256 outflowBase, uint256 outflowQuote, ActionContext calldata context)
        private
        pure
        returns (uint256)
    {
        if (outflowQuote == 0) return outflowBase;
        if (context.price == 0) return type(uint256).max;
        return
            Math.saturatingAdd(outflowBase, Math.mulDiv(outflowQuote, WAD, context.price, Math.Rounding.Ceil));
    }

    /// @dev Base plus quote inflow valued in the base token at the snapshot's price, rounded down.
    /// Quote without a price is worth nothing.
    function _proceedsInBase(uint256 inflowBase, uint256 inflowQuote, ActionContext calldata context)
        private
        pure
        returns (uint256)
    {
        if (inflowQuote == 0 || context.price == 0) return inflowBase;
        return Math.saturatingAdd(inflowBase, Math.mulDiv(inflowQuote, WAD, context.price));
    }
}
