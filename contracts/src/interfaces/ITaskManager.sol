// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

/// @notice Where a task is in its lifecycle (see DESIGN.md, "Task lifecycle").
/// @dev `Fraudulent`: a challenge proved the committed output wrong; it never executes and its
/// signers are slashed.
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
    /// @dev Commitment to the agent's code, model and parameters; must equal `verifier.agentHash()`.
    bytes32 agentHash;
    /// @dev The agent's on-chain twin (`IAgentVerifier`), which adjudicates challenges.
    address verifier;
    /// @dev The `IWardenVault` whose funds the agent manages; one agent per vault.
    address vault;
    /// @dev The Uniswap v2 pair whose price the agent observes.
    address pair;
    /// @dev One of the pair's tokens: the one prices are quoted for.
    address tokenBase;
    /// @dev The pair's other token: the unit prices are quoted in.
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
    /// @dev `keccak256(abi.encode(AgentInput))` of the snapshot.
    bytes32 inputHash;
    /// @dev `keccak256(output)`; 0 until committed.
    bytes32 outputHash;
    /// @dev `keccak256(abi.encode(nonSigners))` of the `BLS.G1Point[]` as given, i.e. over the word
    /// 0x20, the length and the points (each four 32-byte words); 0 until committed.
    bytes32 nonSignerHash;
    uint96 signedWeight;
    uint96 totalWeight;
}

/// @notice Per-agent bookkeeping that keepers read to schedule their calls.
struct AgentStatus {
    /// @dev Block of the latest observation (0 if none).
    uint32 lastObservedAt;
    /// @dev Block of the latest `openTask` (0 if none).
    uint32 lastOpenedAt;
    /// @dev Observations recorded so far, saturating at the history length (16).
    uint8 observations;
    /// @dev The agent's most recent task (0 if none); at most this one can be live.
    uint64 latestTaskId;
}

/// @title ITaskManager
/// @notice Opens agent tasks on an on-chain input snapshot, accepts a BLS quorum's commitment to an
/// output, and hands the output to the agent's vault once its challenge window has passed.
/// @dev Agent and task ids start at 1, so 0 never names either.
interface ITaskManager {
    /// @notice An agent was registered for `vault`.
    event AgentRegistered(
        uint64 indexed agentId, address indexed vault, bytes32 agentHash, address verifier, AgentConfig config
    );
    /// @notice The pair's price (quote per base, 1e18 fixed point) was recorded for an agent.
    event PriceObserved(uint64 indexed agentId, uint256 price, uint32 blockNumber);
    /// @notice A task was opened; `input` is `abi.encode(AgentInput)` and hashes to `inputHash`.
    event TaskOpened(
        uint64 indexed taskId, uint64 indexed agentId, uint32 referenceBlock, bytes32 inputHash, bytes input
    );
    /// @notice A quorum's output was committed; it may execute after block `deadline`.
    event OutputCommitted(
        uint64 indexed taskId,
        bytes32 outputHash,
        bytes32 nonSignerHash,
        uint256 signedWeight,
        uint256 totalWeight,
        uint32 deadline,
        bytes output
    );
    /// @notice A committed output was handed to the vault.
    event TaskExecuted(uint64 indexed taskId, bytes32 outputHash);
    /// @notice A task ran out of time: no commitment within the response window, or no successful
    /// execution within the execution window.
    event TaskExpired(uint64 indexed taskId);
    /// @notice The vault owner vetoed a committed output before its deadline.
    event TaskVetoed(uint64 indexed taskId);
    /// @notice A challenge proved the committed output wrong: the verifier's output hashes to
    /// `expectedOutputHash`. The task is Fraudulent and `payout` (bond + bounty) went to the challenger.
    event ChallengeUpheld(
        uint64 indexed taskId, address indexed challenger, bytes32 expectedOutputHash, uint256 payout
    );
    /// @notice A challenge found the committed output correct; its bond went to the bounty pool.
    event ChallengeRejected(uint64 indexed taskId, address indexed challenger, uint256 forfeitedBond);
    /// @notice `amount` was added to the bounty pool.
    event BountiesFunded(address indexed funder, uint256 amount);
    /// @notice A signer of a fraudulent output was slashed.
    event SignerSlashed(uint64 indexed taskId, address indexed operator, bytes32 indexed operatorId);
    /// @notice EigenLayer refused to slash a signer of a fraudulent output (`reason` is its revert
    /// data); slashing went on with the others.
    event SignerSlashFailed(uint64 indexed taskId, address indexed operator, bytes reason);
    /// @notice Every signer of a fraudulent output has been dealt with; `signersSlashed` succeeded.
    event SlashingCompleted(uint64 indexed taskId, uint256 signersSlashed);
    /// @notice An operator signed two different outputs for one task and was slashed.
    event EquivocationSlashed(
        uint64 indexed taskId,
        address indexed operator,
        bytes32 indexed operatorId,
        bytes32 outputHashA,
        bytes32 outputHashB
    );

