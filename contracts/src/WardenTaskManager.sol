// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "./WardenRegistry.sol";
import {AgentInput} from "./agent/AgentTypes.sol";
import {IAgentVerifier} from "./interfaces/IAgentVerifier.sol";
import {IStrategy} from "./interfaces/IEigenLayer.sol";
import {AgentConfig, AgentStatus, ITaskManager, Task, TaskState} from "./interfaces/ITaskManager.sol";
import {IUniswapV2Pair} from "./interfaces/IUniswapV2.sol";
import {ActionContext, IWardenVault} from "./interfaces/IWardenVault.sol";
import {BLS12381} from "./libraries/BLS12381.sol";
import {WardenDigests} from "./libraries/WardenDigests.sol";

/// @title WardenTaskManager
/// @notice Runs Warden's task lifecycle: agents are registered by their vault's owner, tasks are
/// opened on an on-chain input snapshot, a stake-weighted BLS quorum of the operator set at the
/// task's reference block commits the output, and after the challenge window the output is handed
/// to the agent's vault, which applies its owner's policy. During the challenge window anyone may
/// challenge the output by recomputing it on chain; a wrong output is cancelled and every operator
/// that signed it is slashed through EigenLayer, in bounded batches. An operator that signs two
/// different outputs for one task is slashed on the evidence of its two signatures.
/// @dev Ownerless: nothing here can be reconfigured, so no key other than a vault owner's (over its
/// own vault) can influence what executes.
///
/// An agent has at most one live (Open or Committed) task. Its snapshot then always reflects the
/// effects of every earlier action, so the agent never decides on balances that a pending action is
/// about to change. A live task that runs out of time (no commitment within the response window, or
/// no successful execution within the execution window that follows the deadline) may be expired by
/// anyone, and `openTask` expires it on the way, so a failing action cannot stall its agent.
///
/// Slashing relies on timing: every window of an agent (response + challenge + slashing period) is
/// at most half EigenLayer's deallocation delay, so a signer that starts to deallocate at the
/// reference block is still slashable when slashing must be over.
contract WardenTaskManager is ITaskManager, ReentrancyGuardTransient {
    using SafeCast for uint256;

    /// @notice Number of prices in an agent's history and in every input snapshot.
    uint256 public constant HISTORY_LENGTH = 16;
    /// @notice Denominator of `thresholdBps`.
    uint16 public constant MAX_BPS = 10_000;
    /// @notice Thresholds must be strictly above this: two disjoint quorums would otherwise be possible.
    uint16 public constant MIN_THRESHOLD_BPS_EXCLUSIVE = 5_000;
    /// @notice 100 % in WAD, the unit of EigenLayer's `wadsToSlash`.
    uint256 public constant WAD = 1e18;
    /// @notice Gas below which `slashSigners` does not even try a slash (no slash costs less) and
    /// reverts with `InsufficientGasForSlash`. The guard that matters is the one on a failed slash.
    uint256 public constant MIN_GAS_PER_SLASH = 100_000;

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

    /// @dev A Fraudulent task's slashing cursor over `registry.operatorIds()`. `end` is the id count
    /// when the challenge was upheld: ids appended later registered after the reference block, so
    /// none of them signed.
    struct Slashing {
        uint32 next;
        uint32 end;
        uint32 slashed;
        bool done;
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
    uint256 public immutable challengeBond;
    /// @inheritdoc ITaskManager
    uint256 public immutable challengeBounty;
    /// @inheritdoc ITaskManager
    uint32 public immutable slashingPeriod;
    /// @inheritdoc ITaskManager
    uint256 public immutable slashWad;

    /// @inheritdoc ITaskManager
    uint256 public bountyPool;

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
    mapping(uint64 taskId => Slashing) private _slashings;

    /// @inheritdoc ITaskManager
    mapping(uint64 taskId => mapping(bytes32 operatorId => bool)) public equivocationSlashed;

    /// @param registry_ The WardenRegistry whose operator set signs every task; it must name this
    /// contract its slasher before signers can be slashed.
    /// @param challengeBond_ The bond a challenge carries (wei); lost if the challenge is wrong.
    /// @param challengeBounty_ The reward of an upheld challenge on top of its bond (wei), paid from
    /// the bounty pool as far as it goes.
    /// @param slashingPeriod_ Blocks budgeted after a challenge's deadline to finish slashing; > 0.
    /// @param slashWad_ Share of a signer's allocation to Warden's set that fraud or equivocation
    /// costs it, in WAD: in (0, 1e18].
    constructor(
        address registry_,
        uint256 challengeBond_,
        uint256 challengeBounty_,
        uint32 slashingPeriod_,
        uint256 slashWad_
    ) {
        if (slashWad_ == 0 || slashWad_ > WAD) revert InvalidSlashWad(slashWad_);
        // Without a slashing budget the deallocation check in registerAgent would not cover slashing.
        if (slashingPeriod_ == 0) revert InvalidWindow();
        _registry = WardenRegistry(registry_);
        challengeBond = challengeBond_;
        challengeBounty = challengeBounty_;
        slashingPeriod = slashingPeriod_;
        slashWad = slashWad_;
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
        _requireSlashableInTime(config);
        _requireStakeInBaseToken(config.tokenBase);

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
    function execute(uint64 taskId, bytes calldata input, bytes calldata output) external nonReentrant {
        Task storage task = _tasks[taskId];
        if (task.state != TaskState.Committed) revert UnexpectedTaskState(taskId, task.state);
        uint32 deadline = task.deadline;
        if (block.number <= deadline) revert ChallengeWindowNotOver(taskId, deadline);
        AgentConfig storage agent = _agents[task.agentId];
        uint256 lastBlock = uint256(deadline) + agent.responseWindow;
        if (block.number > lastBlock) revert ExecutionWindowOver(taskId, lastBlock);
        bytes32 outputHash = keccak256(output);
        _requireCommitted(taskId, task, input, outputHash);
        // The snapshot's reserves price the action for the vault's stake bound: the prices the
        // quorum decided on, which no trade since can move.
        AgentInput memory snapshot = abi.decode(input, (AgentInput));
        ActionContext memory context = ActionContext({
            signedStake: task.signedWeight,
            tokenBase: agent.tokenBase,
            tokenQuote: agent.tokenQuote,
            reserveBase: snapshot.reserveBase,
            reserveQuote: snapshot.reserveQuote
        });

        // Executed before the vault runs the action: even a reentrant path could not run it twice.
        task.state = TaskState.Executed;
        emit TaskExecuted(taskId, outputHash);
        IWardenVault(agent.vault).executeAction(taskId, output, context);
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
    // Challenges and slashing
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function fundBounties() external payable nonReentrant {
        bountyPool += msg.value;
        emit BountiesFunded(msg.sender, msg.value);
    }

    /// @inheritdoc ITaskManager
    /// @dev A verifier that reverts on the snapshot reverts the challenge: the bond is returned and
    /// the output stands, since only a different output proves fraud.
    function challenge(uint64 taskId, bytes calldata input, bytes calldata output)
        external
        payable
        nonReentrant
        returns (bool upheld)
    {
        if (msg.value != challengeBond) revert WrongBond(msg.value, challengeBond);
        Task storage task = _tasks[taskId];
        if (task.state != TaskState.Committed) revert UnexpectedTaskState(taskId, task.state);
        uint32 deadline = task.deadline;
        if (block.number > deadline) revert ChallengeWindowOver(taskId, deadline);
        _requireCommitted(taskId, task, input, keccak256(output));

        // A view call: the verifier cannot change any state on the way.
        bytes32 expectedHash = keccak256(IAgentVerifier(_agents[task.agentId].verifier).evaluate(input));
        if (expectedHash == task.outputHash) {
            bountyPool += msg.value;
            emit ChallengeRejected(taskId, msg.sender, msg.value);
            return false;
        }

        task.state = TaskState.Fraudulent;
        _slashings[taskId].end = _registry.operatorIdCount().toUint32();
        uint256 pool = bountyPool;
        uint256 bounty = challengeBounty < pool ? challengeBounty : pool;
        bountyPool = pool - bounty;
        uint256 payout = msg.value + bounty;
        emit ChallengeUpheld(taskId, msg.sender, expectedHash, payout);
        (bool paid,) = msg.sender.call{value: payout}("");
        if (!paid) revert PayoutFailed(msg.sender, payout);
        return true;
    }

    /// @inheritdoc ITaskManager
    /// @dev Each slash runs in a try/catch so that one operator EigenLayer refuses to slash cannot
    /// shield the others. A catch caused by too little gas would let a caller skip signers on the
    /// cheap (the 63/64 rule lets the caller go on after its callee ran out), so a failure that
    /// consumed most of the gas it was given, the mark of an out-of-gas callee, reverts everything
    /// with `InsufficientGasForSlash` instead of being reported.
    function slashSigners(uint64 taskId, BLS.G1Point[] calldata nonSigners, uint256 maxOperators)
        external
        nonReentrant
        returns (uint256 slashed, bool done)
    {
        Task storage task = _tasks[taskId];
        if (task.state != TaskState.Fraudulent) revert UnexpectedTaskState(taskId, task.state);
        if (keccak256(abi.encode(nonSigners)) != task.nonSignerHash) revert NonSignersMismatch(taskId);
        Slashing memory slashing = _slashings[taskId];
        if (slashing.done) revert SlashingAlreadyComplete(taskId);
        address slasher = _registry.slasher();
        // Otherwise every slash would fail and the cursor would run to the end for nothing.
        if (slasher != address(this)) revert NotRegistrySlasher(slasher);

        uint256 start = slashing.next;
        uint256 end = slashing.end;
        if (maxOperators != 0 && maxOperators < end - start) end = start + maxOperators;
        done = end == slashing.end;

        // The cursor moves before the calls: each signer is examined by exactly one batch.
        _slashings[taskId].next = end.toUint32();
        if (done) _slashings[taskId].done = true;

        slashed = _slashRange(taskId, task.referenceBlock, _operatorIds(nonSigners), start, end);

        // The count depends on the calls' outcomes, so it can only be written after them.
        uint256 total = uint256(slashing.slashed) + slashed;
        _slashings[taskId].slashed = total.toUint32();
        if (done) emit SlashingCompleted(taskId, total);
    }

    /// @inheritdoc ITaskManager
    function slashEquivocation(
        uint64 taskId,
        BLS.G1Point calldata publicKey,
        bytes32 outputHashA,
        BLS.G2Point calldata signatureA,
        bytes32 outputHashB,
        BLS.G2Point calldata signatureB
    ) external nonReentrant {
        Task storage task = _tasks[taskId];
        if (task.state == TaskState.None) revert UnknownTask(taskId);
        if (outputHashA == outputHashB) revert SameOutput();
        (bytes32 operatorId, BLS.G1Point memory key) = _requireMember(taskId, task, publicKey);
        {
            bytes32 agentHash = _agents[task.agentId].agentHash;
            _requireSignature(key, _outputDigest(taskId, task, agentHash, outputHashA), signatureA, 0);
            _requireSignature(key, _outputDigest(taskId, task, agentHash, outputHashB), signatureB, 1);
        }
        _slashEquivocator(taskId, operatorId, outputHashA, outputHashB);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function slashingProgress(uint64 taskId) external view returns (uint32 nextIndex, bool done) {
        Slashing memory slashing = _slashings[taskId];
        return (slashing.next, slashing.done);
    }

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

    /// @dev Reverts unless `input` and `outputHash` are the task's committed snapshot and output.
    function _requireCommitted(uint64 taskId, Task storage task, bytes calldata input, bytes32 outputHash)
        private
        view
    {
        bytes32 inputHash = keccak256(input);
        bytes32 committedInput = task.inputHash;
        if (inputHash != committedInput) revert InputMismatch(taskId, committedInput, inputHash);
        bytes32 committedOutput = task.outputHash;
        if (outputHash != committedOutput) revert OutputMismatch(taskId, committedOutput, outputHash);
    }

    /// @dev Slashes the signers among operator ids [start, end). Returns how many were slashed.
    function _slashRange(
        uint64 taskId,
        uint32 referenceBlock,
        bytes32[] memory nonSignerIds,
        uint256 start,
        uint256 end
    ) private returns (uint256 slashed) {
        string memory description = _description("fraud", taskId);
        for (uint256 i = start; i < end; ++i) {
            bytes32 operatorId = _registry.operatorIds(i);
            (bool registered,) = _registry.operatorAt(operatorId, referenceBlock);
            if (!registered || _contains(nonSignerIds, operatorId)) continue;
            address operator = _registry.operatorOf(operatorId);
            uint256 gasBefore = gasleft();
            if (gasBefore < MIN_GAS_PER_SLASH) revert InsufficientGasForSlash();
            try _registry.slashOperator(operator, slashWad, description) {
                ++slashed;
                emit SignerSlashed(taskId, operator, operatorId);
            } catch (bytes memory reason) {
                // Running out of gas at call depth d hands back about d/64 of the gas (each frame
                // keeps 1/64 of what it forwards), and EigenLayer's slash runs several frames deep
                // through proxies: a quarter leaves room for that, while EigenLayer's refusals fail
                // early, on a small part of it.
                if (gasleft() < gasBefore / 4) revert InsufficientGasForSlash();
                emit SignerSlashFailed(taskId, operator, reason);
            }
        }
    }

    /// @dev The operator ids of the non-signers, in their (ascending) order.
    function _operatorIds(BLS.G1Point[] calldata keys) private pure returns (bytes32[] memory ids) {
        ids = new bytes32[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            ids[i] = WardenDigests.publicKeyHash(keys[i]);
        }
    }

    /// @dev Binary search in ids sorted ascending, as `commitOutput` required the non-signers to be.
    function _contains(bytes32[] memory sortedIds, bytes32 id) private pure returns (bool) {
        uint256 low;
        uint256 high = sortedIds.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            bytes32 value = sortedIds[mid];
            if (value == id) return true;
            if (value < id) low = mid + 1;
            else high = mid;
        }
        return false;
    }

    /// @dev The operator id of `publicKey`, which must have been in the set at the task's reference
    /// block and not yet slashed for equivocating on the task; the key, copied to memory.
    function _requireMember(uint64 taskId, Task storage task, BLS.G1Point calldata publicKey)
        private
        view
        returns (bytes32 operatorId, BLS.G1Point memory key)
    {
        key = publicKey;
        operatorId = WardenDigests.publicKeyHash(key);
        uint32 referenceBlock = task.referenceBlock;
        (bool registered,) = _registry.operatorAt(operatorId, referenceBlock);
        // A key in the set at the reference block was validated (subgroup, not infinity) when it
        // registered, so it can be used as is.
        if (!registered) revert OperatorNotInSet(operatorId, referenceBlock);
        if (equivocationSlashed[taskId][operatorId]) revert EquivocationAlreadySlashed(taskId, operatorId);
    }

    /// @dev Records and slashes a proven equivocation.
    function _slashEquivocator(uint64 taskId, bytes32 operatorId, bytes32 outputHashA, bytes32 outputHashB)
        private
    {
        address operator = _registry.operatorOf(operatorId);
        equivocationSlashed[taskId][operatorId] = true;
        emit EquivocationSlashed(taskId, operator, operatorId, outputHashA, outputHashB);
        // No try/catch: evidence EigenLayer refuses to act on must not be spent.
        _registry.slashOperator(operator, slashWad, _description("equivocation", taskId));
    }

    /// @dev Reverts with `InvalidEquivocationSignature(index)` unless `signature` is a valid
    /// signature of `digest` under `publicKey`. The point at infinity is refused outright; a
    /// non-canonical encoding reverts with the library's error.
    function _requireSignature(
        BLS.G1Point memory publicKey,
        bytes32 digest,
        BLS.G2Point calldata signature,
        uint256 index
    ) private view {
        BLS.G2Point memory sig = signature;
        if (BLS12381.isInfinity(sig)) revert InvalidEquivocationSignature(index);
        BLS12381.requireCanonical(sig);
        if (!BLS12381.verify(publicKey, BLS12381.hashToG2(digest), sig)) {
            revert InvalidEquivocationSignature(index);
        }
    }

    /// @dev What EigenLayer records with a slash, e.g. "warden: fraud in task 7".
    function _description(string memory offence, uint64 taskId) private pure returns (string memory) {
        return string.concat("warden: ", offence, " in task ", Strings.toString(taskId));
    }

    /// @dev Every window an output passes through, plus the slashing budget, must fit twice into
    /// EigenLayer's deallocation delay: a signer that starts deallocating at the reference block must
    /// still be slashable when slashing ends.
    function _requireSlashableInTime(AgentConfig calldata config) private view {
        uint256 exposure = uint256(config.responseWindow) + config.challengeWindow + slashingPeriod;
        uint256 limit = _registry.allocationManager().DEALLOCATION_DELAY() / 2;
        if (exposure > limit) revert WindowsTooLong(exposure, limit);
    }

    /// @dev Quorum weight is slashable stake summed over the set's strategies; it is a quantity of
    /// the base token only if every strategy holds the base token (and counts shares 1:1, as
    /// Warden's strategies do). The vault prices actions in the base token against that weight.
    function _requireStakeInBaseToken(address tokenBase) private view {
        address[] memory strategies = _registry.strategies();
        for (uint256 i; i < strategies.length; ++i) {
            address underlying = IStrategy(strategies[i]).underlyingToken();
            if (underlying != tokenBase) revert StakeNotInBaseToken(strategies[i], underlying);
        }
    }

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
