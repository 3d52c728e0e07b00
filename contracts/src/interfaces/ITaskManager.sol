// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

/// @notice Where a task is in its lifecycle (see DESIGN.md, "Task lifecycle").
/// @dev `Fraudulent`: a challenge proved the committed output wrong, before or after it executed; it
/// never executes (again) and its signers are slashed. An output proved wrong after it executed leaves
/// its vault a proven loss, which the restitution contract repays from the slashed stake.
enum TaskState {
    None,
    Open,
    Committed,
    Executed,
    Expired,
    Vetoed,
    Fraudulent
}

/// @notice How an agent runs: set once, at registration, by its vault's owner.
struct AgentConfig {
    /// @dev Commitment to the agent's code, model and parameters.
    bytes32 agentHash;
    /// @dev The agent's on-chain twin (`IAgentVerifier`), which adjudicates challenges: must be the task
    /// manager's verifier factory's deployment for `agentHash`.
    address verifier;
    /// @dev The `IWardenVault` whose funds the agent manages; one agent per vault.
    address vault;
    /// @dev The `IAgentInputSource` that takes the agent's input snapshots (e.g. a
    /// `UniswapV2InputSource` bound to the pair the agent trades on) and values its actions.
    address inputSource;
    /// @dev The token actions are valued in; the operator set's stake must be held in it.
    address tokenBase;
    /// @dev The agent's other token: the unit prices are quoted in.
    address tokenQuote;
    /// @dev Quorum threshold: `signedWeight * 10_000 >= totalWeight * thresholdBps`, in (5_000, 10_000].
    uint16 thresholdBps;
    /// @dev Blocks after `openTask` during which `commitOutput` is accepted, and also blocks after the
    /// deadline during which `execute` is accepted: keepers get the same liveness budget as operators.
    uint32 responseWindow;
    /// @dev Blocks after `commitOutput` during which the output can be vetoed (or challenged).
    uint32 challengeWindow;
    /// @dev Minimum number of blocks between two `openTask` of the agent.
    uint32 tickInterval;
    /// @dev What each committed task pays the operators that signed it, in the base token, from the
    /// agent's prepaid fees in the rewards contract (`IWardenRewards`); 0 for none.
    uint96 taskFee;
}

/// @notice The task manager's economic and timing parameters, fixed at deployment.
struct TaskManagerParams {
    /// @dev The chain's block time, to check an agent's action deadline against its windows; > 0.
    uint32 secondsPerBlock;
    /// @dev Blocks budgeted after a fraud proof's last block to finish slashing; > 0.
    uint32 slashingPeriod;
    /// @dev The value-at-risk bound: every outflow still fraud-provable, valued at the snapshot's
    /// prices, may add up to at most this share of the stake that signed the latest of them, in basis
    /// points: in (0, 10_000), and at most `slashWad` (the share slashing takes).
    uint16 valueAtRiskBps;
    /// @dev Share of a slash's redistributed stake, beyond what repays the robbed vault, paid to the
    /// challenger that proved the fraud, in basis points; the rest is burned.
    uint16 surplusChallengerBps;
    /// @dev What each commitment pays its committer from the agent's prepaid service balance (wei).
    uint256 commitFee;
    /// @dev The bond a challenge carries (wei); lost if the challenge is wrong.
    uint256 challengeBond;
    /// @dev The reward of an upheld challenge on top of its bond (wei), from the bounty pool.
    uint256 challengeBounty;
    /// @dev Share of a signer's allocation that fraud or equivocation costs it, in WAD: in (0, 1e18].
    uint256 slashWad;
    /// @dev What `slashSigners` pays its caller per signer it takes shares from (wei).
    uint256 slashFee;
}

