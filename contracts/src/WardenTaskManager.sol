// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "./WardenRegistry.sol";
import {AgentInput} from "./agent/AgentTypes.sol";
import {IAgentVerifier} from "./interfaces/IAgentVerifier.sol";
import {AgentConfig, AgentStatus, ITaskManager, Task, TaskState} from "./interfaces/ITaskManager.sol";
import {IUniswapV2Pair} from "./interfaces/IUniswapV2.sol";
import {IWardenVault} from "./interfaces/IWardenVault.sol";
import {WardenDigests} from "./libraries/WardenDigests.sol";

/// @title WardenTaskManager
/// @notice Runs Warden's task lifecycle: agents are registered by their vault's owner, tasks are
/// opened on an on-chain input snapshot, a stake-weighted BLS quorum of the operator set at the
/// task's reference block commits the output, and after the challenge window the output is handed
/// to the agent's vault, which applies its owner's policy.
/// @dev Ownerless: nothing here can be reconfigured, so no key other than a vault owner's (over its
/// own vault) can influence what executes.
///
/// An agent has at most one live (Open or Committed) task. Its snapshot then always reflects the
/// effects of every earlier action, so the agent never decides on balances that a pending action is
/// about to change. A live task that runs out of time (no commitment within the response window, or
/// no successful execution within the execution window that follows the deadline) may be expired by
/// anyone, and `openTask` expires it on the way, so a failing action cannot stall its agent.
contract WardenTaskManager is ITaskManager, ReentrancyGuardTransient {
    using SafeCast for uint256;

    /// @notice Number of prices in an agent's history and in every input snapshot.
    uint256 public constant HISTORY_LENGTH = 16;
    /// @notice Denominator of `thresholdBps`.
    uint16 public constant MAX_BPS = 10_000;
    /// @notice Thresholds must be strictly above this: two disjoint quorums would otherwise be possible.
    uint16 public constant MIN_THRESHOLD_BPS_EXCLUSIVE = 5_000;

    /// @dev One slot per agent, read and written whole by `openTask`.
    struct AgentState {
        uint32 lastObservedAt;
        uint32 lastOpenedAt;
        uint8 observations;
        /// @dev Ring-buffer index of the next price to write.
        uint8 next;
        bool baseIsToken0;
        uint64 latestTaskId;
    }

    /// @dev `commitOutput`'s results, kept in memory: they outnumber the free stack slots.
    struct Commitment {
        bytes32 outputHash;
        bytes32 nonSignerHash;
        uint256 signedWeight;
        uint256 totalWeight;
        uint32 deadline;
    }

    WardenRegistry private immutable _registry;

    /// @inheritdoc ITaskManager
    uint64 public agentCount;
    /// @inheritdoc ITaskManager
    uint64 public taskCount;

    /// @inheritdoc ITaskManager
    mapping(address vault => uint64 agentId) public agentOf;

    mapping(uint64 agentId => AgentConfig) private _agents;
    mapping(uint64 agentId => AgentState) private _agentStates;
    mapping(uint64 agentId => uint256[HISTORY_LENGTH]) private _prices;
    mapping(uint64 taskId => Task) private _tasks;

    /// @param registry_ The WardenRegistry whose operator set signs every task.
    constructor(address registry_) {
        _registry = WardenRegistry(registry_);
    }

    // ------------------------------------------------------------------------------------------
    // Agents and observations
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function registerAgent(AgentConfig calldata config) external nonReentrant returns (uint64 agentId) {
        if (config.thresholdBps <= MIN_THRESHOLD_BPS_EXCLUSIVE || config.thresholdBps > MAX_BPS) {
            revert InvalidThreshold(config.thresholdBps);
        }
        // A zero window would let an output execute, or a task expire, before anyone could react.
        if (config.responseWindow == 0 || config.challengeWindow == 0 || config.tickInterval == 0) {
            revert InvalidWindow();
        }
        address vault = config.vault;
        address vaultOwner = IWardenVault(vault).owner();
        if (msg.sender != vaultOwner) revert NotVaultOwner(msg.sender, vaultOwner);
        address vaultTaskManager = IWardenVault(vault).taskManager();
        if (vaultTaskManager != address(this)) revert VaultTaskManagerMismatch(vault, vaultTaskManager);
        uint64 existing = agentOf[vault];
        if (existing != 0) revert VaultAlreadyHasAgent(vault, existing);
        bytes32 verifierHash = IAgentVerifier(config.verifier).agentHash();
        if (verifierHash != config.agentHash) revert AgentHashMismatch(config.agentHash, verifierHash);
        bool baseIsToken0 = _baseIsToken0(config);

        agentId = ++agentCount;
        _agents[agentId] = config;
        _agentStates[agentId].baseIsToken0 = baseIsToken0;
        agentOf[vault] = agentId;
        emit AgentRegistered(agentId, vault, config.agentHash, config.verifier, config);
    }

    /// @inheritdoc ITaskManager
    function observe(uint64 agentId) external nonReentrant {
        AgentConfig storage agent = _agentOrRevert(agentId);
        AgentState memory state = _agentStates[agentId];
        if (state.lastObservedAt == block.number) revert AlreadyObserved(agentId, state.lastObservedAt);
        (uint112 reserveBase, uint112 reserveQuote) = _reserves(agent.pair, state.baseIsToken0);
        _record(agentId, state, reserveBase, reserveQuote);
        _agentStates[agentId] = state;
    }

    // ------------------------------------------------------------------------------------------
    // Task lifecycle
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function openTask(uint64 agentId) external nonReentrant returns (uint64 taskId) {
        AgentConfig storage agent = _agentOrRevert(agentId);
        AgentState memory state = _agentStates[agentId];
        if (state.lastOpenedAt != 0) {
            uint256 nextBlock = uint256(state.lastOpenedAt) + agent.tickInterval;
            if (block.number < nextBlock) revert TickTooSoon(agentId, nextBlock);
        }
        if (state.latestTaskId != 0) _retireLatest(agentId, state.latestTaskId, agent);

        (uint112 reserveBase, uint112 reserveQuote) = _reserves(agent.pair, state.baseIsToken0);
        if (state.lastObservedAt != block.number) _record(agentId, state, reserveBase, reserveQuote);
        if (state.observations < HISTORY_LENGTH) revert InsufficientHistory(agentId, state.observations);

        address vault = agent.vault;
        address tokenBase = agent.tokenBase;
        address tokenQuote = agent.tokenQuote;
        bytes memory input = abi.encode(
            AgentInput({
                vault: vault,
                tokenBase: tokenBase,
                tokenQuote: tokenQuote,
                reserveBase: reserveBase,
                reserveQuote: reserveQuote,
                balanceBase: IERC20(tokenBase).balanceOf(vault),
                balanceQuote: IERC20(tokenQuote).balanceOf(vault),
                priceHistory: _history(agentId, state),
                timestamp: block.timestamp.toUint64()
            })
        );
        bytes32 inputHash = keccak256(input);
        uint32 currentBlock = block.number.toUint32();

        taskId = ++taskCount;
        state.lastOpenedAt = currentBlock;
        state.latestTaskId = taskId;
        _agentStates[agentId] = state;
        Task storage task = _tasks[taskId];
        task.agentId = agentId;
        task.state = TaskState.Open;
        task.referenceBlock = currentBlock - 1;
        task.openedAt = currentBlock;
        task.inputHash = inputHash;
        emit TaskOpened(taskId, agentId, currentBlock - 1, inputHash, input);
    }

    /// @inheritdoc ITaskManager
    function commitOutput(
        uint64 taskId,
        bytes calldata output,
        BLS.G1Point[] calldata nonSigners,
        BLS.G2Point calldata signature
    ) external nonReentrant {
        Task storage task = _tasks[taskId];
        if (task.state != TaskState.Open) revert UnexpectedTaskState(taskId, task.state);
        AgentConfig storage agent = _agents[task.agentId];
        uint256 lastBlock = uint256(task.openedAt) + agent.responseWindow;
        if (block.number > lastBlock) revert ResponseWindowOver(taskId, lastBlock);

        Commitment memory commitment;
        commitment.outputHash = keccak256(output);
        (commitment.signedWeight, commitment.totalWeight) =
            _checkQuorum(taskId, task, agent, commitment.outputHash, nonSigners, signature);
        commitment.nonSignerHash = keccak256(abi.encode(nonSigners));
        commitment.deadline = (block.number + agent.challengeWindow).toUint32();

        task.state = TaskState.Committed;
        task.deadline = commitment.deadline;
        task.outputHash = commitment.outputHash;
        task.nonSignerHash = commitment.nonSignerHash;
        task.signedWeight = commitment.signedWeight.toUint96();
        task.totalWeight = commitment.totalWeight.toUint96();
        emit OutputCommitted(
            taskId,
            commitment.outputHash,
            commitment.nonSignerHash,
            commitment.signedWeight,
            commitment.totalWeight,
            commitment.deadline,
            output
        );
    }

    /// @inheritdoc ITaskManager
    /// @dev A reverting action reverts the whole call and the task stays Committed: a transient
    /// failure (vault paused, daily cap used up, too little gas) may be retried within the execution
    /// window, after which the task can only expire. A failed action is thus never recorded as
    /// executed, and never executes long after the snapshot it was decided on.
    function execute(uint64 taskId, bytes calldata output) external nonReentrant {
        Task storage task = _tasks[taskId];
        if (task.state != TaskState.Committed) revert UnexpectedTaskState(taskId, task.state);
        uint32 deadline = task.deadline;
        if (block.number <= deadline) revert ChallengeWindowNotOver(taskId, deadline);
        AgentConfig storage agent = _agents[task.agentId];
        uint256 lastBlock = uint256(deadline) + agent.responseWindow;
        if (block.number > lastBlock) revert ExecutionWindowOver(taskId, lastBlock);
        bytes32 outputHash = keccak256(output);
        bytes32 committed = task.outputHash;
        if (outputHash != committed) revert OutputMismatch(taskId, committed, outputHash);

        // Executed before the vault runs the action: even a reentrant path could not run it twice.
        task.state = TaskState.Executed;
        emit TaskExecuted(taskId, outputHash);
        IWardenVault(agent.vault).executeAction(taskId, output);
    }

    /// @inheritdoc ITaskManager
    function expire(uint64 taskId) external nonReentrant {
        Task storage task = _tasks[taskId];
        TaskState state = task.state;
        if (state != TaskState.Open && state != TaskState.Committed) {
            revert UnexpectedTaskState(taskId, state);
        }
        uint256 lastBlock = _lastLiveBlock(task, _agents[task.agentId]);
        if (block.number <= lastBlock) revert TaskNotExpirable(taskId, lastBlock);
        task.state = TaskState.Expired;
        emit TaskExpired(taskId);
    }

    /// @inheritdoc ITaskManager
    function veto(uint64 taskId) external nonReentrant {
        Task storage task = _tasks[taskId];
        // An unknown task has agent 0, whose vault is the zero address: no caller matches.
        address vault = _agents[task.agentId].vault;
        if (msg.sender != vault) revert NotAgentVault(msg.sender, vault);
        if (task.state != TaskState.Committed) revert UnexpectedTaskState(taskId, task.state);
        uint32 deadline = task.deadline;
        if (block.number > deadline) revert ChallengeWindowOver(taskId, deadline);
        task.state = TaskState.Vetoed;
        emit TaskVetoed(taskId);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ITaskManager
    function getTask(uint64 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @inheritdoc ITaskManager
    function getAgent(uint64 agentId) external view returns (AgentConfig memory) {
        return _agents[agentId];
    }

    /// @inheritdoc ITaskManager
    function agentStatus(uint64 agentId) external view returns (AgentStatus memory) {
        AgentState memory state = _agentStates[agentId];
        return AgentStatus({
            lastObservedAt: state.lastObservedAt,
            lastOpenedAt: state.lastOpenedAt,
            observations: state.observations,
            latestTaskId: state.latestTaskId
        });
    }

    /// @inheritdoc ITaskManager
    function priceHistory(uint64 agentId) external view returns (uint256[] memory) {
        return _history(agentId, _agentStates[agentId]);
    }

    /// @inheritdoc ITaskManager
    function outputDigest(uint64 taskId, bytes32 outputHash) external view returns (bytes32) {
        Task storage task = _tasks[taskId];
        if (task.state == TaskState.None) revert UnknownTask(taskId);
        return _outputDigest(taskId, task, _agents[task.agentId].agentHash, outputHash);
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _agentOrRevert(uint64 agentId) private view returns (AgentConfig storage agent) {
        if (agentId == 0 || agentId > agentCount) revert UnknownAgent(agentId);
        return _agents[agentId];
    }

    /// @dev Whether the base token is the pair's token0; reverts unless the two tokens are the pair's.
    function _baseIsToken0(AgentConfig calldata config) private view returns (bool) {
        IUniswapV2Pair pair = IUniswapV2Pair(config.pair);
        address token0 = pair.token0();
        address token1 = pair.token1();
        if (config.tokenBase == token0 && config.tokenQuote == token1) return true;
        if (config.tokenBase == token1 && config.tokenQuote == token0) return false;
        revert TokensNotInPair(config.pair, config.tokenBase, config.tokenQuote);
    }

    function _reserves(address pair, bool baseIsToken0)
        private
        view
        returns (uint112 reserveBase, uint112 reserveQuote)
    {
        (uint112 reserve0, uint112 reserve1,) = IUniswapV2Pair(pair).getReserves();
        return baseIsToken0 ? (reserve0, reserve1) : (reserve1, reserve0);
    }

    /// @dev Appends the price to the agent's ring buffer and updates `state` in memory; the caller
    /// writes it back. An empty pool has no price: it is recorded as 0, a fact the agent can see.
    function _record(uint64 agentId, AgentState memory state, uint112 reserveBase, uint112 reserveQuote)
        private
    {
        uint256 price = reserveBase == 0 ? 0 : uint256(reserveQuote) * 1e18 / reserveBase;
        uint32 currentBlock = block.number.toUint32();
        _prices[agentId][state.next] = price;
        // The index is taken modulo 16, so it fits.
        // forge-lint: disable-next-line(unsafe-typecast)
        state.next = uint8((state.next + 1) % HISTORY_LENGTH);
        if (state.observations < HISTORY_LENGTH) ++state.observations;
        state.lastObservedAt = currentBlock;
        emit PriceObserved(agentId, price, currentBlock);
    }

    /// @dev The recorded prices, oldest first. Once the buffer is full the oldest is at `next`.
    function _history(uint64 agentId, AgentState memory state)
        private
        view
        returns (uint256[] memory history)
    {
        uint256 count = state.observations;
        uint256 start = count < HISTORY_LENGTH ? 0 : state.next;
        uint256[HISTORY_LENGTH] storage prices = _prices[agentId];
        history = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            history[i] = prices[(start + i) % HISTORY_LENGTH];
        }
    }

    /// @dev Lets the agent's latest task make way for a new one: a finished task does, a live task
    /// that ran out of time is expired, a live task still in time blocks the agent.
    function _retireLatest(uint64 agentId, uint64 taskId, AgentConfig storage agent) private {
        Task storage task = _tasks[taskId];
        TaskState state = task.state;
        if (state != TaskState.Open && state != TaskState.Committed) return;
        if (block.number <= _lastLiveBlock(task, agent)) revert AgentBusy(agentId, taskId);
        task.state = TaskState.Expired;
        emit TaskExpired(taskId);
    }

    /// @dev The last block in which a live task can still progress: commit while Open, execute
    /// while Committed.
    function _lastLiveBlock(Task storage task, AgentConfig storage agent) private view returns (uint256) {
        uint256 start = task.state == TaskState.Open ? task.openedAt : task.deadline;
        return start + agent.responseWindow;
    }

    /// @dev The quorum's weights; reverts unless its signature is valid and its weight reaches the
    /// agent's threshold.
    function _checkQuorum(
        uint64 taskId,
        Task storage task,
        AgentConfig storage agent,
        bytes32 outputHash,
        BLS.G1Point[] calldata nonSigners,
        BLS.G2Point calldata signature
    ) private view returns (uint256 signedWeight, uint256 totalWeight) {
        // Reverts, with the registry's error, on any malformed non-signer list or invalid signature.
        (signedWeight, totalWeight) = _registry.checkQuorum(
            task.referenceBlock,
            _outputDigest(taskId, task, agent.agentHash, outputHash),
            nonSigners,
            signature
        );
        uint16 thresholdBps = agent.thresholdBps;
        // A zero-weight quorum must not pass as "0 >= 0" when the whole set has no weight.
        if (signedWeight == 0 || signedWeight * MAX_BPS < totalWeight * thresholdBps) {
            revert QuorumNotReached(signedWeight, totalWeight, thresholdBps);
        }
    }

    function _outputDigest(uint64 taskId, Task storage task, bytes32 agentHash, bytes32 outputHash)
        private
        view
        returns (bytes32)
    {
        return WardenDigests.outputDigest(
            block.chainid,
            address(this),
            taskId,
            task.agentId,
            agentHash,
            task.inputHash,
            outputHash,
            task.referenceBlock
        );
    }
}
