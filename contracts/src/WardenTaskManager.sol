// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenChallenges} from "./WardenChallenges.sol";
import {WardenRestitution} from "./WardenRestitution.sol";
import {IAgentInputSource} from "./interfaces/IAgentInputSource.sol";
import {IAgentVerifier} from "./interfaces/IAgentVerifier.sol";
import {IStrategy} from "./interfaces/IEigenLayer.sol";
import {IVerifierFactory} from "./interfaces/IVerifierFactory.sol";
import {
    AgentConfig,
    AgentStatus,
    Execution,
    ITaskManager,
    OpenCheck,
    Task,
    TaskHashes,
    TaskManagerParams,
    TaskState
} from "./interfaces/ITaskManager.sol";
import {ActionContext, IWardenVault} from "./interfaces/IWardenVault.sol";
import {IWardenRegistry} from "./interfaces/IWardenRegistry.sol";
import {TaskCommitments} from "./libraries/TaskCommitments.sol";
import {WardenDigests} from "./libraries/WardenDigests.sol";

/// @title WardenTaskManager
/// @notice Runs Warden's task lifecycle: agents are registered by their vault's owner, tasks are
/// opened on an input snapshot taken by the agent's input source, a stake-weighted BLS quorum of the
/// operator set at the task's reference block commits the output, and after the challenge window the
/// output is handed to the agent's vault, which applies its owner's policy. Challenges and slashing
/// live in the `WardenChallenges` contract this task manager creates, the only account that may mark
/// a committed task Fraudulent.
/// @dev Ownerless: nothing here can be reconfigured, so no key other than a vault owner's (over its
/// own vault) can influence what executes. An agent's verifier must come from the verifier factory
/// fixed at deployment, which vouches that the verifier computes what the agent hash commits to; the
/// verifier's address is part of the digest operators sign, so a signature binds the one verifier
/// that can ever judge it.
///
/// An agent has at most one live (Open or Committed) task. Its snapshot then always reflects the
/// effects of every earlier action, so the agent never decides on balances that a pending action is
/// about to change. A live task that runs out of time (no commitment within the response window, or
/// no successful execution within the execution window that follows the deadline) may be expired by
/// anyone, and `openTask` expires it on the way, so a failing action cannot stall its agent.
///
/// Slashing relies on timing: the registry counts as weight only stake that stays slashable for its
/// `weightHorizon` after a refresh, and refuses weights refreshed more than `maxWeightAge` blocks before a
/// reference block. So a task's output can be proved fraudulent, before or after it executed, through
/// its reference block + `fraudProofWindow` (the horizon less that age and the slashing period): every
/// signer is still slashable, for what it was counted, when slashing must be over. Every agent's task
/// life (commit, challenge, execute) fits in that window.
///
/// The value-at-risk ledger makes the stake bound hold across tasks and vaults: every executed outflow
/// stays in it while it is fraud-provable, and an execution that would take their total past
/// `valueAtRiskBps` of the stake that signed it reverts. Whatever a corrupt quorum gets executed
/// before a challenger proves one fraud adds up to at most that share of its own slashable stake, and
/// slashing takes at least that share (`valueAtRiskBps` <= `slashWad`). The slashed stake goes to the
/// restitution contract, which repays each vault its proven loss.
contract WardenTaskManager is ITaskManager, ReentrancyGuardTransient {
    using SafeCast for uint256;

    /// @notice Denominator of `thresholdBps`.
    uint16 public constant MAX_BPS = 10_000;
    /// @notice Thresholds must be strictly above this: two disjoint quorums would otherwise be possible.
    uint16 public constant MIN_THRESHOLD_BPS_EXCLUSIVE = 5_000;

    /// @dev An agent's configuration and bookkeeping, laid out for the hot paths: of the agent,
    /// `commitOutput` reads the agent hash and the second slot, `execute` the second and third,
    /// `expire` the second, `openTask` the second and third (and the tokens), `veto` the third.
    /// `getAgent` reassembles the `AgentConfig`.
    struct AgentRecord {
        bytes32 agentHash;
        address inputSource;
        uint32 responseWindow;
        uint32 challengeWindow;
        uint16 thresholdBps;
        address vault;
        /// @dev The agent's most recent task (0 if none): at most this one can be live, and its
        /// `openedAt` is the agent's last opening block.
        uint64 latestTaskId;
        uint32 tickInterval;
        address verifier;
        /// @dev Prepaid service fees (wei): each commitment pays its committer `commitFee` from it.
        uint96 serviceBalance;
        address tokenBase;
        uint96 taskFee;
        address tokenQuote;
    }

    /// @dev An executed action in the value-at-risk ledger, fraud-provable through `provableUntil`: its
    /// outflow's value and the vault's loss (see `Execution`). Kept after it leaves the ledger, for
    /// the restitution of a fraud proved before then.
    struct Exposure {
        uint32 provableUntil;
        uint96 value;
        uint96 loss;
    }

    /// @dev The value-at-risk ledger: exposures `[head, tail)` in execution order, and their total.
    /// Released from the head only: an entry whose window ended behind a younger one still open is
    /// counted until the younger one leaves, a delay of at most the spread of execution windows.
    struct Ledger {
        uint64 head;
        uint64 tail;
        uint96 atRisk;
    }

    /// @dev A task as stored: two slots, which `commitOutput` rewrites without filling a fresh one.
    /// `getTask` reassembles the `Task`: the reference block is always `openedAt - 1`, and the total
    /// weight is the registry's at that block. Slot 0 holds agentId (bits 0-31), state (32-39),
    /// openedAt (40-71), deadline (72-103), signedWeight (104-199) and exposure (200-255). Slot 1,
    /// `inputOrCommitment`, holds the input hash while the task was never committed (its deadline is
    /// 0), and from the commitment on `TaskCommitments.hash(inputHash, outputHash, traceHash,
    /// nonSignerHash)`, written over the input hash: the signed digest needs the input hash at commit,
    /// which warms the slot, and every later use of the four hashes is handed them and checks them
    /// against it.
    struct TaskRecord {
        uint32 agentId;
        TaskState state;
        uint32 openedAt;
        uint32 deadline;
        uint96 signedWeight;
        uint56 exposure;
        bytes32 inputOrCommitment;
    }

    /// @dev `commitOutput`'s inputs and results, kept in memory: they outnumber the free stack slots.
    struct Commitment {
        uint64 agentId;
        uint32 referenceBlock;
        uint32 challengeWindow;
        uint16 thresholdBps;
        bytes32 inputHash;
        bytes32 outputHash;
        bytes32 traceHash;
        bytes32 nonSignerHash;
        uint256 signedWeight;
        uint256 totalWeight;
        uint32 deadline;
    }

    /// @dev Ledger entries `execute` releases on its way, at most: enough to keep up with one
    /// execution per call, bounded so an execution's gas stays predictable.
    uint256 private constant RELEASES_PER_EXECUTION = 4;

    IWardenRegistry private immutable _registry;
    address private immutable _challenges;
    address private immutable _restitution;
    IVerifierFactory private immutable _verifierFactory;

    /// @inheritdoc ITaskManager
    uint32 public immutable secondsPerBlock;
    /// @inheritdoc ITaskManager
    uint256 public immutable commitFee;

    /// @inheritdoc ITaskManager
    uint32 public immutable slashingPeriod;
    /// @inheritdoc ITaskManager
    uint32 public immutable fraudProofWindow;
    /// @inheritdoc ITaskManager
    uint16 public immutable valueAtRiskBps;

    /// @inheritdoc ITaskManager
    uint64 public agentCount;
    /// @inheritdoc ITaskManager
    uint64 public taskCount;

    /// @inheritdoc ITaskManager
    mapping(address vault => uint64 agentId) public agentOf;

    mapping(uint64 agentId => AgentRecord) private _agents;
    mapping(uint64 taskId => TaskRecord) private _tasks;

    /// @inheritdoc ITaskManager
    mapping(address committer => uint256 amount) public serviceFeesOwed;

    Ledger private _ledger;
    mapping(uint256 index => Exposure) private _exposures;

    /// @dev Creates this task manager's `WardenChallenges` (see `challenges()`), which the registry's
    /// owner must then name the registry's slasher, and its `WardenRestitution` (see `restitution()`),
    /// which the registry must name its operator set's redistribution recipient.
    /// @param registry_ The registry (`IWardenRegistry`) whose operator set signs every task. Its weight
    /// horizon and maximum weight age are immutable, so the fraud-proof window derived from them is too.
    /// @param verifierFactory_ The only source of agent verifiers this task manager accepts
    /// (`IVerifierFactory`).
    /// @param params Fees, bonds, slashing and the value-at-risk bound (see `TaskManagerParams`).
    constructor(address registry_, address verifierFactory_, TaskManagerParams memory params) {
        // Without a slashing budget the fraud-proof window would not leave time to slash.
        if (params.slashingPeriod == 0 || params.secondsPerBlock == 0) revert InvalidWindow();
        uint256 horizon = IWardenRegistry(registry_).weightHorizon();
        uint256 maxAge = IWardenRegistry(registry_).maxWeightAge();
        if (horizon <= maxAge + params.slashingPeriod) {
            revert NoFraudProofWindow(horizon, maxAge, params.slashingPeriod);
        }
        _registry = IWardenRegistry(registry_);
        _verifierFactory = IVerifierFactory(verifierFactory_);
        secondsPerBlock = params.secondsPerBlock;
        commitFee = params.commitFee;
        slashingPeriod = params.slashingPeriod;
        valueAtRiskBps = params.valueAtRiskBps;
        fraudProofWindow = (horizon - maxAge - params.slashingPeriod).toUint32();
        // Created here so that the contracts name each other through immutables: none can ever be
        // re-pointed, and one transaction deploys them all.
        address challenges_ = address(
            new WardenChallenges(
                registry_, params.challengeBond, params.challengeBounty, params.slashWad, params.slashFee
            )
        );
        _challenges = challenges_;
        // After the challenges contract has refused a slash share outside (0, WAD], so that its error
        // names that problem. 1 bps of WAD is 1e14: the bound may not exceed what a slash takes.
        if (
            params.valueAtRiskBps == 0 || params.valueAtRiskBps >= MAX_BPS
                || uint256(params.valueAtRiskBps) * 1e14 > params.slashWad
        ) revert InvalidValueAtRiskBound(params.valueAtRiskBps, params.slashWad);
        _restitution = address(new WardenRestitution(registry_, challenges_, params.surplusChallengerBps));
    }

    // ------------------------------------------------------------------------------------------
    // Agents
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
        _requireSlashableInTime(config);
        _requireTrustedVerifier(config);
        _requireStakeInBaseToken(config.tokenBase);

        agentId = ++agentCount;
        // Tasks store their agent's id in 32 bits.
        if (agentId > type(uint32).max) revert TooManyAgents();
        _agents[agentId] = AgentRecord({
            agentHash: config.agentHash,
            inputSource: config.inputSource,
            responseWindow: config.responseWindow,
            challengeWindow: config.challengeWindow,
            thresholdBps: config.thresholdBps,
            vault: vault,
            latestTaskId: 0,
            tickInterval: config.tickInterval,
            verifier: config.verifier,
            serviceBalance: 0,
            tokenBase: config.tokenBase,
            taskFee: config.taskFee,
            tokenQuote: config.tokenQuote
        });
        agentOf[vault] = agentId;
        emit AgentRegistered(agentId, vault, config.agentHash, config.verifier, config);
        // Last: the source is the owner's choice. It reverts if it cannot serve the agent's tokens.
        IAgentInputSource(config.inputSource).registerAgent(agentId, config.tokenBase, config.tokenQuote);
    }

    // ------------------------------------------------------------------------------------------
    // Task lifecycle
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function openTask(uint64 agentId) external nonReentrant returns (uint64 taskId) {
        AgentRecord storage agent = _agentOrRevert(agentId);
        uint64 latestTaskId = agent.latestTaskId;
        if (latestTaskId != 0) {
            TaskRecord storage latest = _tasks[latestTaskId];
            uint256 nextBlock = uint256(latest.openedAt) + agent.tickInterval;
            if (block.number < nextBlock) revert TickTooSoon(agentId, nextBlock);
            _retireLatest(agentId, latestTaskId, latest, agent.responseWindow);
        }

        bytes memory input = IAgentInputSource(agent.inputSource)
            .snapshot(agentId, agent.vault, agent.tokenBase, agent.tokenQuote);
        bytes32 inputHash = keccak256(input);
        uint32 currentBlock = block.number.toUint32();

        taskId = ++taskCount;
        agent.latestTaskId = taskId;
        TaskRecord storage task = _tasks[taskId];
        // registerAgent keeps agent ids within 32 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        task.agentId = uint32(agentId);
        task.state = TaskState.Open;
        task.openedAt = currentBlock;
        task.inputOrCommitment = inputHash;
        emit TaskOpened(taskId, agentId, currentBlock - 1, inputHash, input);
    }

    /// @inheritdoc ITaskManager
    /// @dev No reentrancy guard: the one external call is the registry's `checkQuorum`, a view
    /// (STATICCALL), and the call writes only its own task, after every check. Re-entered from another
    /// call's external interaction, it could only commit another Open task, with a valid quorum,
    /// exactly as it could in a transaction of its own.
    function commitOutput(
        uint64 taskId,
        bytes calldata output,
        bytes32[] calldata trace,
        BLS.G1Point[] calldata nonSigners,
        BLS.G2Point calldata signature
    ) external {
        TaskRecord storage task = _tasks[taskId];
        Commitment memory commitment = _beginCommitment(taskId, task);
        commitment.outputHash = keccak256(output);
        if (trace.length > TaskCommitments.MAX_TRACE_LENGTH) {
            revert TraceTooLong(trace.length, TaskCommitments.MAX_TRACE_LENGTH);
        }
        commitment.traceHash = TaskCommitments.hashTrace(trace);
        (commitment.signedWeight, commitment.totalWeight) =
            _checkQuorum(taskId, commitment, nonSigners, signature);
        bytes32[] memory nonSignerIds = _operatorIds(nonSigners);
        // Zero when everyone signed.
        if (nonSignerIds.length != 0) commitment.nonSignerHash = _hashIds(nonSignerIds);
        commitment.deadline = (block.number + commitment.challengeWindow).toUint32();

        _recordCommitment(task, commitment);
        if (commitFee != 0) _payCommitFee(taskId, commitment.agentId);
        _emitCommitted(taskId, commitment, output, nonSignerIds);
    }

    /// @dev `OutputCommitted`, apart: its eight fields do not fit beside `commitOutput`'s locals.
    function _emitCommitted(
        uint64 taskId,
        Commitment memory commitment,
        bytes calldata output,
        bytes32[] memory nonSignerIds
    ) private {
        emit OutputCommitted(
            taskId,
            commitment.outputHash,
            commitment.traceHash,
            commitment.signedWeight,
            commitment.totalWeight,
            commitment.deadline,
            output,
            nonSignerIds
        );
    }

    /// @inheritdoc ITaskManager
    /// @dev A reverting action reverts the whole call and the task stays Committed: a transient
    /// failure (vault paused, daily cap used up, too little gas) may be retried within the execution
    /// window, after which the task can only expire. A failed action is thus never recorded as
    /// executed, and never executes long after the snapshot it was decided on.
    function execute(
        uint64 taskId,
        bytes calldata input,
        bytes calldata output,
        bytes32 traceHash,
        bytes32 nonSignerHash
    ) external nonReentrant {
        TaskRecord storage task = _tasks[taskId];
        AgentRecord storage agent = _requireExecutable(taskId, task);
        bytes32 outputHash = keccak256(output);
        _requireCommitment(
            taskId,
            task,
            TaskHashes({
                inputHash: keccak256(input),
                outputHash: outputHash,
                traceHash: traceHash,
                nonSignerHash: nonSignerHash
            })
        );
        ActionContext memory context = _actionContext(agent.inputSource, task, input);

        // Executed before the vault runs the action: even a reentrant path could not run it twice.
        task.state = TaskState.Executed;
        emit TaskExecuted(taskId, outputHash);
        (uint256 value, uint256 loss) = IWardenVault(agent.vault).executeAction(taskId, output, context);
        // What the action moved is only known once it ran; the ledger's bound reverts it all if the
        // outflow does not fit. Nothing after the call can be re-entered: every entry point that
        // writes the ledger is `nonReentrant`.
        if (value != 0) _recordExposure(taskId, task, value, loss);
    }

    /// @dev Reverts unless the task is Committed, its challenge window is over and its execution
    /// window is not; returns its agent.
    function _requireExecutable(uint64 taskId, TaskRecord storage task)
        private
        view
        returns (AgentRecord storage agent)
    {
        if (task.state != TaskState.Committed) revert UnexpectedTaskState(taskId, task.state);
        uint32 deadline = task.deadline;
        if (block.number <= deadline) revert ChallengeWindowNotOver(taskId, deadline);
        agent = _agents[task.agentId];
        uint256 lastBlock = uint256(deadline) + agent.responseWindow;
        if (block.number > lastBlock) revert ExecutionWindowOver(taskId, lastBlock);
    }

    /// @dev What the vault checks an action against: the stake that signed it; the snapshot's TWAP,
    /// which values its outflow for the stake bound (the input matched the committed hash, so it is
    /// the snapshot the agent's source took, and no trade in the opening block moved it); and the
    /// market now, spot and TWAP, for the vault's check that nobody holds the price off.
    function _actionContext(address inputSource, TaskRecord storage task, bytes calldata input)
        private
        view
        returns (ActionContext memory context)
    {
        IAgentInputSource source = IAgentInputSource(inputSource);
        (context.tokenBase, context.tokenQuote, context.price) = source.valuation(input);
        (context.spotNow, context.twapNow) = source.currentPrices(task.agentId);
        context.signedStake = task.signedWeight;
    }

    /// @inheritdoc ITaskManager
    function expire(uint64 taskId) external nonReentrant {
        TaskRecord storage task = _tasks[taskId];
        TaskState state = task.state;
        if (state != TaskState.Open && state != TaskState.Committed) {
            revert UnexpectedTaskState(taskId, state);
        }
        uint256 lastBlock = _lastLiveBlock(task, _agents[task.agentId].responseWindow);
        if (block.number <= lastBlock) revert TaskNotExpirable(taskId, lastBlock);
        task.state = TaskState.Expired;
        emit TaskExpired(taskId);
    }

    /// @inheritdoc ITaskManager
    function veto(uint64 taskId) external nonReentrant {
        TaskRecord storage task = _tasks[taskId];
        // An unknown task has agent 0, whose vault is the zero address: no caller matches.
        address vault = _agents[task.agentId].vault;
        if (msg.sender != vault) revert NotAgentVault(msg.sender, vault);
        if (task.state != TaskState.Committed) revert UnexpectedTaskState(taskId, task.state);
        uint32 deadline = task.deadline;
        if (block.number > deadline) revert ChallengeWindowOver(taskId, deadline);
        task.state = TaskState.Vetoed;
        emit TaskVetoed(taskId);
    }

    /// @inheritdoc ITaskManager
    /// @dev No reentrancy guard: only the challenges contract gets past the first line, and this makes
    /// no external call. A Vetoed task can be marked too: a veto stops the action, not the fraud proof
    /// against the operators who signed it. An Executed task keeps its ledger entry: what it moved
    /// stays counted against the quorum's stake until its window ends.
    function markFraudulent(uint64 taskId) external {
        if (msg.sender != _challenges) revert NotChallenges(msg.sender);
        TaskRecord storage task = _tasks[taskId];
        _requireChallengeable(taskId, task);
        task.state = TaskState.Fraudulent;
        emit TaskFraudulent(taskId);
    }

    /// @inheritdoc ITaskManager
    function releaseExposure(uint256 maxEntries) external nonReentrant returns (uint256 released) {
        Ledger memory ledger = _ledger;
        uint64 headBefore = ledger.head;
        _release(ledger, maxEntries);
        released = ledger.head - headBefore;
        if (released != 0) _ledger = ledger;
    }

    // ------------------------------------------------------------------------------------------
    // Service fees
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function fundService(uint64 agentId) external payable nonReentrant {
        AgentRecord storage agent = _agentOrRevert(agentId);
        agent.serviceBalance = (uint256(agent.serviceBalance) + msg.value).toUint96();
        emit ServiceFunded(agentId, msg.sender, msg.value);
    }

    /// @inheritdoc ITaskManager
    function reclaimService(uint64 agentId, uint256 amount, address payable to) external nonReentrant {
        AgentRecord storage agent = _agentOrRevert(agentId);
        address vaultOwner = IWardenVault(agent.vault).owner();
        if (msg.sender != vaultOwner) revert NotVaultOwner(msg.sender, vaultOwner);
        uint256 balance = agent.serviceBalance;
        if (amount > balance) revert InsufficientServiceBalance(agentId, balance, amount);
        // At most the stored uint96 balance.
        // forge-lint: disable-next-line(unsafe-typecast)
        agent.serviceBalance = uint96(balance - amount);
        emit ServiceReclaimed(agentId, to, amount);
        _pay(to, amount);
    }

    /// @inheritdoc ITaskManager
    function withdrawServiceFees() external nonReentrant {
        uint256 amount = serviceFeesOwed[msg.sender];
        serviceFeesOwed[msg.sender] = 0;
        emit ServiceFeesWithdrawn(msg.sender, amount);
        _pay(payable(msg.sender), amount);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function verifierFactory() external view returns (address) {
        return address(_verifierFactory);
    }

    /// @inheritdoc ITaskManager
    function serviceBalance(uint64 agentId) external view returns (uint256) {
        return _agents[agentId].serviceBalance;
    }

    /// @inheritdoc ITaskManager
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ITaskManager
    function challenges() external view returns (address) {
        return _challenges;
    }

    /// @inheritdoc ITaskManager
    function restitution() external view returns (address) {
        return _restitution;
    }

    /// @inheritdoc ITaskManager
    function restitutionClaim(uint64 taskId)
        external
        view
        returns (address vault, address token, uint256 loss, bool lossFinal)
    {
        TaskRecord storage task = _tasks[taskId];
        AgentRecord storage agent = _agents[task.agentId];
        vault = agent.vault;
        token = agent.tokenBase;
        TaskState state = task.state;
        if (state == TaskState.Fraudulent) loss = _executionOf(task).loss;
        // An equivocation can be slashed while its task is still open: until the task is proved
        // fraudulent or can no longer be, its vault may yet be owed a loss.
        lossFinal = state == TaskState.Fraudulent || state == TaskState.Expired || state == TaskState.None
            || block.number > uint256(_referenceBlock(task)) + fraudProofWindow;
    }

    /// @inheritdoc ITaskManager
    function provableUntil(uint64 taskId) external view returns (uint256) {
        TaskRecord storage task = _tasks[taskId];
        if (task.state == TaskState.None) return 0;
        return uint256(_referenceBlock(task)) + fraudProofWindow;
    }

    /// @inheritdoc ITaskManager
    function valueAtRisk() external view returns (uint256 atRisk) {
        Ledger memory ledger = _ledger;
        atRisk = ledger.atRisk;
        for (uint256 i = ledger.head; i < ledger.tail; ++i) {
            Exposure memory exposure = _exposures[i];
            if (exposure.provableUntil >= block.number) break;
            atRisk -= exposure.value;
        }
    }

    /// @inheritdoc ITaskManager
    function execution(uint64 taskId) external view returns (Execution memory) {
        return _executionOf(_tasks[taskId]);
    }

    /// @inheritdoc ITaskManager
    function challengeTarget(uint64 taskId, TaskHashes calldata hashes)
        external
        view
        returns (address verifier, uint32 referenceBlock)
    {
        TaskRecord storage task = _tasks[taskId];
        uint64 agentId;
        (agentId, referenceBlock) = _requireChallengeable(taskId, task);
        _requireCommitment(taskId, task, hashes);
        verifier = _agents[agentId].verifier;
    }

    /// @inheritdoc ITaskManager
    /// @dev Whether the task was committed is read from its deadline, never from the hashes shown: a
    /// commitment hash cannot pass for an input hash, nor the other way round.
    function slashingContext(uint64 taskId, TaskHashes calldata hashes)
        external
        view
        returns (TaskState state, uint32 referenceBlock)
    {
        TaskRecord storage task = _tasks[taskId];
        state = task.state;
        if (state == TaskState.None) revert UnknownTask(taskId);
        bytes32 stored = task.inputOrCommitment;
        bytes32 given = task.deadline == 0 && hashes.outputHash == 0 && hashes.traceHash == 0
            && hashes.nonSignerHash == 0
            ? hashes.inputHash
            : _commitmentHash(hashes);
        if (given != stored) revert CommitmentMismatch(taskId, stored, given);
        referenceBlock = _referenceBlock(task);
    }

    /// @inheritdoc ITaskManager
    /// @dev The total weight is not stored with the task: it is the registry's at the reference block,
    /// the figure `checkQuorum` returned when the task committed. The task's second slot is the input
    /// hash until the commitment (deadline 0) and the commitment hash after it: returned under the
    /// name that fits.
    function getTask(uint64 taskId) external view returns (Task memory view_) {
        TaskRecord storage task = _tasks[taskId];
        view_ = Task({
            agentId: task.agentId,
            state: task.state,
            referenceBlock: _referenceBlock(task),
            openedAt: task.openedAt,
            deadline: task.deadline,
            exposure: task.exposure,
            inputHash: bytes32(0),
            commitmentHash: bytes32(0),
            signedWeight: task.signedWeight,
            totalWeight: 0
        });
        if (view_.deadline == 0) {
            view_.inputHash = task.inputOrCommitment;
        } else {
            view_.commitmentHash = task.inputOrCommitment;
            (, view_.totalWeight,) = _registry.quorumAt(view_.referenceBlock);
        }
    }

    /// @inheritdoc ITaskManager
    function getAgent(uint64 agentId) external view returns (AgentConfig memory) {
        AgentRecord storage agent = _agents[agentId];
        return AgentConfig({
            agentHash: agent.agentHash,
            verifier: agent.verifier,
            vault: agent.vault,
            inputSource: agent.inputSource,
            tokenBase: agent.tokenBase,
            tokenQuote: agent.tokenQuote,
            thresholdBps: agent.thresholdBps,
            responseWindow: agent.responseWindow,
            challengeWindow: agent.challengeWindow,
            tickInterval: agent.tickInterval,
            taskFee: agent.taskFee
        });
    }

    /// @inheritdoc ITaskManager
    function agentStatus(uint64 agentId) external view returns (AgentStatus memory) {
        uint64 latestTaskId = _agents[agentId].latestTaskId;
        return AgentStatus({lastOpenedAt: _tasks[latestTaskId].openedAt, latestTaskId: latestTaskId});
    }

    /// @inheritdoc ITaskManager
    function outputDigest(uint64 taskId, bytes32 inputHash, bytes32 outputHash, bytes32 traceHash)
        external
        view
        returns (bytes32)
    {
        TaskRecord storage task = _tasks[taskId];
        if (task.state == TaskState.None) revert UnknownTask(taskId);
        return _outputDigest(taskId, task.agentId, _referenceBlock(task), inputHash, outputHash, traceHash);
    }

    /// @inheritdoc ITaskManager
    function lastLiveBlock(uint64 taskId) external view returns (uint256) {
        TaskRecord storage task = _tasks[taskId];
        TaskState state = task.state;
        if (state != TaskState.Open && state != TaskState.Committed) return 0;
        return _lastLiveBlock(task, _agents[task.agentId].responseWindow);
    }

    /// @inheritdoc ITaskManager
    function canOpenTask(uint64 agentId) external view returns (OpenCheck check, uint256 fromBlock) {
        if (agentId == 0 || agentId > agentCount) return (OpenCheck.UnknownAgent, 0);
        AgentRecord storage agent = _agents[agentId];
        fromBlock = block.number;
        uint64 latestTaskId = agent.latestTaskId;
        if (latestTaskId != 0) {
            TaskRecord storage latest = _tasks[latestTaskId];
            uint256 nextBlock = uint256(latest.openedAt) + agent.tickInterval;
            if (nextBlock > fromBlock) (check, fromBlock) = (OpenCheck.TickTooSoon, nextBlock);
            TaskState state = latest.state;
            if (state == TaskState.Open || state == TaskState.Committed) {
                uint256 free = _lastLiveBlock(latest, agent.responseWindow) + 1;
                if (free > block.number) {
                    if (check == OpenCheck.Ready) check = OpenCheck.AgentBusy;
                    if (free > fromBlock) fromBlock = free;
                }
            }
        }
        uint256 inputReady = IAgentInputSource(agent.inputSource).readyAt(agentId);
        if (inputReady > block.number) {
            if (check == OpenCheck.Ready) check = OpenCheck.InputNotReady;
            if (inputReady > fromBlock) fromBlock = inputReady;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    /// @dev Checks that the task is Open and within its response window, and reads what the commitment
    /// needs from the task's first slot and the agent's terms slot, one storage read each (field reads
    /// would repeat them). The offsets are `TaskRecord`'s layout and `AgentRecord`'s second slot:
    /// inputSource (bits 0-159), responseWindow (160-191), challengeWindow (192-223), thresholdBps
    /// (224-239).
    function _beginCommitment(uint64 taskId, TaskRecord storage task)
        private
        view
        returns (Commitment memory commitment)
    {
        uint256 head;
        assembly ("memory-safe") {
            head := sload(task.slot)
        }
        // Truncating casts are the unpacking: each takes exactly its field's bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        TaskState state = TaskState(uint8(head >> 32));
        if (state != TaskState.Open) revert UnexpectedTaskState(taskId, state);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 agentId = uint32(head);
        AgentRecord storage agent = _agents[agentId];
        uint256 terms;
        assembly ("memory-safe") {
            terms := sload(add(agent.slot, 1))
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 openedAt = uint32(head >> 40);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 lastBlock = openedAt + uint32(terms >> 160);
        if (block.number > lastBlock) revert ResponseWindowOver(taskId, lastBlock);
        commitment.agentId = agentId;
        // An Open task's second slot is its input hash, which the signed digest needs.
        commitment.inputHash = task.inputOrCommitment;
        // An Open task was opened in a block after genesis.
        // forge-lint: disable-next-line(unsafe-typecast)
        commitment.referenceBlock = uint32(openedAt - 1);
        // forge-lint: disable-next-line(unsafe-typecast)
        commitment.challengeWindow = uint32(terms >> 192);
        // forge-lint: disable-next-line(unsafe-typecast)
        commitment.thresholdBps = uint16(terms >> 224);
    }

    /// @dev Stores a commitment: the state, deadline and signed weight into the task's first slot
    /// (beside the fields `openTask` set), and the commitment hash over the input hash in the second.
    /// Both slots are warm and non-zero already, so neither write fills a fresh slot. One write per
    /// slot where field-by-field assignments would write the first slot three times. Offsets:
    /// `TaskRecord`'s layout.
    function _recordCommitment(TaskRecord storage task, Commitment memory commitment) private {
        uint256 signedWeight = commitment.signedWeight.toUint96();
        uint256 committed = uint256(TaskState.Committed);
        uint256 deadline = commitment.deadline;
        bytes32 commitmentHash = TaskCommitments.hash(
            commitment.inputHash, commitment.outputHash, commitment.traceHash, commitment.nonSignerHash
        );
        assembly ("memory-safe") {
            let slot := task.slot
            // Keeps agentId, openedAt and exposure; state, deadline and signedWeight are replaced.
            let word := and(sload(slot), not(or(shl(32, 0xff), shl(72, sub(shl(128, 1), 1)))))
            sstore(slot, or(word, or(shl(32, committed), or(shl(72, deadline), shl(104, signedWeight)))))
            sstore(add(slot, 1), commitmentHash)
        }
    }

    /// @dev Reverts unless the task's output was committed (Committed, Vetoed or Executed: a veto must
    /// not shield the signers of a wrong output, nor an execution) and its fraud-proof window is still
    /// open. Returns the task's agent and reference block. Unpacks the task's first slot
    /// (`TaskRecord`'s layout) from one storage read.
    function _requireChallengeable(uint64 taskId, TaskRecord storage task)
        private
        view
        returns (uint64 agentId, uint32 referenceBlock)
    {
        uint256 head;
        assembly ("memory-safe") {
            head := sload(task.slot)
        }
        // Truncating casts are the unpacking: each takes exactly its field's bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        TaskState state = TaskState(uint8(head >> 32));
        if (state != TaskState.Committed && state != TaskState.Vetoed && state != TaskState.Executed) {
            revert UnexpectedTaskState(taskId, state);
        }
        // The reference block is openedAt - 1; a committed task was opened after genesis.
        // forge-lint: disable-next-line(unsafe-typecast)
        referenceBlock = uint32(head >> 40) - 1;
        uint256 lastBlock = uint256(referenceBlock) + fraudProofWindow;
        if (block.number > lastBlock) revert FraudProofWindowOver(taskId, lastBlock);
        // forge-lint: disable-next-line(unsafe-typecast)
        agentId = uint32(head);
    }

    /// @dev Reverts unless the four hashes open the commitment hash of a task whose output was
    /// committed (the callers checked its state). The hash binds all four as fixed-size words, so no
    /// other output, trace or non-signer list matches it.
    function _requireCommitment(uint64 taskId, TaskRecord storage task, TaskHashes memory hashes)
        private
        view
    {
        bytes32 committed = task.inputOrCommitment;
        bytes32 given = _commitmentHash(hashes);
        if (given != committed) revert CommitmentMismatch(taskId, committed, given);
    }

    function _commitmentHash(TaskHashes memory hashes) private pure returns (bytes32) {
        return
            TaskCommitments.hash(hashes.inputHash, hashes.outputHash, hashes.traceHash, hashes.nonSignerHash);
    }

    /// @dev The operator ids of the non-signers, in their (ascending) order: each is hashed straight
    /// from calldata.
    function _operatorIds(BLS.G1Point[] calldata keys) private pure returns (bytes32[] memory ids) {
        ids = new bytes32[](keys.length);
        assembly ("memory-safe") {
            let scratch := mload(0x40)
            for { let i := 0 } lt(i, keys.length) { i := add(i, 1) } {
                calldatacopy(scratch, add(keys.offset, shl(7, i)), 0x80)
                mstore(add(ids, shl(5, add(i, 1))), keccak256(scratch, 0x80))
            }
        }
    }

    /// @dev `keccak256(abi.encodePacked(ids))`, without the copy.
    function _hashIds(bytes32[] memory ids) private pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            hash := keccak256(add(ids, 0x20), shl(5, mload(ids)))
        }
    }

    /// @dev The verifier must be the factory's deployment for the agent hash, and the agent's actions
    /// must stay executable through the latest block `execute` accepts: commit by `openedAt +
    /// response`, execute by that + challenge + response.
    function _requireTrustedVerifier(AgentConfig calldata config) private view {
        address trusted = _verifierFactory.verifierOf(config.agentHash);
        if (trusted == address(0) || trusted != config.verifier) {
            revert UntrustedVerifier(config.agentHash, config.verifier, trusted);
        }
        uint256 deadline = IAgentVerifier(trusted).actionDeadlineSeconds();
        uint256 needed = (2 * uint256(config.responseWindow) + config.challengeWindow) * secondsPerBlock;
        if (deadline < needed) revert ActionDeadlineTooShort(deadline, needed);
    }

    /// @dev A task opens at r + 1 (r its reference block), commits within the response window, waits
    /// out the challenge window and executes within the response window again: all of it must fit in
    /// the fraud-proof window, or an action could execute when its signers could no longer be slashed.
    function _requireSlashableInTime(AgentConfig calldata config) private view {
        uint256 life = 2 * uint256(config.responseWindow) + config.challengeWindow + 1;
        if (life > fraudProofWindow) revert WindowsTooLong(life, fraudProofWindow);
    }

    /// @dev Adds an executed outflow to the value-at-risk ledger, releasing a few expired entries
    /// first, and records the execution. Reverts if the ledger's total would pass the bound on the
    /// stake that signed this action.
    function _recordExposure(uint64 taskId, TaskRecord storage task, uint256 value, uint256 loss) private {
        Ledger memory ledger = _ledger;
        _release(ledger, RELEASES_PER_EXECUTION);
        uint256 capacity = uint256(task.signedWeight) * valueAtRiskBps / MAX_BPS;
        uint256 atRisk = uint256(ledger.atRisk) + value;
        if (atRisk > capacity) revert ValueAtRiskExceeded(ledger.atRisk, value, capacity);
        uint256 lastBlock = uint256(_referenceBlock(task)) + fraudProofWindow;
        _exposures[ledger.tail] =
            Exposure({provableUntil: lastBlock.toUint32(), value: value.toUint96(), loss: loss.toUint96()});
        ++ledger.tail;
        task.exposure = uint256(ledger.tail).toUint56();
        ledger.atRisk = atRisk.toUint96();
        _ledger = ledger;
        emit ExposureRecorded(taskId, value, loss, atRisk, lastBlock);
    }

    /// @dev What the task's executed action did (zero if it did not execute or moved nothing).
    function _executionOf(TaskRecord storage task) private view returns (Execution memory done) {
        uint256 position = task.exposure;
        if (position == 0) return done;
        Exposure memory exposure = _exposures[position - 1];
        return Execution({value: exposure.value, loss: exposure.loss});
    }

    /// @dev Releases from the head of `ledger` (in memory; the caller writes it back) up to
    /// `maxEntries` entries whose fraud-proof window has ended, stopping at the first still open.
    function _release(Ledger memory ledger, uint256 maxEntries) private {
        uint64 from = ledger.head;
        uint64 head = from;
        uint64 tail = ledger.tail;
        uint256 atRisk = ledger.atRisk;
        for (uint256 released; released < maxEntries && head < tail; ++released) {
            Exposure memory exposure = _exposures[head];
            if (exposure.provableUntil >= block.number) break;
            atRisk -= exposure.value;
            ++head;
        }
        if (head == from) return;
        emit ExposureReleased(from, head, atRisk);
        ledger.head = head;
        // At most the stored uint96 total.
        // forge-lint: disable-next-line(unsafe-typecast)
        ledger.atRisk = uint96(atRisk);
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

    /// @dev Pays the committer `commitFee` from the agent's prepaid balance, or what is left of it.
    /// Credited, not sent: the committer withdraws (`withdrawServiceFees`), so a commitment never calls
    /// out.
    function _payCommitFee(uint64 taskId, uint64 agentId) private {
        AgentRecord storage agent = _agents[agentId];
        uint256 balance = agent.serviceBalance;
        uint256 fee = commitFee < balance ? commitFee : balance;
        if (fee == 0) return;
        // At most the stored uint96 balance.
        // forge-lint: disable-next-line(unsafe-typecast)
        agent.serviceBalance = uint96(balance - fee);
        serviceFeesOwed[msg.sender] += fee;
        emit ServiceFeePaid(taskId, msg.sender, fee);
    }

    function _pay(address payable to, uint256 amount) private {
        (bool paid,) = to.call{value: amount}("");
        if (!paid) revert PaymentFailed(to, amount);
    }

    function _agentOrRevert(uint64 agentId) private view returns (AgentRecord storage agent) {
        if (agentId == 0 || agentId > agentCount) revert UnknownAgent(agentId);
        return _agents[agentId];
    }

    /// @dev Lets the agent's latest task make way for a new one: a finished task does, a live task
    /// that ran out of time is expired, a live task still in time blocks the agent.
    function _retireLatest(uint64 agentId, uint64 taskId, TaskRecord storage task, uint32 responseWindow)
        private
    {
        TaskState state = task.state;
        if (state != TaskState.Open && state != TaskState.Committed) return;
        if (block.number <= _lastLiveBlock(task, responseWindow)) revert AgentBusy(agentId, taskId);
        task.state = TaskState.Expired;
        emit TaskExpired(taskId);
    }

    /// @dev `block.number - 1` at `openTask`: the block whose operator set must sign (0 for no task).
    function _referenceBlock(TaskRecord storage task) private view returns (uint32) {
        uint32 openedAt = task.openedAt;
        return openedAt == 0 ? 0 : openedAt - 1;
    }

    /// @dev The last block in which a live task can still progress: commit while Open, execute
    /// while Committed.
    function _lastLiveBlock(TaskRecord storage task, uint32 responseWindow) private view returns (uint256) {
        uint256 start = task.state == TaskState.Open ? task.openedAt : task.deadline;
        return start + responseWindow;
    }

    /// @dev The quorum's weights; reverts unless its signature is valid and its weight reaches the
    /// agent's threshold.
    function _checkQuorum(
        uint64 taskId,
        Commitment memory commitment,
        BLS.G1Point[] calldata nonSigners,
        BLS.G2Point calldata signature
    ) private view returns (uint256 signedWeight, uint256 totalWeight) {
        bytes32 digest = _outputDigest(
            taskId,
            commitment.agentId,
            commitment.referenceBlock,
            commitment.inputHash,
            commitment.outputHash,
            commitment.traceHash
        );
        // Reverts, with the registry's error, on any malformed non-signer list or invalid signature.
        (signedWeight, totalWeight) =
            _registry.checkQuorum(commitment.referenceBlock, digest, nonSigners, signature);
        uint16 thresholdBps = commitment.thresholdBps;
        // A zero-weight quorum must not pass as "0 >= 0" when the whole set has no weight.
        if (signedWeight == 0 || signedWeight * MAX_BPS < totalWeight * thresholdBps) {
            revert QuorumNotReached(signedWeight, totalWeight, thresholdBps);
        }
    }

    /// @dev The digest the task's operators sign for `outputHash` and `traceHash` on the snapshot
    /// `inputHash`.
    function _outputDigest(
        uint64 taskId,
        uint64 agentId,
        uint32 referenceBlock,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 traceHash
    ) private view returns (bytes32) {
        AgentRecord storage agent = _agents[agentId];
        return WardenDigests.outputDigest(
            block.chainid,
            address(this),
            taskId,
            agentId,
            agent.agentHash,
            agent.verifier,
            inputHash,
            outputHash,
            traceHash,
            referenceBlock
        );
    }
}