/// @notice What an executed action did to its vault, measured by the vault at the snapshot's prices.
struct Execution {
    /// @dev The action's gross outflow of the base and quote tokens, valued in the base token: what
    /// it put at risk, counted in the value-at-risk ledger while it is fraud-provable.
    uint96 value;
    /// @dev The fall of the vault's base and quote holdings over the action, valued in the base token
    /// (0 if they rose): what the vault lost, repaid if the output is proved fraudulent.
    uint96 loss;
}

/// @notice A task: one run of an agent on one input snapshot.
struct Task {
    uint64 agentId;
    TaskState state;
    /// @dev `block.number - 1` at `openTask`: the operator set whose quorum must sign.
    uint32 referenceBlock;
    /// @dev The block of `openTask`.
    uint32 openedAt;
    /// @dev Commit block + challenge window; 0 until committed.
    uint32 deadline;
    /// @dev Position + 1 of the executed action's entry in the value-at-risk ledger; 0 if the task did
    /// not execute or its action moved nothing.
    uint64 exposure;
    /// @dev `keccak256(input)` of the snapshot the agent's input source took, while the task was never
    /// committed (Open, or Expired without a commitment); 0 once committed, when `commitmentHash`
    /// binds it. `TaskOpened` always carries it.
    bytes32 inputHash;
    /// @dev `TaskCommitments.hash(inputHash, outputHash, traceHash, nonSignerHash)` (see `TaskHashes`):
    /// the one hash a committed task keeps of its input, output, trace and non-signers; 0 until
    /// committed.
    bytes32 commitmentHash;
    uint96 signedWeight;
    /// @dev The set's total weight at the reference block (the registry's `quorumAt`); 0 until
    /// committed.
    uint96 totalWeight;
}

/// @notice The four values a task's record binds, as a caller shows them to a function that acts on
/// the task; the task manager checks them against what it stored (`CommitmentMismatch` otherwise).
/// A committed task stores only `TaskCommitments.hash(inputHash, outputHash, traceHash,
/// nonSignerHash)`; a task never committed stores its input hash, shown as `(inputHash, 0, 0, 0)`.
struct TaskHashes {
    /// @dev `keccak256(input)` of the task's snapshot (`TaskOpened`).
    bytes32 inputHash;
    /// @dev `keccak256(output)` of the committed output (`OutputCommitted`); 0 if never committed.
    bytes32 outputHash;
    /// @dev `TaskCommitments.hashTrace(trace)` of the committed activation trace (`OutputCommitted`);
    /// 0 for an agent that keeps none, or if never committed.
    bytes32 traceHash;
    /// @dev `keccak256(abi.encodePacked(nonSignerIds))` of the commitment's non-signers' operator ids
    /// (keccak256 of each EIP-2537 public key), ascending, as `OutputCommitted` emits them; 0 when
    /// everyone signed, or if never committed.
    bytes32 nonSignerHash;
}

/// @notice Per-agent bookkeeping that keepers read to schedule their calls.
struct AgentStatus {
    /// @dev Block of the latest `openTask` (0 if none).
    uint32 lastOpenedAt;
    /// @dev The agent's most recent task (0 if none); at most this one can be live.
    uint64 latestTaskId;
}

/// @notice Whether `openTask` would succeed now, and if not, the first obstacle it would hit.
enum OpenCheck {
    /// @dev `openTask` can succeed in this block.
    Ready,
    /// @dev No agent has this id.
    UnknownAgent,
    /// @dev The agent's previous task was opened less than `tickInterval` blocks ago.
    TickTooSoon,
    /// @dev The agent's latest task can still progress (commit or execute).
    AgentBusy,
    /// @dev The input source cannot take a snapshot yet (e.g. too short a price history).
    InputNotReady
}

