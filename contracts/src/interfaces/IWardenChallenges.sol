// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {TaskHashes, TaskState} from "./ITaskManager.sol";
import {TraceStep} from "./ITracedAgentVerifier.sol";

/// @notice One of the two signatures in equivocation evidence: what the operator signed for the task
/// (an output hash and a trace hash, with the task's input hash) and its signature over that digest.
struct SignedOutput {
    bytes32 outputHash;
    /// @dev The signed trace's hash; zero for an agent that keeps no trace.
    bytes32 traceHash;
    BLS.G2Point signature;
}

/// @title IWardenChallenges
/// @notice Fraud proofs and slashing for one task manager: bonded challenges that recompute a
/// committed output on chain with the agent's verifier, the bounty pool that rewards upheld ones,
/// batched slashing of every signer of a fraudulent output, and slashing of operators that sign two
/// different outputs for one task. It is the registry's slasher and the only account the task
/// manager lets mark a task Fraudulent.
interface IWardenChallenges {
    /// @notice `challenger` committed to a challenge it will reveal in a later block (`commitment`, see
    /// `sealChallenge`).
    event ChallengeCommitted(address indexed challenger, bytes32 indexed commitment);
    /// @notice A challenge proved the committed output wrong: the verifier's output hashes to
    /// `expectedOutputHash` (for `challengeTrace`: `keccak256(abi.encode(step))`, the step that proved
    /// it). The task is Fraudulent and `payout` went to the challenger: its bond, plus the bounty (as
    /// far as the pool went) if it had committed to the challenge in an earlier block.
    event ChallengeUpheld(
        uint64 indexed taskId, address indexed challenger, bytes32 expectedOutputHash, uint256 payout
    );
    /// @notice A challenge found the committed output correct; its bond went to the bounty pool.
    event ChallengeRejected(uint64 indexed taskId, address indexed challenger, uint256 forfeitedBond);
    /// @notice `amount` was added to the bounty pool.
    event BountiesFunded(address indexed funder, uint256 amount);
    /// @notice A signer of a fraudulent output was slashed: EigenLayer's slash `slashId` of Warden's
    /// operator set took `shares` (summed over the set's strategies, its stakers' queued withdrawals
    /// included), which clearing the slash pays to the redistribution recipient.
    event SignerSlashed(
        uint64 indexed taskId,
        address indexed operator,
        bytes32 indexed operatorId,
        uint256 slashId,
        uint256 shares
    );
    /// @notice A signer of a fraudulent output had nothing left to take (an earlier slash or its own
    /// deallocation emptied its allocation to Warden's set); EigenLayer took no shares.
    event SignerNothingToSlash(uint64 indexed taskId, address indexed operator, bytes32 indexed operatorId);
    /// @notice EigenLayer refused for good to slash a signer of a fraudulent output (`reason` is its
    /// revert data: `OperatorNotSlashable()`, the signer left the set more than the deallocation delay
    /// ago); slashing went on with the others.
    event SignerSlashFailed(uint64 indexed taskId, address indexed operator, bytes reason);
    /// @notice The first `slashSigners` batch of a Fraudulent task recorded its `count` non-signers (as
    /// a bitmap over the registry's operator ids, checked against the commitment's non-signer hash);
    /// later batches refer to the record instead of sending the list again.
    event NonSignersRecorded(uint64 indexed taskId, uint256 count);
    /// @notice Every signer of a fraudulent output has been dealt with; `signersSlashed` lost shares.
    event SlashingCompleted(uint64 indexed taskId, uint256 signersSlashed);
    /// @notice `slashSigners` paid its caller `amount` from the bounty pool for the signers it took
    /// shares from.
    event SlashingFeePaid(uint64 indexed taskId, address indexed caller, uint256 amount);
    /// @notice An operator signed two different outputs for one task and was slashed: EigenLayer's
    /// slash `slashId` took `shares` (summed over the set's strategies, its stakers' queued withdrawals
    /// included; zero if it had nothing left to take).
    event EquivocationSlashed(
        uint64 indexed taskId,
        address indexed operator,
        bytes32 indexed operatorId,
        bytes32 outputHashA,
        bytes32 traceHashA,
        bytes32 outputHashB,
        bytes32 traceHashB,
        uint256 slashId,
        uint256 shares
    );

