// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice What the task manager tells the vault about the action's quorum, its snapshot and the
/// market at execution. Prices are quote per base, 1e18 fixed point; 0 means no price.
struct ActionContext {
    /// @dev Slashable stake that signed the action, in the base token (quorum weight).
    uint256 signedStake;
    address tokenBase;
    address tokenQuote;
    /// @dev The snapshot's TWAP: the price the action is valued at for the stake bound.
    uint256 price;
    /// @dev The spot price now, and the TWAP over the agent's observation window up to now.
    uint256 spotNow;
    uint256 twapNow;
}

/// @title IWardenVault
/// @notice Holds one owner's ERC-20 funds and executes the actions its agent's quorum committed,
/// within the owner's policy: deny-by-default call permissions, per-token spending caps, pause, and a
/// cryptoeconomic bound: an action may not move more value than a fraction of the stake that signed it.
interface IWardenVault {
    /// @notice An action was executed (`kind` 0: a hold, which moves nothing).
    event ActionExecuted(uint64 indexed taskId, uint8 kind, address target, uint256 value);
    /// @notice The owner vetoed a task's action.
    event ActionVetoed(uint64 indexed taskId);
    /// @notice Call actions were paused (`true`) or resumed (`false`).
    event Paused(bool paused);
    /// @notice The owner allowed or disallowed calls of `selector` on `target`.
    event CallPermissionSet(address indexed target, bytes4 indexed selector, bool allowed);
    /// @notice The owner set a token's caps.
    event SpendingCapSet(address indexed token, uint256 perActionCap, uint256 dailyCap);
    /// @notice The owner withdrew funds.
    event Withdrawn(address indexed token, address indexed to, uint256 amount);
    /// @notice The owner prepaid `amount` of the agent's base token to the rewards contract as the
    /// agent's task fees.
    event TaskFeesFunded(address indexed rewards, uint64 indexed agentId, uint256 amount);
    /// @notice An action's net outflow of a capped token.
    event Spent(uint64 indexed taskId, address indexed token, uint256 amount);
    /// @notice The owner set the stake bound (basis points of the signed stake).
    event StakeBoundSet(uint16 bps);
    /// @notice The owner set how far, in basis points of the TWAP, the spot price may be from the
    /// TWAP for a call action to execute.
    event MaxPriceDeviationSet(uint16 bps);

    /// @notice No agent is registered for this vault yet: it has no task fees to pay.
    error AgentNotRegistered();
    /// @notice `executeAction` was not called by the task manager.
    error NotTaskManager(address caller);
    /// @notice An address argument is zero, or a call target is this vault.
    error InvalidAddress(address account);
    /// @notice Call actions are paused.
    error VaultPaused();
    /// @notice The output is not a well-formed action (or a hold with non-zero fields).
    error MalformedAction();
    /// @notice Actions may not send native currency: its outflow would escape the caps.
    error NativeValueNotAllowed(uint256 value);
    /// @notice The owner has not allowed `selector` on `target`.
    error CallNotAllowed(address target, bytes4 selector);
    /// @notice Actions may not call a capped token, or the agent's base or quote token, itself: an
    /// approval or permit would create an outflow after the action, out of the caps' and the stake
    /// bound's sight.
    error CappedTokenTarget(address token);
    /// @notice The action's call reverted (`reason` is its revert data).
    error ActionFailed(address target, bytes reason);
    /// @notice The action moved more of `token` than one action may.
    error PerActionCapExceeded(address token, uint256 outflow, uint256 cap);
    /// @notice The action would take the rolling 24-hour outflow of `token` above its daily cap.
    error DailyCapExceeded(address token, uint256 spentInWindow, uint256 outflow, uint256 cap);
    /// @notice The number of capped tokens is bounded to bound the cost of every action.
    error TooManyCappedTokens();
    /// @notice The vault cannot be left without an owner: its funds would be stranded.
    error RenounceDisabled();
    /// @notice The stake bound must be in (0, 10_000) basis points, both ends excluded.
    error InvalidStakeBound(uint16 bps);
    /// @notice The action's outflow, valued in the base token at the snapshot's price, exceeds the
    /// bound on what the stake that signed it can answer for.
    error StakeBoundExceeded(uint256 value, uint256 bound);
    /// @notice The action moved a token other than the agent's base and quote, which the snapshot
    /// gives no price for.
    error UnvaluedOutflow(address token);
    /// @notice The price deviation tolerance must be in (0, 10_000] basis points.
    error InvalidPriceDeviation(uint16 bps);
    /// @notice The pair's spot price is more than `maxDeviationBps` of the TWAP away from it (or there
    /// is no TWAP): someone holds the price off, e.g. to sandwich this action. Not final: the action
    /// may execute once the price returns, within its execution window.
    error PriceDeviationTooHigh(uint256 spot, uint256 twap, uint16 maxDeviationBps);