/// @title ITaskManager
/// @notice Warden's task lifecycle: opens agent tasks on an input snapshot taken by the agent's input
/// source, accepts a BLS quorum's commitment to an output, and hands the output to the agent's vault
/// once its challenge window has passed. Challenges, bounties and slashing live in the challenges
/// contract (`IWardenChallenges`), the one account that may mark a committed task Fraudulent.
/// @dev Agent and task ids start at 1, so 0 never names either.
interface ITaskManager {
    /// @notice An agent was registered for `vault`.
    event AgentRegistered(
        uint64 indexed agentId, address indexed vault, bytes32 agentHash, address verifier, AgentConfig config
    );
    /// @notice A task was opened; `input` is the input source's snapshot and hashes to `inputHash`.
    event TaskOpened(
        uint64 indexed taskId, uint64 indexed agentId, uint32 referenceBlock, bytes32 inputHash, bytes input
    );
    /// @notice A quorum's output was committed; it may execute after block `deadline`.
    /// `nonSignerIds` are the operator ids (keccak256 of the EIP-2537 public key) of the reference
    /// block's operators that did not sign, ascending: everyone else in the set then signed. Their
    /// packed hash is the `nonSignerHash` the task's commitment hash binds (see `TaskHashes`).
    /// `traceHash` is the hash of the activation trace the quorum signed; the trace itself is in the
    /// `commitOutput` call's calldata, not in the log, which would cost 8 gas a byte more.
    event OutputCommitted(
        uint64 indexed taskId,
        bytes32 outputHash,
        bytes32 traceHash,
        uint256 signedWeight,
        uint256 totalWeight,
        uint32 deadline,
        bytes output,
        bytes32[] nonSignerIds
    );
    /// @notice A committed output was handed to the vault.
    event TaskExecuted(uint64 indexed taskId, bytes32 outputHash);
    /// @notice A task ran out of time: no commitment within the response window, or no successful
    /// execution within the execution window.
    event TaskExpired(uint64 indexed taskId);
    /// @notice The vault owner vetoed a committed output before its deadline.
    event TaskVetoed(uint64 indexed taskId);
    /// @notice The challenges contract proved the committed output wrong; it never executes (again).
    event TaskFraudulent(uint64 indexed taskId);
    /// @notice An executed action's outflow (`value`, in the base token) entered the value-at-risk
    /// ledger, which now totals `valueAtRisk`; it stays there, fraud-provable, through block
    /// `provableUntil`. `loss` is what the vault is repaid if the output is proved fraudulent.
    event ExposureRecorded(
        uint64 indexed taskId, uint256 value, uint256 loss, uint256 valueAtRisk, uint256 provableUntil
    );
    /// @notice The ledger's entries at positions [`from`, `to`) left it: they can no longer be proved
    /// fraudulent. The ledger now totals `valueAtRisk`.
    event ExposureReleased(uint256 from, uint256 to, uint256 valueAtRisk);
    /// @notice `from` added `amount` wei to the agent's prepaid service balance.
    event ServiceFunded(uint64 indexed agentId, address indexed from, uint256 amount);
    /// @notice The vault's owner took `amount` wei of the agent's service balance back, to `to`.
    event ServiceReclaimed(uint64 indexed agentId, address indexed to, uint256 amount);
    /// @notice A commitment paid its committer `amount` wei from the agent's service balance.
    event ServiceFeePaid(uint64 indexed taskId, address indexed committer, uint256 amount);
    /// @notice A committer withdrew the service fees it earned.
    event ServiceFeesWithdrawn(address indexed committer, uint256 amount);