    /// @notice No task has this id (the task manager's `UnknownTask`, which `slashEquivocation` passes
    /// on).
    error UnknownTask(uint64 taskId);
    /// @notice The task is not in a state that allows the call.
    error UnexpectedTaskState(uint64 taskId, TaskState state);
    /// @notice A challenge must carry exactly the challenge bond.
    error WrongBond(uint256 sent, uint256 required);
    /// @notice The slashed fraction is not in (0, 1e18].
    error InvalidSlashWad(uint256 slashWad);
    /// @notice The non-signer ids are not the ones the task was committed with (their hash is not the
    /// non-signer hash its upheld challenge showed, which the task's commitment hash binds).
    error NonSignersMismatch(uint64 taskId);
    /// @notice A non-signer index is not below `end`, the registry's operator id count when the
    /// challenge was upheld (an operator registered later cannot have been a non-signer).
    error NonSignerIndexOutOfRange(uint256 index, uint256 end);
    /// @notice Only the first batch (cursor at 0) carries the non-signers; a later one must send none.
    error NonSignersAlreadyRecorded(uint64 taskId);
    /// @notice Every signer of the task has already been dealt with.
    error SlashingAlreadyComplete(uint64 taskId);
    /// @notice Equivocation evidence needs two signed outputs that differ, in output or trace hash.
    error SameOutput();
    /// @notice The operator was not in the set at the task's reference block.
    error OperatorNotInSet(bytes32 operatorId, uint32 referenceBlock);
    /// @notice One of the two signatures of equivocation evidence is invalid (0 = first, 1 = second).
    error InvalidEquivocationSignature(uint256 index);
    /// @notice The operator was already slashed for equivocating on this task.
    error EquivocationAlreadySlashed(uint64 taskId, bytes32 operatorId);
    /// @notice The caller already committed to `commitment`, in block `committedAt`; the first commitment
    /// stands.
    error ChallengeAlreadyCommitted(bytes32 commitment, uint256 committedAt);
    /// @notice Sending `amount` native currency to `to` failed.
    error PayoutFailed(address to, uint256 amount);
    /// @notice Too little gas to give a slash what it needs: the call would fail for lack of gas, not
    /// because EigenLayer refuses, and a signer would escape. Retry with more gas.
    error InsufficientGasForSlash();
    /// @notice The registry does not let this contract slash (its slasher is `slasher`).
    error NotRegistrySlasher(address slasher);
    /// @notice EigenLayer refused to slash `operator` for a reason that may not last (`reason` is its
    /// revert data, e.g. `CurrentlyPaused()` while slashing is paused). The batch reverted: every
    /// signer is still pending. Retry when the cause is gone.
    error SlashFailed(address operator, bytes reason);

    /// @notice The task manager whose tasks this contract adjudicates (its creator).
    function taskManager() external view returns (address);

    /// @notice The registry whose operators this contract slashes.
    function registry() external view returns (address);

    /// @notice Adds `msg.value` to the pool that pays challengers' bounties. Anyone.
    function fundBounties() external payable;

    /// @notice Commits the caller to a challenge it will reveal with `challenge` in a later block, so
    /// that the bounty goes to it and not to whoever copies its reveal. Permissionless, no bond.
    /// Reverts with `ChallengeAlreadyCommitted` if the caller already committed to `commitment`.
    /// @param commitment `sealChallenge(msg.sender, taskId, expectedOutputHash, salt)` with a secret salt.
    function commitChallenge(bytes32 commitment) external;

