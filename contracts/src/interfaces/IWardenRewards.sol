// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @title IWardenRewards
/// @notice Pays Warden's operators. Each agent's owner sets a per-task fee at registration
/// (`AgentConfig.taskFee`, in the agent's base token) and prepays fees into this contract, from its
/// vault (`WardenVault.fundTaskFees`) or any account. Once a committed task can no longer be proved
/// fraudulent, anyone accrues its fee to the operators that signed it, pro rata to the weight each
/// signed with; non-signers get nothing. Once per EigenLayer calculation interval, anyone distributes a
/// token's accrued rewards through EigenLayer's RewardsCoordinator as an operator-directed submission
/// of Warden's AVS. An operator slashed after it signed a task whose reward is still unpaid forfeits
/// its unpaid rewards: they are burned.
interface IWardenRewards {
    /// @notice `amount` of `token` was added to the agent's prepaid fees by `funder`.
    event FeesFunded(uint64 indexed agentId, address indexed funder, address indexed token, uint256 amount);
    /// @notice The task's fee, `fee` of `token` (its agent's task fee, or what was left of its prepaid
    /// fees), was charged and accrued to its signers.
    event TaskFeeAccrued(uint64 indexed taskId, uint64 indexed agentId, address indexed token, uint256 fee);
    /// @notice `operator` earned `amount` of `token` for signing task `taskId`.
    event RewardAccrued(
        uint64 indexed taskId, address indexed operator, address indexed token, uint256 amount
    );
    /// @notice `operator`, slashed since it signed, forfeited `amount` of `token` it had not been paid.
    event RewardForfeited(address indexed operator, address indexed token, uint256 amount);
    /// @notice `total` of `token` went to `operators` operators through EigenLayer's RewardsCoordinator,
    /// as Warden's operator-directed submission for [`startTimestamp`, `startTimestamp + duration`).
    event RewardsDistributed(
        address indexed token, uint32 startTimestamp, uint32 duration, uint256 operators, uint256 total
    );
    /// @notice Forfeited rewards, `amount` of `token`, were sent to EigenLayer's burn address.
    event ForfeitsBurned(address indexed token, uint256 amount);

    /// @notice No agent has this id.
    error UnknownAgent(uint64 agentId);
    /// @notice No task has this id.
    error UnknownTask(uint64 taskId);
    /// @notice The task has no committed output: nobody signed anything to be paid for.
    error NotCommitted(uint64 taskId);
    /// @notice The task's output was proved fraudulent: its signers are slashed, not paid.
    error FraudulentTask(uint64 taskId);
    /// @notice The task can still be proved fraudulent, through block `provableUntil`.
    error StillProvable(uint64 taskId, uint256 provableUntil);
    /// @notice The task's fee was already accrued.
    error AlreadyAccrued(uint64 taskId);
    /// @notice The input hash, output hash and non-signer ids shown do not open the task's commitment
    /// hash (`committed`; `given` is what they make of it): one of them is not what the task was
    /// committed with.
    error CommitmentMismatch(uint64 taskId, bytes32 committed, bytes32 given);
    /// @notice The last complete calculation interval, starting at `periodStart`, begins before
    /// EigenLayer's rewards genesis: nothing can be submitted for it.
    error BeforeRewardsGenesis(uint256 periodStart, uint256 genesis);
    /// @notice The token's rewards were already distributed for the period starting at `periodStart`:
    /// the next distribution opens with the next calculation interval.
    error AlreadyDistributed(address token, uint256 periodStart);
    /// @notice No rewards in this token are waiting to be distributed.
    error NothingToDistribute(address token);

    /// @notice Adds `amount` of the agent's base token, pulled from the caller, to its prepaid fees.
    function fundFees(uint64 agentId, uint256 amount) external;

    /// @notice Charges a committed task's fee from its agent's prepaid fees and accrues it to the
    /// operators that signed it, pro rata to their weight at its reference block; callable by anyone
    /// once the task's fraud-proof window is over, once per task. The input hash, output hash, trace
    /// hash and non-signer ids must open the task's commitment hash (`CommitmentMismatch` otherwise).
    /// @param taskId The committed task.
    /// @param inputHash The task's input hash (its `TaskOpened` event).
    /// @param outputHash The committed output's hash (its `OutputCommitted` event).
    /// @param traceHash The committed trace's hash (its `OutputCommitted` event).
    /// @param nonSignerIds The non-signers' operator ids the task was committed with (its
    /// `OutputCommitted` event), ascending.
    /// @return fee The fee charged: the agent's task fee, or what was left of its prepaid fees.
    function accrue(
        uint64 taskId,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 traceHash,
        bytes32[] calldata nonSignerIds
    ) external returns (uint256 fee);

    /// @notice Submits every accrued reward in `token` to EigenLayer's RewardsCoordinator as Warden's
    /// operator-directed rewards for the last complete calculation interval, and burns the forfeited.
    /// Anyone may call it, once per token and interval.
    /// @return total What the operators were paid.
    function distribute(address token) external returns (uint256 total);

    /// @notice The task manager whose tasks' fees this contract pays out.
    function taskManager() external view returns (address);

    /// @notice EigenLayer's RewardsCoordinator the rewards go through.
    function rewardsCoordinator() external view returns (address);

    /// @notice The agent's prepaid fees, in its base token.
    function feeBalance(uint64 agentId) external view returns (uint256);

    /// @notice Whether the task's fee was accrued.
    function accrued(uint64 taskId) external view returns (bool);

    /// @notice What `operator` has accrued in `token` and not yet been paid.
    function pendingReward(address token, address operator) external view returns (uint256);

    /// @notice The operators with rewards in `token` waiting for the next distribution.
    function payees(address token) external view returns (address[] memory);

    /// @notice Start of the last calculation interval the token's rewards were distributed for (0: never).
    function lastDistributedPeriod(address token) external view returns (uint32);
}