    /// @notice Agent ids are stored in 32 bits: no more agents can be registered.
    error TooManyAgents();
    /// @notice `registerAgent` was not called by the vault's owner.
    error NotVaultOwner(address caller, address owner);
    /// @notice The vault executes for another task manager.
    error VaultTaskManagerMismatch(address vault, address taskManager);
    /// @notice The vault already has an agent; an agent's tasks assume nothing else moves its funds.
    error VaultAlreadyHasAgent(address vault, uint64 agentId);
    /// @notice The verifier is not the verifier factory's deployment for the agent hash (`trusted`, zero
    /// if the factory never deployed one): its behaviour would not be bound to the hash operators sign.
    error UntrustedVerifier(bytes32 agentHash, address verifier, address trusted);
    /// @notice The verifier's actions lapse `deadlineSeconds` after the snapshot, before the latest
    /// execution the windows allow (`neededSeconds` at `secondsPerBlock`): every action would fail.
    error ActionDeadlineTooShort(uint256 deadlineSeconds, uint256 neededSeconds);
    /// @notice The agent's service balance holds less than the amount asked for.
    error InsufficientServiceBalance(uint64 agentId, uint256 balance, uint256 amount);
    /// @notice Sending `amount` wei to `to` failed.
    error PaymentFailed(address to, uint256 amount);
    /// @notice The threshold is not in (5_000, 10_000].
    error InvalidThreshold(uint16 thresholdBps);
    /// @notice A window or the tick interval is zero.
    error InvalidWindow();
    /// @notice No agent has this id.
    error UnknownAgent(uint64 agentId);
    /// @notice No task has this id.
    error UnknownTask(uint64 taskId);
    /// @notice The agent's previous task was opened less than `tickInterval` blocks ago.
    error TickTooSoon(uint64 agentId, uint256 nextBlock);
    /// @notice The agent's previous task is still open or committed and not yet expirable.
    error AgentBusy(uint64 agentId, uint64 taskId);
    /// @notice The task is not in a state that allows the call.
    /// @notice A trace longer than `TaskCommitments.MAX_TRACE_LENGTH`: too long to challenge.
    error TraceTooLong(uint256 length, uint256 max);
    error UnexpectedTaskState(uint64 taskId, TaskState state);
    /// @notice The task's response window ended at `lastBlock`.
    error ResponseWindowOver(uint64 taskId, uint256 lastBlock);
    /// @notice The signers' weight is zero or below the agent's threshold.
    error QuorumNotReached(uint256 signedWeight, uint256 totalWeight, uint16 thresholdBps);
    /// @notice The challenge window lasts until block `deadline` inclusive.
    error ChallengeWindowNotOver(uint64 taskId, uint32 deadline);
    /// @notice The challenge window ended at block `deadline`; the output can no longer be vetoed or
    /// challenged.
    error ChallengeWindowOver(uint64 taskId, uint32 deadline);
    /// @notice The execution window ended at `lastBlock`; the task can only expire.
    error ExecutionWindowOver(uint64 taskId, uint256 lastBlock);
    /// @notice The values shown do not open the task's record: `committed` is what the task stores (its
    /// commitment hash once committed, its input hash before), `given` what the shown input, output
    /// and non-signer hashes make of it (`TaskCommitments.hash`, or the input hash alone for a task
    /// never committed shown with zero output and non-signer hashes).
    error CommitmentMismatch(uint64 taskId, bytes32 committed, bytes32 given);
    /// @notice The task cannot expire before block `lastBlock` has passed.
    error TaskNotExpirable(uint64 taskId, uint256 lastBlock);
    /// @notice Only the agent's vault may veto its tasks.
    error NotAgentVault(address caller, address vault);
    /// @notice A task's life (1 + response window + challenge window + execution window, the response
    /// window again) exceeds the fraud-proof window: an action could execute after its signers'
    /// stake may have left.
    error WindowsTooLong(uint256 exposure, uint256 limit);
    /// @notice A strategy of the operator set holds a token other than the agent's base token.
    error StakeNotInBaseToken(address strategy, address underlying);
    /// @notice Only the challenges contract may mark a task Fraudulent.
    error NotChallenges(address caller);
    /// @notice Executing the action would take the value at risk (every outflow still
    /// fraud-provable) from `valueAtRisk` past `capacity`, the value-at-risk bound on the stake that
    /// signed it. Retry once earlier outflows have left the ledger (`releaseExposure`).
    error ValueAtRiskExceeded(uint256 valueAtRisk, uint256 value, uint256 capacity);
    /// @notice The task's output could be proved fraudulent through block `lastBlock` only: after it,
    /// its signers' stake may have left.
    error FraudProofWindowOver(uint64 taskId, uint256 lastBlock);
    /// @notice The value-at-risk bound must be in (0, 10_000) basis points and at most the share of
    /// stake a slash takes (`slashWad`).
    error InvalidValueAtRiskBound(uint16 bps, uint256 slashWad);
    /// @notice The registry's weight horizon leaves no fraud-proof window after the maximum weight age
    /// and the slashing period.
    error NoFraudProofWindow(uint256 weightHorizon, uint256 maxWeightAge, uint256 slashingPeriod);