    /// @notice `registerAgent` was not called by the vault's owner.
    error NotVaultOwner(address caller, address owner);
    /// @notice The vault executes for another task manager.
    error VaultTaskManagerMismatch(address vault, address taskManager);
    /// @notice The vault already has an agent; an agent's tasks assume nothing else moves its funds.
    error VaultAlreadyHasAgent(address vault, uint64 agentId);
    /// @notice `agentHash` differs from the verifier's.
    error AgentHashMismatch(bytes32 configured, bytes32 verifier);
    /// @notice The base and quote tokens are not the pair's two tokens.
    error TokensNotInPair(address pair, address tokenBase, address tokenQuote);
    /// @notice The threshold is not in (5_000, 10_000].
    error InvalidThreshold(uint16 thresholdBps);
    /// @notice A window or the tick interval is zero.
    error InvalidWindow();
    /// @notice No agent has this id.
    error UnknownAgent(uint64 agentId);
    /// @notice No task has this id.
    error UnknownTask(uint64 taskId);
    /// @notice The agent's price was already observed in this block.
    error AlreadyObserved(uint64 agentId, uint32 blockNumber);
    /// @notice The agent's previous task was opened less than `tickInterval` blocks ago.
    error TickTooSoon(uint64 agentId, uint256 nextBlock);
    /// @notice The agent's previous task is still open or committed and not yet expirable.
    error AgentBusy(uint64 agentId, uint64 taskId);
    /// @notice Fewer than 16 prices have been observed for the agent.
    error InsufficientHistory(uint64 agentId, uint256 observations);
    /// @notice The task is not in a state that allows the call.
    error UnexpectedTaskState(uint64 taskId, TaskState state);
    /// @notice The task's response window ended at `lastBlock`.
    error ResponseWindowOver(uint64 taskId, uint256 lastBlock);
    /// @notice The signers' weight is zero or below the agent's threshold.
    error QuorumNotReached(uint256 signedWeight, uint256 totalWeight, uint16 thresholdBps);
    /// @notice The challenge window lasts until block `deadline` inclusive.
    error ChallengeWindowNotOver(uint64 taskId, uint32 deadline);
    /// @notice The challenge window ended at block `deadline`; the output can no longer be vetoed.
    error ChallengeWindowOver(uint64 taskId, uint32 deadline);
    /// @notice The execution window ended at `lastBlock`; the task can only expire.
    error ExecutionWindowOver(uint64 taskId, uint256 lastBlock);
    /// @notice The output's hash is not the committed one.
    error OutputMismatch(uint64 taskId, bytes32 committed, bytes32 given);
    /// @notice The task cannot expire before block `lastBlock` has passed.
    error TaskNotExpirable(uint64 taskId, uint256 lastBlock);
    /// @notice Only the agent's vault may veto its tasks.
    error NotAgentVault(address caller, address vault);
    /// @notice A challenge must carry exactly the challenge bond.
    error WrongBond(uint256 sent, uint256 required);
    /// @notice The slashed fraction is not in (0, 1e18].
    error InvalidSlashWad(uint256 slashWad);
    /// @notice The input's hash is not the task's snapshot hash.
    error InputMismatch(uint64 taskId, bytes32 committed, bytes32 given);
    /// @notice The non-signer list is not the one the task was committed with.
    error NonSignersMismatch(uint64 taskId);
    /// @notice Every signer of the task has already been dealt with.
    error SlashingAlreadyComplete(uint64 taskId);
    /// @notice Equivocation evidence needs two different outputs.
    error SameOutput();
    /// @notice The operator was not in the set at the task's reference block.
    error OperatorNotInSet(bytes32 operatorId, uint32 referenceBlock);
    /// @notice One of the two signatures of equivocation evidence is invalid (0 = first, 1 = second).
    error InvalidEquivocationSignature(uint256 index);
    /// @notice The operator was already slashed for equivocating on this task.
    error EquivocationAlreadySlashed(uint64 taskId, bytes32 operatorId);
    /// @notice Response window + challenge window + slashing period exceed half EigenLayer's
    /// deallocation delay: a signer could escape before it is slashed.
    error WindowsTooLong(uint256 exposure, uint256 limit);
    /// @notice A strategy of the operator set holds a token other than the agent's base token.
    error StakeNotInBaseToken(address strategy, address underlying);
    /// @notice Sending `amount` native currency to `to` failed.
    error PayoutFailed(address to, uint256 amount);
    /// @notice Too little gas to give a slash what it needs: the call would fail for lack of gas, not
    /// because EigenLayer refuses, and a signer would escape. Retry with more gas.
    error InsufficientGasForSlash();
    /// @notice The registry does not let this task manager slash (its slasher is `slasher`).
    error NotRegistrySlasher(address slasher);

