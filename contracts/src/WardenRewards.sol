// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {
    IRewardsCoordinator,
    OperatorDirectedRewardsSubmission,
    OperatorReward,
    StrategyAndMultiplier
} from "./interfaces/IEigenLayerRewards.sol";
import {AgentConfig, ITaskManager, Task, TaskState} from "./interfaces/ITaskManager.sol";
import {IWardenRegistry} from "./interfaces/IWardenRegistry.sol";
import {IWardenRewards} from "./interfaces/IWardenRewards.sol";
import {AddressSort} from "./libraries/AddressSort.sol";
import {OperatorIds} from "./libraries/OperatorIds.sol";
import {TaskCommitments} from "./libraries/TaskCommitments.sol";

/// @title WardenRewards
/// @notice Pays Warden's operators their share of each task's fee through EigenLayer's
/// RewardsCoordinator (see `IWardenRewards`).
/// @dev A fee is accrued only once its task can no longer be proved fraudulent (its reference block +
/// the task manager's fraud-proof window): by then the task is Fraudulent, and paid nothing, or never
/// will be. Its signers are the operators in the set at the reference block less the non-signers the
/// commitment recorded, each paid `fee * weight / signedWeight` (rounding leaves the remainder in the
/// agent's prepaid fees). Accrued rewards wait per token until `distribute`, which submits them for
/// the last complete calculation interval: the RewardsCoordinator takes operator-directed rewards only
/// for periods that have ended, so fees earned today are paid as yesterday's. The registry, Warden's AVS
/// identity in EigenLayer, forwards the submission, as the coordinator takes an AVS's rewards only
/// from the AVS itself.
///
/// Ownerless; deployed beside the task manager and named by the registry's owner, once, its rewards
/// distributor.
contract WardenRewards is IWardenRewards, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Where forfeited rewards go: EigenLayer's `DEFAULT_BURN_ADDRESS`.
    address public constant BURN_ADDRESS = 0x00000000000000000000000000000000000E16E4;
    /// @dev Every strategy of the set counts alike in the stakers' split (EigenLayer's unit is 1e18).
    uint96 private constant MULTIPLIER = 1e18;

    /// @dev What an operator has accrued in one token and not been paid, and the reference block of
    /// the oldest task in it: a slash at or after that block forfeits the lot.
    struct Pending {
        uint128 amount;
        uint32 since;
    }

    ITaskManager private immutable _taskManager;
    IWardenRegistry private immutable _registry;
    IRewardsCoordinator private immutable _coordinator;
    uint32 private immutable _fraudProofWindow;
    uint32 private immutable _interval;
    uint32 private immutable _genesis;

    /// @inheritdoc IWardenRewards
    mapping(uint64 agentId => uint256 amount) public feeBalance;
    /// @inheritdoc IWardenRewards
    mapping(uint64 taskId => bool) public accrued;
    /// @inheritdoc IWardenRewards
    mapping(address token => uint32 startTimestamp) public lastDistributedPeriod;

    mapping(address token => mapping(address operator => Pending)) private _pending;
    mapping(address token => address[] operators) private _payees;
    /// @dev Forfeited at accrual, burned at the token's next distribution.
    mapping(address token => uint256 amount) private _forfeited;

    /// @param taskManager_ The task manager whose tasks' fees this contract pays (its registry is
    /// Warden's AVS, whose rewards distributor this contract must become).
    /// @param coordinator_ EigenLayer's RewardsCoordinator.
    constructor(address taskManager_, address coordinator_) {
        _taskManager = ITaskManager(taskManager_);
        _registry = IWardenRegistry(ITaskManager(taskManager_).registry());
        _coordinator = IRewardsCoordinator(coordinator_);
        _fraudProofWindow = ITaskManager(taskManager_).fraudProofWindow();
        _interval = IRewardsCoordinator(coordinator_).CALCULATION_INTERVAL_SECONDS();
        _genesis = IRewardsCoordinator(coordinator_).GENESIS_REWARDS_TIMESTAMP();
    }

    /// @inheritdoc IWardenRewards
    /// @dev Credits what arrived, so a token that takes a fee on transfer cannot over-credit.
    function fundFees(uint64 agentId, uint256 amount) external nonReentrant {
        AgentConfig memory agent = _taskManager.getAgent(agentId);
        if (agent.vault == address(0)) revert UnknownAgent(agentId);
        IERC20 token = IERC20(agent.tokenBase);
        uint256 balanceBefore = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - balanceBefore;
        feeBalance[agentId] += received;
        emit FeesFunded(agentId, msg.sender, address(token), received);
    }

    /// @inheritdoc IWardenRewards
    /// @dev Reads the set at the reference block through the registry's history: every operator ever
    /// registered is examined once, as slashing examines them. The non-signer ids are bound by the
    /// task's commitment hash, which the input and output hashes open with them.
    function accrue(
        uint64 taskId,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 traceHash,
        bytes32[] calldata nonSignerIds
    ) external nonReentrant returns (uint256 fee) {
        if (accrued[taskId]) revert AlreadyAccrued(taskId);
        Task memory task = _taskManager.getTask(taskId);
        if (task.state == TaskState.None) revert UnknownTask(taskId);
        if (task.commitmentHash == bytes32(0)) revert NotCommitted(taskId);
        if (task.state == TaskState.Fraudulent) revert FraudulentTask(taskId);
        uint256 provableUntil = uint256(task.referenceBlock) + _fraudProofWindow;
        if (block.number <= provableUntil) revert StillProvable(taskId, provableUntil);
        bytes32 given = TaskCommitments.hash(inputHash, outputHash, traceHash, OperatorIds.hash(nonSignerIds));
        if (given != task.commitmentHash) revert CommitmentMismatch(taskId, task.commitmentHash, given);
        accrued[taskId] = true;

        AgentConfig memory agent = _taskManager.getAgent(task.agentId);
        uint256 balance = feeBalance[task.agentId];
        fee = agent.taskFee < balance ? agent.taskFee : balance;
        emit TaskFeeAccrued(taskId, task.agentId, agent.tokenBase, fee);
        if (fee == 0) return 0;
        uint256 paid = _accrueToSigners(taskId, task, agent.tokenBase, fee, nonSignerIds);
        feeBalance[task.agentId] = balance - paid;
    }

    /// @inheritdoc IWardenRewards
    function distribute(address token) external nonReentrant returns (uint256 total) {
        uint32 interval = _interval;
        // The start of the last interval that has ended: floored to the interval on purpose.
        // forge-lint: disable-next-line(divide-before-multiply)
        uint256 periodStart = (block.timestamp / interval) * interval - interval;
        if (periodStart < _genesis) revert BeforeRewardsGenesis(periodStart, _genesis);
        uint32 start = periodStart.toUint32();
        uint32 last = lastDistributedPeriod[token];
        if (last != 0 && last >= start) revert AlreadyDistributed(token, start);

        address[] memory operators = _payees[token];
        delete _payees[token];
        uint256 forfeited = _forfeited[token];
        delete _forfeited[token];
        if (operators.length == 0 && forfeited == 0) revert NothingToDistribute(token);
        AddressSort.ascending(operators);

        OperatorReward[] memory rewards = new OperatorReward[](operators.length);
        uint256 paidCount;
        for (uint256 i; i < operators.length; ++i) {
            address operator = operators[i];
            Pending memory pending = _pending[token][operator];
            delete _pending[token][operator];
            if (_slashedSince(operator, pending.since)) {
                forfeited += pending.amount;
                emit RewardForfeited(operator, token, pending.amount);
                continue;
            }
            rewards[paidCount++] = OperatorReward({operator: operator, amount: pending.amount});
            total += pending.amount;
        }
        assembly ("memory-safe") {
            mstore(rewards, paidCount)
        }

        if (paidCount != 0) {
            lastDistributedPeriod[token] = start;
            emit RewardsDistributed(token, start, interval, paidCount, total);
            OperatorDirectedRewardsSubmission memory submission = OperatorDirectedRewardsSubmission({
                strategiesAndMultipliers: _strategiesAndMultipliers(),
                token: token,
                operatorRewards: rewards,
                startTimestamp: start,
                duration: interval,
                description: "Warden task fees"
            });
            IERC20(token).forceApprove(address(_registry), total);
            _registry.submitOperatorRewards(address(_coordinator), submission);
        }
        if (forfeited != 0) {
            emit ForfeitsBurned(token, forfeited);
            IERC20(token).safeTransfer(BURN_ADDRESS, forfeited);
        }
    }

    /// @inheritdoc IWardenRewards
    function taskManager() external view returns (address) {
        return address(_taskManager);
    }

    /// @inheritdoc IWardenRewards
    function rewardsCoordinator() external view returns (address) {
        return address(_coordinator);
    }

    /// @inheritdoc IWardenRewards
    function pendingReward(address token, address operator) external view returns (uint256) {
        return _pending[token][operator].amount;
    }

    /// @inheritdoc IWardenRewards
    function payees(address token) external view returns (address[] memory) {
        return _payees[token];
    }

    /// @dev Credits each signer its share of `fee`; returns the sum of the shares.
    function _accrueToSigners(
        uint64 taskId,
        Task memory task,
        address token,
        uint256 fee,
        bytes32[] calldata nonSignerIds
    ) private returns (uint256 paid) {
        uint32 referenceBlock = task.referenceBlock;
        uint256 count = _registry.operatorIdCount();
        for (uint256 i; i < count; ++i) {
            (bytes32 operatorId, address operator, bool registered) =
                _registry.operatorAtIndex(i, referenceBlock);
            if (!registered || OperatorIds.contains(nonSignerIds, operatorId)) continue;
            (, uint96 weight) = _registry.operatorAt(operatorId, referenceBlock);
            uint256 share = fee * weight / task.signedWeight;
            if (share == 0) continue;
            paid += share;
            _credit(taskId, token, operator, share, referenceBlock);
        }
    }

    /// @dev Adds one signer's share to what it is owed, or forfeits it if the signer was slashed at
    /// or after the task's reference block.
    function _credit(uint64 taskId, address token, address operator, uint256 share, uint32 referenceBlock)
        private
    {
        if (_slashedSince(operator, referenceBlock)) {
            _forfeited[token] += share;
            emit RewardForfeited(operator, token, share);
            return;
        }
        Pending memory pending = _pending[token][operator];
        if (pending.amount == 0) _payees[token].push(operator);
        if (pending.amount == 0 || referenceBlock < pending.since) pending.since = referenceBlock;
        pending.amount = (uint256(pending.amount) + share).toUint128();
        _pending[token][operator] = pending;
        emit RewardAccrued(taskId, operator, token, share);
    }

    function _slashedSince(address operator, uint32 blockNumber) private view returns (bool) {
        uint32 slashedAt = _registry.lastSlashedAt(operator);
        return slashedAt != 0 && slashedAt >= blockNumber;
    }

    /// @dev The set's strategies, ascending as the coordinator requires, each weighing the same.
    function _strategiesAndMultipliers() private view returns (StrategyAndMultiplier[] memory list) {
        address[] memory strategies = _registry.strategies();
        AddressSort.ascending(strategies);
        list = new StrategyAndMultiplier[](strategies.length);
        for (uint256 i; i < strategies.length; ++i) {
            list[i] = StrategyAndMultiplier({strategy: strategies[i], multiplier: MULTIPLIER});
        }
    }
}