    /// @notice The registry (`IWardenRegistry`) that checks quorums.
    function registry() external view returns (address);

    /// @notice The challenges contract (`IWardenChallenges`) this task manager created: the only
    /// account that may mark a task Fraudulent, and the one the registry must name its slasher.
    function challenges() external view returns (address);

    /// @notice The only source of agent verifiers `registerAgent` accepts (`IVerifierFactory`).
    function verifierFactory() external view returns (address);

    /// @notice The chain's block time in seconds, which converts an agent's windows to the time its
    /// actions must stay executable for.
    function secondsPerBlock() external view returns (uint32);

    /// @notice What each commitment pays its committer from the agent's service balance (wei).
    function commitFee() external view returns (uint256);

    /// @notice An agent's prepaid service balance (wei).
    function serviceBalance(uint64 agentId) external view returns (uint256);

    /// @notice Service fees a committer earned and has not withdrawn yet (wei).
    function serviceFeesOwed(address committer) external view returns (uint256);

    /// @notice Adds `msg.value` to an agent's prepaid service balance, from which each commitment pays
    /// its committer `commitFee`. Anyone may fund any agent.
    /// @param agentId The agent.
    function fundService(uint64 agentId) external payable;

    /// @notice Takes part of an agent's service balance back. Only the owner of the agent's vault.
    /// @param agentId The agent.
    /// @param amount Wei to take back; at most the balance.
    /// @param to Where the wei go.
    function reclaimService(uint64 agentId, uint256 amount, address payable to) external;

    /// @notice Sends the caller the service fees its commitments earned.
    function withdrawServiceFees() external;

    /// @notice Blocks the protocol budgets after a task's fraud-proof window to finish slashing: the
    /// window is the registry's weight horizon less its maximum weight age and this period.
    function slashingPeriod() external view returns (uint32);

    /// @notice Registers an agent for a vault. Only the vault's owner may, and the vault must name
    /// this task manager. The verifier must be the verifier factory's deployment for the agent hash,
    /// and its actions must stay executable through the agent's windows. Binds the agent to its input
    /// source, which must accept its tokens.
    /// @param config The agent's configuration (see `AgentConfig`).
    /// @return agentId The new agent's id.
    function registerAgent(AgentConfig calldata config) external returns (uint64 agentId);

    /// @notice Opens a task: has the agent's input source take a snapshot, and emits it.
    /// Permissionless; at most one live task per agent, and at least `tickInterval` blocks apart.
    /// @param agentId The agent.
    /// @return taskId The new task's id.
    function openTask(uint64 agentId) external returns (uint64 taskId);

    /// @notice Commits a quorum's output for an open task, within its response window. Permissionless.
    /// The task then keeps one hash of its input, output and non-signers (`Task.commitmentHash`) in
    /// place of its input hash; `OutputCommitted` carries the output and the non-signer ids.
    /// @param taskId The task.
    /// @param output The agent's encoded action.
    /// @param trace The agent's activation trace, the hashes of its output chunks in layer order
    /// (empty for an agent that keeps none): in calldata so that every challenger can read it from
    /// the chain, and bound through its hash by the signed digest and the commitment.
    /// @param nonSigners Public keys of the reference block's operators that did not sign, sorted by
    /// operator id as `IWardenRegistry.checkQuorum` requires.
    /// @param signature The signers' aggregate signature over `outputDigest(taskId, inputHash,
    /// keccak256(output), TaskCommitments.hashTrace(trace))`, `inputHash` the task's (`TaskOpened`).
    function commitOutput(
        uint64 taskId,
        bytes calldata output,
        bytes32[] calldata trace,
        BLS.G1Point[] calldata nonSigners,
        BLS.G2Point calldata signature
    ) external;