    /// @notice The WardenRegistry that checks quorums.
    function registry() external view returns (address);

    /// @notice Registers an agent for a vault. Only the vault's owner may, and the vault must name
    /// this task manager.
    /// @param config The agent's configuration (see `AgentConfig`).
    /// @return agentId The new agent's id.
    function registerAgent(AgentConfig calldata config) external returns (uint64 agentId);

    /// @notice Records the pair's current price for an agent, at most once per block. Permissionless.
    /// @param agentId The agent.
    function observe(uint64 agentId) external;

    /// @notice Opens a task: records an observation, snapshots the agent's input and emits it.
    /// Permissionless; at most one live task per agent, and at least `tickInterval` blocks apart.
    /// @param agentId The agent.
    /// @return taskId The new task's id.
    function openTask(uint64 agentId) external returns (uint64 taskId);

    /// @notice Commits a quorum's output for an open task, within its response window. Permissionless.
    /// @param taskId The task.
    /// @param output The agent's encoded action.
    /// @param nonSigners Public keys of the reference block's operators that did not sign, sorted by
    /// operator id as `WardenRegistry.checkQuorum` requires.
    /// @param signature The signers' aggregate signature over `outputDigest(taskId, keccak256(output))`.
    function commitOutput(
        uint64 taskId,
        bytes calldata output,
        BLS.G1Point[] calldata nonSigners,
        BLS.G2Point calldata signature
    ) external;

    /// @notice Hands a committed output to the vault once the challenge window has passed, with the
    /// stake that signed it and the snapshot's prices, which the vault bounds the action by.
    /// Permissionless. Reverts if the vault reverts, leaving the task committed for a retry.
    /// @param taskId The task.
    /// @param input The task's snapshot, `abi.encode(AgentInput)` as emitted in `TaskOpened`.
    /// @param output The committed output (its preimage).
    function execute(uint64 taskId, bytes calldata input, bytes calldata output) external;

    /// @notice Expires a task that ran out of time: open past its response window, or committed
    /// past its execution window. Permissionless.
    /// @param taskId The task.
    function expire(uint64 taskId) external;

    /// @notice Vetoes a committed output before its deadline. Only the agent's vault.
    /// @param taskId The task.
    function veto(uint64 taskId) external;

    /// @notice Adds `msg.value` to the pool that pays challengers' bounties. Anyone.
    function fundBounties() external payable;