    /// @notice Challenges a committed output within its fraud-proof window by recomputing it on chain
    /// with the agent's verifier. Permissionless; `msg.value` must be the challenge bond. If the
    /// verifier's output differs, the task becomes Fraudulent (it never executes), its signers become
    /// slashable through `slashSigners`, and the challenger gets its bond back; plus the bounty (as
    /// much of it as the pool holds) if it committed to `sealChallenge(msg.sender, taskId, verifier's
    /// output hash, salt)` in an earlier block. Otherwise the bond goes to the bounty pool and the task
    /// stays Committed. Reverts with the task manager's `UnexpectedTaskState`, `FraudProofWindowOver`
    /// or `CommitmentMismatch` when the task cannot be challenged with these values.
    /// @param taskId The task.
    /// @param input The task's snapshot (`TaskOpened`).
    /// @param output The committed output (`OutputCommitted`).
    /// @param traceHash The committed trace's hash (`OutputCommitted`).
    /// @param nonSignerHash `keccak256(abi.encodePacked(nonSignerIds))` of the ids `OutputCommitted`
    /// emitted (zero if none): with the input, output and trace hash it opens the task's commitment
    /// hash, and an upheld challenge keeps it for the first `slashSigners` batch.
    /// @param salt The salt of the caller's commitment (any value without one: no bounty).
    /// @return upheld Whether the output was wrong.
    function challenge(
        uint64 taskId,
        bytes calldata input,
        bytes calldata output,
        bytes32 traceHash,
        bytes32 nonSignerHash,
        bytes32 salt
    ) external payable returns (bool upheld);

    /// @notice Challenges a committed output of a large agent, whose verifier cannot re-run it
    /// (`ITracedAgentVerifier`), by one step of its committed run: a chunk of a layer recomputed from
    /// the layer's committed input and its proven weights, the committed logits decoded, or the
    /// trace's length. Permissionless; `msg.value` must be the challenge bond. If the verifier finds
    /// the step wrong, the task becomes Fraudulent and its signers slashable exactly as after
    /// `challenge`, and the bounty needs a commitment to `sealChallenge(msg.sender, taskId,
    /// keccak256(abi.encode(step)), salt)` from an earlier block. If the step checks out the bond
    /// goes to the bounty pool. Reverts with the task manager's errors when the task cannot be
    /// challenged with these values (the trace must be the committed one), and with the verifier's
    /// when the step is unsound (weights that are not the network's, a layer input the trace does not
    /// commit) or the verifier judges no traces.
    /// @param taskId The task.
    /// @param input The task's snapshot (`TaskOpened`).
    /// @param output The committed output (`OutputCommitted`).
    /// @param trace The committed trace (the `commitOutput` call's calldata).
    /// @param nonSignerHash The committed non-signers' hash, as for `challenge`.
    /// @param step The step of the run shown.
    /// @param salt The salt of the caller's commitment (any value without one: no bounty).
    /// @return upheld Whether the step proved the committed run wrong.
    function challengeTrace(
        uint64 taskId,
        bytes calldata input,
        bytes calldata output,
        bytes32[] calldata trace,
        bytes32 nonSignerHash,
        TraceStep calldata step,
        bytes32 salt
    ) external payable returns (bool upheld);

    /// @notice Slashes the signers of a Fraudulent task, walking the registry's operator ids from the
    /// task's cursor. Permissionless: anyone can continue where the last call stopped, until done.
    /// A signer is an operator registered at the reference block and not among the non-signers; each
    /// is slashed once. A signer EigenLayer will never let Warden slash (`OperatorNotSlashable`) is
    /// reported (`SignerSlashFailed`) and skipped; any other refusal, such as a pause of EigenLayer's
    /// slashing, reverts the whole call with `SlashFailed` and leaves every signer pending.
    /// The first batch (cursor at 0) carries the non-signers, once: their positions in the registry's
    /// operator id list (`operatorIds(index)`), in the order of the ids the task was committed with
    /// (the ids `OutputCommitted` emitted, sorted ascending), so that their ids hash to the
    /// non-signer hash the upheld challenge showed (which the task's commitment hash binds); it records
    /// them as a bitmap (`NonSignersRecorded`). Later batches send an empty list and refer to the
    /// record. Reverts with `UnexpectedTaskState` unless a challenge of the task was upheld.
    /// @param taskId The Fraudulent task.
    /// @param nonSignerIndices First batch: the non-signers' operator id indices, in committed order
    /// (empty if everyone signed). Later batches: empty (`NonSignersAlreadyRecorded` otherwise).
    /// Reverts with `NonSignerIndexOutOfRange` for an index at or past the id count when the
    /// challenge was upheld, and `NonSignersMismatch` unless the ids are exactly the committed ones.
    /// @param maxOperators At most this many operator ids are examined; 0 means all that remain.
    /// The caller is paid `slashFee` per signer it took shares from, from the bounty pool as far as
    /// it goes (`SlashingFeePaid`).
    /// @return slashed Signers this call took shares from (`SignerSlashed`); a signer with nothing
    /// left to take (`SignerNothingToSlash`) does not count.
    /// @return done Whether every operator id has now been examined.
    function slashSigners(uint64 taskId, uint32[] calldata nonSignerIndices, uint256 maxOperators)
        external
        returns (uint256 slashed, bool done);