    /// @notice Hands a committed output to the vault once the challenge window has passed, with the
    /// stake that signed it and the snapshot's prices (read back by the input source), which the
    /// vault bounds the action by. Permissionless. Reverts if the vault reverts, leaving the task
    /// committed for a retry.
    /// The input, the output, the trace hash and the non-signer hash must open the task's commitment
    /// hash (`CommitmentMismatch` otherwise).
    /// @param taskId The task.
    /// @param input The task's snapshot, as emitted in `TaskOpened`.
    /// @param output The committed output (its preimage), as emitted in `OutputCommitted`.
    /// @param traceHash The committed trace's hash, as emitted in `OutputCommitted`.
    /// @param nonSignerHash `keccak256(abi.encodePacked(nonSignerIds))` of the ids `OutputCommitted`
    /// emitted, zero if there were none.
    function execute(
        uint64 taskId,
        bytes calldata input,
        bytes calldata output,
        bytes32 traceHash,
        bytes32 nonSignerHash
    ) external;

    /// @notice Expires a task that ran out of time: open past its response window, or committed
    /// past its execution window. Permissionless.
    /// @param taskId The task.
    function expire(uint64 taskId) external;

    /// @notice Vetoes a committed output before its deadline, so that it never executes. Only the
    /// agent's vault. The output stays challengeable until its deadline.
    /// @param taskId The task.
    function veto(uint64 taskId) external;

    /// @notice Marks a Committed, Vetoed or Executed task Fraudulent within its fraud-proof window
    /// (`provableUntil`). Only the challenges contract, once a challenge has proved the output wrong.
    /// A Committed task then never executes; an Executed one leaves its vault a proven loss.
    /// @param taskId The task.
    function markFraudulent(uint64 taskId) external;

    /// @notice Removes from the value-at-risk ledger, oldest first, up to `maxEntries` outflows that
    /// can no longer be proved fraudulent. Permissionless; `execute` does it too, a few at a time.
    /// @return released How many entries left the ledger.
    function releaseExposure(uint256 maxEntries) external returns (uint256 released);

    /// @notice What a challenge of `taskId` needs: reverts unless the task is Committed, Vetoed or
    /// Executed and within its fraud-proof window (`UnexpectedTaskState`, `FraudProofWindowOver`),
    /// and `hashes` open its commitment hash (`CommitmentMismatch`); then returns the agent's verifier
    /// and the task's reference block.
    /// @param taskId The task.
    /// @param hashes The snapshot's, the committed output's, its trace's and the non-signers' hashes.
    /// @return verifier The agent's verifier, which judges the challenge.
    /// @return referenceBlock The block whose operator set signed the output.
    function challengeTarget(uint64 taskId, TaskHashes calldata hashes)
        external
        view
        returns (address verifier, uint32 referenceBlock);

    /// @notice What slashing an operator for a task needs: the task's state and reference block.
    /// Reverts with `UnknownTask` for an unknown task, and with `CommitmentMismatch` unless `hashes`
    /// open the task's record: the four hashes of a committed task's commitment, or `(inputHash, 0, 0,
    /// 0)` for a task never committed.
    /// @param taskId The task.
    /// @param hashes The task's hashes (see `TaskHashes`).
    /// @return state The task's state.
    /// @return referenceBlock The block whose operator set signs the task.
    function slashingContext(uint64 taskId, TaskHashes calldata hashes)
        external
        view
        returns (TaskState state, uint32 referenceBlock);