    /// @notice Challenges a committed output before its deadline by recomputing it on chain with the
    /// agent's verifier. Permissionless; `msg.value` must be the challenge bond. If the verifier's
    /// output differs, the task becomes Fraudulent (it never executes), its signers become slashable
    /// through `slashSigners`, and the challenger gets its bond back plus the bounty (as much of it as
    /// the pool holds). Otherwise the bond goes to the bounty pool and the task stays Committed.
    /// @param taskId The task.
    /// @param input The task's snapshot (preimage of its input hash).
    /// @param output The committed output (preimage of its output hash).
    /// @return upheld Whether the output was wrong.
    function challenge(uint64 taskId, bytes calldata input, bytes calldata output)
        external
        payable
        returns (bool upheld);

    /// @notice Slashes the signers of a Fraudulent task, walking the registry's operator ids from the
    /// task's cursor. Permissionless: anyone can continue where the last call stopped, until done.
    /// A signer is an operator registered at the reference block and not among the non-signers; each
    /// is slashed once. A signer EigenLayer refuses to slash is reported and skipped.
    /// @param taskId The Fraudulent task.
    /// @param nonSigners The non-signers the task was committed with, as given to `commitOutput`.
    /// @param maxOperators At most this many operator ids are examined; 0 means all that remain.
    /// @return slashed Signers slashed by this call.
    /// @return done Whether every operator id has now been examined.
    function slashSigners(uint64 taskId, BLS.G1Point[] calldata nonSigners, uint256 maxOperators)
        external
        returns (uint256 slashed, bool done);

    /// @notice Slashes an operator that signed two different outputs for one task: honest operators
    /// sign at most one. Permissionless, no bond: the evidence is self-verifying.
    /// @param taskId The task (any state).
    /// @param publicKey The operator's registered BLS public key.
    /// @param outputHashA The first output hash.
    /// @param signatureA The operator's signature over `outputDigest(taskId, outputHashA)`.
    /// @param outputHashB The second output hash, different from the first.
    /// @param signatureB The operator's signature over `outputDigest(taskId, outputHashB)`.
    function slashEquivocation(
        uint64 taskId,
        BLS.G1Point calldata publicKey,
        bytes32 outputHashA,
        BLS.G2Point calldata signatureA,
        bytes32 outputHashB,
        BLS.G2Point calldata signatureB
    ) external;

    /// @notice The bond a challenge must carry (wei).
    function challengeBond() external view returns (uint256);

    /// @notice The bounty an upheld challenge earns on top of its bond, while the pool lasts (wei).
    function challengeBounty() external view returns (uint256);

    /// @notice Blocks the protocol budgets after a challenge's deadline to finish slashing.
    function slashingPeriod() external view returns (uint32);

    /// @notice Share of a signer's allocation to Warden's set slashed for fraud or equivocation (WAD).
    function slashWad() external view returns (uint256);

    /// @notice Native currency available for bounties (wei).
    function bountyPool() external view returns (uint256);

    /// @notice A Fraudulent task's slashing cursor: the next index into `registry.operatorIds()` to
    /// examine, and whether slashing is complete (both zero for any other task).
    function slashingProgress(uint64 taskId) external view returns (uint32 nextIndex, bool done);

    /// @notice Whether the operator was already slashed for equivocating on the task.
    function equivocationSlashed(uint64 taskId, bytes32 operatorId) external view returns (bool);

    /// @notice Number of tasks ever opened; also the id of the latest.
    function taskCount() external view returns (uint64);

    /// @notice A task (all zero, state `None`, if unknown).
    function getTask(uint64 taskId) external view returns (Task memory);

    /// @notice An agent's configuration (all zero if unknown).
    function getAgent(uint64 agentId) external view returns (AgentConfig memory);

    /// @notice Number of agents ever registered; also the id of the latest.
    function agentCount() external view returns (uint64);

    /// @notice The agent's recorded prices, oldest first (at most 16).
    function priceHistory(uint64 agentId) external view returns (uint256[] memory);

    /// @notice The digest operators sign for `outputHash` as the output of `taskId`.
    function outputDigest(uint64 taskId, bytes32 outputHash) external view returns (bytes32);

    /// @notice The agent registered for `vault` (0 if none).
    function agentOf(address vault) external view returns (uint64);

    /// @notice An agent's observation and task bookkeeping (all zero if unknown).
    function agentStatus(uint64 agentId) external view returns (AgentStatus memory);
}