    /// @notice The owner: withdraws, sets the policy, vetoes, pauses.
    function owner() external view returns (address);

    /// @notice The only caller of `executeAction`.
    function taskManager() external view returns (address);

    /// @notice Whether call actions are paused.
    function paused() external view returns (bool);

    /// @notice The fraction of the signed stake, in basis points, that a call action's outflow may be
    /// worth at most.
    function stakeBoundBps() external view returns (uint16);

    /// @notice The largest distance, in basis points of the TWAP, between the spot price and the TWAP
    /// at which a call action executes.
    function maxPriceDeviationBps() external view returns (uint16);

    /// @notice Executes a committed, final, non-vetoed action. Only the task manager.
    /// @param taskId The task the action belongs to.
    /// @param output `abi.encode(uint8 kind, address target, uint256 value, bytes data)`.
    /// @param context The stake that signed the action, the snapshot's price and today's prices.
    /// @return value The action's gross outflow of the base and quote tokens, valued in the base token
    /// at the snapshot's TWAP (rounded up): what it put at risk.
    /// @return loss The fall of the vault's base and quote holdings over the action, valued the same
    /// way (0 if they did not fall): what the vault is owed if the output is proved fraudulent.
    function executeAction(uint64 taskId, bytes calldata output, ActionContext calldata context)
        external
        returns (uint256 value, uint256 loss);

    /// @notice Sets the stake bound, in (0, 10_000) basis points. Only the owner.
    function setStakeBound(uint16 bps) external;

    /// @notice Sets the spot-to-TWAP tolerance, in (0, 10_000] basis points. Only the owner.
    function setMaxPriceDeviation(uint16 bps) external;

    /// @notice Allows or disallows actions to call `selector` on `target`. Only the owner.
    function setCallPermission(address target, bytes4 selector, bool allowed) external;

    /// @notice Caps a token's outflow per action and per rolling 24 hours. Only the owner. Tokens
    /// without caps are never approved to an action's target.
    function setSpendingCap(address token, uint256 perActionCap, uint256 dailyCap) external;

    /// @notice Vetoes a committed task of this vault's agent before its deadline. Only the owner.
    function veto(uint64 taskId) external;

    /// @notice Pauses call actions. Only the owner.
    function pause() external;

    /// @notice Resumes call actions. Only the owner.
    function unpause() external;

    /// @notice Sends funds to `to`. Only the owner; allowed at any time, paused or not.
    function withdraw(address token, address to, uint256 amount) external;

    /// @notice Pays `amount` of the agent's base token from this vault into the agent's prepaid task
    /// fees at `rewards` (`IWardenRewards`), which pays each committed task's fee to its signers. Only
    /// the owner.
    function fundTaskFees(address rewards, uint256 amount) external;

    /// @notice The outflow of `token` through actions in the last 24 hours (24 hourly buckets).
    function spentInWindow(address token) external view returns (uint256);
}