    /// @notice Slashes an operator that signed two different outputs for one task: honest operators
    /// sign at most one. Permissionless, no bond: the evidence is self-verifying.
    /// @param taskId The task (any state).
    /// @param task The task's hashes, checked by the task manager's `slashingContext` (which reverts
    /// with `UnknownTask` or `CommitmentMismatch`): `(inputHash, 0, 0, 0)` for a task never committed,
    /// with `inputHash` from `TaskOpened`; for a committed one also its committed output's, trace's
    /// and non-signers' hashes, from `OutputCommitted`. Its `inputHash` is the one both digests name.
    /// @param publicKey The operator's registered BLS public key.
    /// @param first The first signed output: its signature is over `outputDigest(taskId,
    /// task.inputHash, first.outputHash, first.traceHash)`.
    /// @param second The second, which differs from the first in its output hash, its trace hash or
    /// both.
    function slashEquivocation(
        uint64 taskId,
        TaskHashes calldata task,
        BLS.G1Point calldata publicKey,
        SignedOutput calldata first,
        SignedOutput calldata second
    ) external;

    /// @notice The bond a challenge must carry (wei).
    function challengeBond() external view returns (uint256);

    /// @notice The bounty an upheld challenge earns on top of its bond, while the pool lasts (wei).
    function challengeBounty() external view returns (uint256);

    /// @notice Share of a signer's allocation to Warden's set slashed for fraud or equivocation (WAD).
    function slashWad() external view returns (uint256);

    /// @notice What `slashSigners` pays its caller per signer it takes shares from, while the pool
    /// lasts (wei).
    function slashFee() external view returns (uint256);

    /// @notice Native currency available for bounties and slashing fees (wei).
    function bountyPool() external view returns (uint256);

    /// @notice The block in which `challenger` committed to `commitment` (0 if it has not, or its
    /// commitment was used by a challenge that earned the bounty).
    function challengeCommitments(address challenger, bytes32 commitment) external view returns (uint256);

    /// @notice The commitment `commitChallenge` takes: `keccak256(abi.encode(challenger, taskId,
    /// expectedOutputHash, salt))`, where `expectedOutputHash` is the hash of the output the verifier
    /// computes (the correct one, not the committed one).
    function sealChallenge(address challenger, uint64 taskId, bytes32 expectedOutputHash, bytes32 salt)
        external
        pure
        returns (bytes32);

    /// @notice A Fraudulent task's slashing cursor: the next index into the registry's operator ids
    /// to examine, and whether slashing is complete (both zero for any other task).
    function slashingProgress(uint64 taskId) external view returns (uint32 nextIndex, bool done);

    /// @notice Whether the first `slashSigners` batch of the task recorded the operator at `index` of
    /// the registry's operator id list as a non-signer.
    function isRecordedNonSigner(uint64 taskId, uint256 index) external view returns (bool);

    /// @notice The task whose fraud or equivocation EigenLayer's slash `slashId` of Warden's operator
    /// set punished (every slash of the set is made by this contract); zero for an id it never made
    /// (task ids count from 1). A slash that took nothing is recorded too.
    function taskOfSlash(uint256 slashId) external view returns (uint64 taskId);

    /// @notice Whether the operator was already slashed for equivocating on the task.
    function equivocationSlashed(uint64 taskId, bytes32 operatorId) external view returns (bool);

    /// @notice The challenger whose challenge proved the task's output wrong (zero if none did).
    function challengerOf(uint64 taskId) external view returns (address);
}