    /// @notice The value-at-risk bound, in basis points of the stake that signed an action.
    function valueAtRiskBps() external view returns (uint16);

    /// @notice Blocks after a task's reference block through which its output can be proved
    /// fraudulent: the registry's weight horizon less its maximum weight age and the slashing period,
    /// so that the stake counted for the signers is still slashable when slashing ends.
    function fraudProofWindow() external view returns (uint32);

    /// @notice The last block in which the task's output can be proved fraudulent (reference block +
    /// `fraudProofWindow`); 0 for an unknown task.
    function provableUntil(uint64 taskId) external view returns (uint256);

    /// @notice The value of every executed outflow still fraud-provable, in the base token, at the
    /// current block (entries past their window excluded even before they are released).
    function valueAtRisk() external view returns (uint256);

    /// @notice What an executed task's action did to its vault (zero if it did not execute).
    function execution(uint64 taskId) external view returns (Execution memory);

    /// @notice The restitution contract this task manager created: the recipient of the operator
    /// set's slashed stake, which repays vaults their proven losses.
    function restitution() external view returns (address);

    /// @notice What a task's vault is owed from the stake slashed for it: its vault, the base token,
    /// the proven loss (0 unless the task executed and was then proved fraudulent), and whether that
    /// loss is final (the task was proved fraudulent, or can no longer be).
    function restitutionClaim(uint64 taskId)
        external
        view
        returns (address vault, address token, uint256 loss, bool lossFinal);

    /// @notice Number of tasks ever opened; also the id of the latest.
    function taskCount() external view returns (uint64);

    /// @notice A task (all zero, state `None`, if unknown). A committed task keeps only its commitment
    /// hash (`Task.commitmentHash`), not its input, output, trace and non-signer hashes: those are in its
    /// `TaskOpened` and `OutputCommitted` events, and `Task.inputHash` is zero once it committed.
    function getTask(uint64 taskId) external view returns (Task memory);

    /// @notice An agent's configuration (all zero if unknown).
    function getAgent(uint64 agentId) external view returns (AgentConfig memory);

    /// @notice Number of agents ever registered; also the id of the latest.
    function agentCount() external view returns (uint64);

    /// @notice The digest operators sign for `outputHash`, with the trace hashing to `traceHash`, as the
    /// output of `taskId` on the snapshot hashing to `inputHash` (`WardenDigests.outputDigest` with the
    /// task's agent and reference block).
    /// Reverts with `UnknownTask` for an unknown task. `inputHash` is not checked against the task:
    /// the task's own is in `TaskOpened` (and `getTask` while it is not committed); `slashingContext`
    /// checks one.
    function outputDigest(uint64 taskId, bytes32 inputHash, bytes32 outputHash, bytes32 traceHash)
        external
        view
        returns (bytes32);

    /// @notice The agent registered for `vault` (0 if none).
    function agentOf(address vault) external view returns (uint64);

    /// @notice An agent's task bookkeeping (all zero if unknown).
    function agentStatus(uint64 agentId) external view returns (AgentStatus memory);

    /// @notice The last block in which a live task can still progress: `commitOutput` while Open
    /// (opening block + response window), `execute` while Committed (deadline + response window).
    /// After it, the task can only expire. 0 for a task that is not live (or unknown).
    function lastLiveBlock(uint64 taskId) external view returns (uint256);

    /// @notice Whether `openTask(agentId)` can succeed now. If not, `check` is the first obstacle it
    /// would revert on (in `openTask`'s order) and `fromBlock` the earliest block at which every
    /// obstacle known now is gone (0 for an unknown agent); the input source's estimate assumes its
    /// preconditions are met as fast as possible (e.g. one price observation per block).
    function canOpenTask(uint64 agentId) external view returns (OpenCheck check, uint256 fromBlock);
}
