// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {IAgentVerifier} from "./interfaces/IAgentVerifier.sol";
import {ITracedAgentVerifier, TraceStep} from "./interfaces/ITracedAgentVerifier.sol";
import {IAllocationManagerSlashing} from "./interfaces/IEigenLayerSlashing.sol";
import {ITaskManager, TaskHashes} from "./interfaces/ITaskManager.sol";
import {IWardenChallenges, SignedOutput} from "./interfaces/IWardenChallenges.sol";
import {IWardenRegistry} from "./interfaces/IWardenRegistry.sol";
import {BLS12381} from "./libraries/BLS12381.sol";
import {OperatorIds} from "./libraries/OperatorIds.sol";
import {TaskCommitments} from "./libraries/TaskCommitments.sol";
import {WardenDigests} from "./libraries/WardenDigests.sol";

/// @title WardenChallenges
/// @notice Fraud proofs and slashing for one `WardenTaskManager`: during a task's challenge window
/// anyone may challenge its output by recomputing it on chain; a wrong output is marked Fraudulent in
/// the task manager and every operator that signed it is slashed through EigenLayer, in bounded
/// batches. An operator that signs two different outputs for one task is slashed on the evidence of
/// its two signatures.
///
/// The bounty goes to a challenger who committed to its challenge first (commit-reveal): it calls
/// `commitChallenge(sealChallenge(itself, taskId, expectedOutputHash, salt))`, and in a later block
/// `challenge(taskId, input, output, nonSignerHash, salt)`. An upheld challenge without such a commitment gets its
/// bond back and no bounty, so copying a challenge seen in the mempool earns nothing: the copier has
/// no commitment of its own from an earlier block, and a commitment binds its sender. The limit: the
/// copier's challenge is still upheld (fraud is stopped either way), and the committed challenger's
/// own transaction then reverts, so a front-runner can deny it the bounty at the cost of gas, without
/// gaining it. `slashSigners` pays its caller a fee per signer it takes shares from, from the same
/// pool.
/// @dev Created by its task manager's constructor, which it records as `taskManager`: the two name
/// each other through immutables, so neither can be re-pointed. The registry's owner then names this
/// contract the registry's slasher (once, for good). Ownerless.
contract WardenChallenges is IWardenChallenges, ReentrancyGuardTransient {
    using Checkpoints for Checkpoints.Trace208;
    using SafeCast for uint256;

    /// @notice 100 % in WAD, the unit of EigenLayer's `wadsToSlash`.
    uint256 public constant WAD = 1e18;
    /// @notice Gas below which `slashSigners` does not even try a slash (no slash costs less) and
    /// reverts with `InsufficientGasForSlash`. The guard that matters is the one on a failed slash.
    uint256 public constant MIN_GAS_PER_SLASH = 100_000;

    /// @dev A Fraudulent task's slashing cursor over the registry's operator ids, written when its
    /// challenge was upheld (`upheld`): only this contract marks a task Fraudulent, and only then, so
    /// `upheld` is the task's state without asking the task manager. `end` is the id count at that
    /// moment: ids appended later registered after the reference block, so none of them signed.
    /// `referenceBlock` is the task's, as the task manager's `challengeTarget` returned it.
    struct Slashing {
        uint32 next;
        uint32 end;
        uint32 slashed;
        bool done;
        bool upheld;
        uint32 referenceBlock;
    }

    ITaskManager private immutable _taskManager;
    IWardenRegistry private immutable _registry;

    /// @inheritdoc IWardenChallenges
    uint256 public immutable challengeBond;
    /// @inheritdoc IWardenChallenges
    uint256 public immutable challengeBounty;
    /// @inheritdoc IWardenChallenges
    uint256 public immutable slashWad;
    /// @inheritdoc IWardenChallenges
    uint256 public immutable slashFee;

    /// @inheritdoc IWardenChallenges
    uint256 public bountyPool;

    /// @inheritdoc IWardenChallenges
    mapping(address challenger => mapping(bytes32 commitment => uint256 blockNumber)) public
        challengeCommitments;

    mapping(uint64 taskId => Slashing) private _slashings;

    /// @inheritdoc IWardenChallenges
    mapping(uint64 taskId => mapping(bytes32 operatorId => bool)) public equivocationSlashed;

    /// @inheritdoc IWardenChallenges
    mapping(uint64 taskId => address challenger) public challengerOf;

    /// @dev Every slash this contract made, as runs of consecutive slash ids, one per batch as a
    /// rule instead of a slot per slash: keyed by a run's first id (EigenLayer numbers a set's slashes
    /// upwards, so keys only grow), the value packs the id after the run's last (bits 64-127) and the
    /// task the run punished (bits 0-63).
    Checkpoints.Trace208 private _slashRuns;

    /// @dev A Fraudulent task's non-signers as a bitmap over the registry's operator ids (bit
    /// `index % 256` of word `index / 256`), recorded by its first `slashSigners` batch.
    mapping(uint64 taskId => mapping(uint256 word => uint256 bits)) private _nonSignerBits;

    /// @dev A Fraudulent task's non-signer hash, as the upheld challenge showed it (checked against the
    /// task's commitment hash), until its first `slashSigners` batch checks the non-signers against it
    /// and clears it. Not written when everyone signed (it is zero then).
    mapping(uint64 taskId => bytes32 nonSignerHash) private _nonSignerHashes;

    /// @dev The deployer is the task manager this contract adjudicates for.
    /// @param registry_ The registry whose operator set signs every task; it must name this contract
    /// its slasher before signers can be slashed.
    /// @param challengeBond_ The bond a challenge carries (wei); lost if the challenge is wrong.
    /// @param challengeBounty_ The reward of an upheld challenge on top of its bond (wei), paid from
    /// the bounty pool as far as it goes.
    /// @param slashWad_ Share of a signer's allocation to Warden's set that fraud or equivocation
    /// costs it, in WAD: in (0, 1e18].
    /// @param slashFee_ What `slashSigners` pays its caller per signer it takes shares from (wei),
    /// from the bounty pool as far as it goes.
    constructor(
        address registry_,
        uint256 challengeBond_,
        uint256 challengeBounty_,
        uint256 slashWad_,
        uint256 slashFee_
    ) {
        if (slashWad_ == 0 || slashWad_ > WAD) revert InvalidSlashWad(slashWad_);
        _taskManager = ITaskManager(msg.sender);
        _registry = IWardenRegistry(registry_);
        challengeBond = challengeBond_;
        challengeBounty = challengeBounty_;
        slashWad = slashWad_;
        slashFee = slashFee_;
    }

    // ------------------------------------------------------------------------------------------
    // Challenges
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IWardenChallenges
    function fundBounties() external payable nonReentrant {
        bountyPool += msg.value;
        emit BountiesFunded(msg.sender, msg.value);
    }

    /// @inheritdoc IWardenChallenges
    function commitChallenge(bytes32 commitment) external {
        uint256 committedAt = challengeCommitments[msg.sender][commitment];
        if (committedAt != 0) revert ChallengeAlreadyCommitted(commitment, committedAt);
        challengeCommitments[msg.sender][commitment] = block.number;
        emit ChallengeCommitted(msg.sender, commitment);
    }

    /// @inheritdoc IWardenChallenges
    /// @dev A verifier that reverts on the snapshot reverts the challenge: the bond is returned and
    /// the output stands, since only a different output proves fraud.
    function challenge(
        uint64 taskId,
        bytes calldata input,
        bytes calldata output,
        bytes32 traceHash,
        bytes32 nonSignerHash,
        bytes32 salt
    ) external payable nonReentrant returns (bool upheld) {
        if (msg.value != challengeBond) revert WrongBond(msg.value, challengeBond);
        bytes32 outputHash = keccak256(output);
        // Reverts unless the task can be challenged with exactly these preimages and this non-signer
        // hash: together they open the task's commitment hash.
        (address verifier, uint32 referenceBlock) = _taskManager.challengeTarget(
            taskId,
            TaskHashes({
                inputHash: keccak256(input),
                outputHash: outputHash,
                traceHash: traceHash,
                nonSignerHash: nonSignerHash
            })
        );

        // A view call: the verifier cannot change any state on the way.
        bytes32 expectedHash = keccak256(IAgentVerifier(verifier).evaluate(input));
        return _settle(taskId, referenceBlock, nonSignerHash, expectedHash != outputHash, expectedHash, salt);
    }

    /// @inheritdoc IWardenChallenges
    function challengeTrace(
        uint64 taskId,
        bytes calldata input,
        bytes calldata output,
        bytes32[] calldata trace,
        bytes32 nonSignerHash,
        TraceStep calldata step,
        bytes32 salt
    ) external payable nonReentrant returns (bool upheld) {
        if (msg.value != challengeBond) revert WrongBond(msg.value, challengeBond);
        (address verifier, uint32 referenceBlock) = _tracedTarget(taskId, input, output, trace, nonSignerHash);
        // A view call, as `challenge`'s.
        bool wrong = ITracedAgentVerifier(verifier).disproves(input, output, trace, step);
        return _settle(taskId, referenceBlock, nonSignerHash, wrong, keccak256(abi.encode(step)), salt);
    }

    // ------------------------------------------------------------------------------------------
    // Slashing
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IWardenChallenges
    /// @dev Each slash runs in a try/catch so that an operator EigenLayer will never let Warden slash
    /// (`OperatorNotSlashable`: it left the set more than the deallocation delay ago) cannot shield
    /// the others. Any other failure may be temporary (EigenLayer paused slashing, a misconfigured
    /// chain) and reverts the whole batch with `SlashFailed`: the cursor does not move and every
    /// signer stays pending, so nobody can spend a fraud proof during a pause. No operator can make
    /// its own slash fail that way to shield the batch: a slash calls no code an operator controls
    /// (the redistribution recipient is paid only later, when the slash is cleared). A catch caused by too little gas would let a caller skip signers on the cheap (the
    /// 63/64 rule lets the caller go on after its callee ran out), so a failure that consumed most of
    /// the gas it was given, the mark of an out-of-gas callee, reverts everything with
    /// `InsufficientGasForSlash` instead of being reported. The fee is paid last, after every state
    /// change; a caller that refuses it reverts its own batch, and anyone else can send the batch.
    function slashSigners(uint64 taskId, uint32[] calldata nonSignerIndices, uint256 maxOperators)
        external
        nonReentrant
        returns (uint256 slashed, bool done)
    {
        Slashing memory slashing = _slashings[taskId];
        if (!slashing.upheld) revert UnexpectedTaskState(taskId, _taskManager.getTask(taskId).state);
        if (slashing.done) revert SlashingAlreadyComplete(taskId);
        address slasher = _registry.slasher();
        // Otherwise every slash would fail and the cursor would run to the end for nothing.
        if (slasher != address(this)) revert NotRegistrySlasher(slasher);

        uint256 start = slashing.next;
        uint256 end = slashing.end;
        // The first batch (cursor at 0) records the non-signers; later batches refer to the record.
        if (start == 0) _recordNonSigners(taskId, nonSignerIndices, end);
        else if (nonSignerIndices.length != 0) revert NonSignersAlreadyRecorded(taskId);
        if (maxOperators != 0 && maxOperators < end - start) end = start + maxOperators;
        done = end == slashing.end;

        // The cursor moves before the calls: each signer is examined by exactly one batch.
        _slashings[taskId].next = end.toUint32();
        if (done) _slashings[taskId].done = true;

        slashed = _slashRange(taskId, slashing.referenceBlock, start, end);

        // The count depends on the calls' outcomes, so it can only be written after them.
        uint256 total = uint256(slashing.slashed) + slashed;
        _slashings[taskId].slashed = total.toUint32();
        if (done) emit SlashingCompleted(taskId, total);

        // Only signers that lost shares earn a fee: nobody is paid for walking empty allocations.
        uint256 fee = _takeFromPool(slashed * slashFee);
        if (fee != 0) {
            emit SlashingFeePaid(taskId, msg.sender, fee);
            (bool paid,) = msg.sender.call{value: fee}("");
            if (!paid) revert PayoutFailed(msg.sender, fee);
        }
    }

    /// @inheritdoc IWardenChallenges
    /// @dev The task's input hash is shown, not read: a committed task keeps only its commitment hash.
    /// The task manager's `slashingContext` checks it (with the committed output and non-signer hashes
    /// when committed) and reverts with `UnknownTask` or `CommitmentMismatch`; the digests are then
    /// exactly those the task's operators sign.
    function slashEquivocation(
        uint64 taskId,
        TaskHashes calldata task,
        BLS.G1Point calldata publicKey,
        SignedOutput calldata first,
        SignedOutput calldata second
    ) external nonReentrant {
        (, uint32 referenceBlock) = _taskManager.slashingContext(taskId, task);
        if (first.outputHash == second.outputHash && first.traceHash == second.traceHash) {
            revert SameOutput();
        }
        (bytes32 operatorId, BLS.G1Point memory key) = _requireMember(taskId, referenceBlock, publicKey);
        _requireSignedOutput(taskId, task.inputHash, key, first, 0);
        _requireSignedOutput(taskId, task.inputHash, key, second, 1);
        _slashEquivocator(taskId, operatorId, first, second);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IWardenChallenges
    function taskManager() external view returns (address) {
        return address(_taskManager);
    }

    /// @inheritdoc IWardenChallenges
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IWardenChallenges
    function sealChallenge(address challenger, uint64 taskId, bytes32 expectedOutputHash, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(challenger, taskId, expectedOutputHash, salt));
    }

    /// @inheritdoc IWardenChallenges
    function slashingProgress(uint64 taskId) external view returns (uint32 nextIndex, bool done) {
        Slashing memory slashing = _slashings[taskId];
        return (slashing.next, slashing.done);
    }

    /// @inheritdoc IWardenChallenges
    function isRecordedNonSigner(uint64 taskId, uint256 index) external view returns (bool) {
        return (_nonSignerBits[taskId][index >> 8] >> (index & 255)) & 1 != 0;
    }

    /// @inheritdoc IWardenChallenges
    /// @dev The run starting last at or before `slashId` (recent runs first: restitution clears
    /// recent slashes), if it reaches that far.
    function taskOfSlash(uint256 slashId) external view returns (uint64 taskId) {
        if (slashId > type(uint48).max) return 0;
        // Checked just above: the id fits 48 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 run = _slashRuns.upperLookupRecent(uint48(slashId));
        // The packing: the task in bits 0-63, the run's end in bits 64-127.
        // forge-lint: disable-next-line(unsafe-typecast)
        if (slashId < run >> 64) taskId = uint64(run);
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    /// @dev `challengeTarget` for a challenge that shows the whole committed trace.
    function _tracedTarget(
        uint64 taskId,
        bytes calldata input,
        bytes calldata output,
        bytes32[] calldata trace,
        bytes32 nonSignerHash
    ) private view returns (address verifier, uint32 referenceBlock) {
        return _taskManager.challengeTarget(
            taskId,
            TaskHashes({
                inputHash: keccak256(input),
                outputHash: keccak256(output),
                traceHash: TaskCommitments.hashTrace(trace),
                nonSignerHash: nonSignerHash
            })
        );
    }

    /// @dev A judged challenge's outcome: a wrong output is upheld (the task Fraudulent, the bond and
    /// any bounty paid back, last), a right one forfeits the bond to the pool. `sealedValue` is what the
    /// challenger's commitment names.
    function _settle(
        uint64 taskId,
        uint32 referenceBlock,
        bytes32 nonSignerHash,
        bool wrong,
        bytes32 sealedValue,
        bytes32 salt
    ) private returns (bool) {
        if (!wrong) {
            bountyPool += msg.value;
            emit ChallengeRejected(taskId, msg.sender, msg.value);
            return false;
        }
        _uphold(taskId, referenceBlock, nonSignerHash);
        uint256 payout = msg.value + _bounty(taskId, sealedValue, salt);
        emit ChallengeUpheld(taskId, msg.sender, sealedValue, payout);
        (bool paid,) = msg.sender.call{value: payout}("");
        if (!paid) revert PayoutFailed(msg.sender, payout);
        return true;
    }

    /// @dev Marks the task Fraudulent in the task manager and opens its slashing: the cursor, the id
    /// count and the reference block, and the non-signer hash the first batch checks the non-signers
    /// against (nothing to keep when everyone signed).
    function _uphold(uint64 taskId, uint32 referenceBlock, bytes32 nonSignerHash) private {
        _taskManager.markFraudulent(taskId);
        _slashings[taskId] = Slashing({
            next: 0,
            end: _registry.operatorIdCount().toUint32(),
            slashed: 0,
            done: false,
            upheld: true,
            referenceBlock: referenceBlock
        });
        if (nonSignerHash != 0) _nonSignerHashes[taskId] = nonSignerHash;
        challengerOf[taskId] = msg.sender;
    }

    /// @dev The bounty of an upheld challenge: paid from the pool (as far as it goes) only to a caller
    /// that committed to it in an earlier block, which shows it knew before its reveal was public. The
    /// commitment is consumed.
    function _bounty(uint64 taskId, bytes32 expectedHash, bytes32 salt) private returns (uint256) {
        bytes32 commitment = sealChallenge(msg.sender, taskId, expectedHash, salt);
        uint256 committedAt = challengeCommitments[msg.sender][commitment];
        if (committedAt == 0 || committedAt >= block.number) return 0;
        delete challengeCommitments[msg.sender][commitment];
        return _takeFromPool(challengeBounty);
    }

    /// @dev Takes up to `amount` from the bounty pool and returns what it took.
    function _takeFromPool(uint256 amount) private returns (uint256 taken) {
        uint256 pool = bountyPool;
        taken = amount < pool ? amount : pool;
        if (taken != 0) bountyPool = pool - taken;
    }

    /// @dev Records the task's non-signers as a bitmap over the registry's operator ids. The indices
    /// must name, in order, exactly the ids the task was committed with (sorted by id, strictly
    /// ascending): their ids hash to the non-signer hash the upheld challenge showed, which its
    /// commitment hash binds, or nothing is recorded. Every index is below `end`, the id count when
    /// the challenge was upheld. The kept hash is then cleared: the bitmap replaces it.
    function _recordNonSigners(uint64 taskId, uint32[] calldata nonSignerIndices, uint256 end) private {
        bytes32 nonSignerHash = _nonSignerHashes[taskId];
        uint256 count = nonSignerIndices.length;
        bytes32[] memory ids = new bytes32[](count);
        mapping(uint256 => uint256) storage bits = _nonSignerBits[taskId];
        for (uint256 i; i < count; ++i) {
            uint256 index = nonSignerIndices[i];
            if (index >= end) revert NonSignerIndexOutOfRange(index, end);
            ids[i] = _registry.operatorIds(index);
            // Bit `index % 256` of word `index / 256`: one shifted left by the bit's position.
            // forge-lint: disable-next-line(incorrect-shift)
            bits[index >> 8] |= 1 << (index & 255);
        }
        if (OperatorIds.hashMemory(ids) != nonSignerHash) revert NonSignersMismatch(taskId);
        if (nonSignerHash != 0) delete _nonSignerHashes[taskId];
        emit NonSignersRecorded(taskId, count);
    }

    /// @dev Slashes the signers among operator ids [start, end): those registered at the reference
    /// block and not marked in the task's non-signer bitmap. Returns how many lost shares. The slash
    /// ids EigenLayer hands out are recorded as runs of consecutive ids, one per batch as a rule.
    function _slashRange(uint64 taskId, uint32 referenceBlock, uint256 start, uint256 end)
        private
        returns (uint256 slashed)
    {
        string memory description = _description("fraud", taskId);
        mapping(uint256 => uint256) storage nonSignerBits = _nonSignerBits[taskId];
        uint256 bits;
        // The run of slash ids being built: [run[0], run[1]).
        uint256[2] memory run;
        for (uint256 i = start; i < end; ++i) {
            if (i == start || i & 255 == 0) bits = nonSignerBits[i >> 8];
            if ((bits >> (i & 255)) & 1 != 0) continue;
            (bool took, uint256 slashId) = _slashIndex(taskId, referenceBlock, i, description);
            if (took) ++slashed;
            if (slashId == 0) continue;
            // An id that does not follow the run starts a new one (EigenLayer does not promise
            // consecutive ids; none is assumed).
            if (slashId != run[1]) {
                if (run[1] != 0) _recordSlashRun(run[0], run[1], taskId);
                run[0] = slashId;
            }
            run[1] = slashId + 1;
        }
        if (run[1] != 0) _recordSlashRun(run[0], run[1], taskId);
    }

    /// @dev Slashes the operator at `index` of the registry's id list if it was in the set at the
    /// reference block (a signer, the bitmap having ruled out the non-signers): one registry call
    /// looks the operator up, checks its membership and slashes it. Returns whether EigenLayer took
    /// shares, and the slash id (zero when there was no slash, or EigenLayer refused it for good: its
    /// ids count from 1).
    ///
    /// A catch caused by too little gas would let a caller skip signers on the cheap (the 63/64 rule
    /// lets the caller go on after its callee ran out), so a failure that consumed most of the gas it
    /// was given, the mark of an out-of-gas callee, reverts the batch with `InsufficientGasForSlash`;
    /// a refusal that can never succeed is reported with `SignerSlashFailed`, and any other reverts
    /// the batch, to be sent again.
    function _slashIndex(uint64 taskId, uint32 referenceBlock, uint256 index, string memory description)
        private
        returns (bool took, uint256 slashId)
    {
        uint256 gasBefore = gasleft();
        if (gasBefore < MIN_GAS_PER_SLASH) revert InsufficientGasForSlash();
        try _registry.slashOperatorAt(index, referenceBlock, slashWad, description) returns (
            bytes32 operatorId, address operator, bool member, uint256 id, uint256 shares
        ) {
            if (!member) return (false, 0);
            slashId = id;
            took = shares != 0;
            if (took) emit SignerSlashed(taskId, operator, operatorId, slashId, shares);
            else emit SignerNothingToSlash(taskId, operator, operatorId);
        } catch (bytes memory reason) {
            // Running out of gas at call depth d hands back about d/64 of the gas (each frame
            // keeps 1/64 of what it forwards), and EigenLayer's slash runs several frames deep
            // through proxies: a quarter leaves room for that, while EigenLayer's refusals fail
            // early, on a small part of it.
            if (gasleft() < gasBefore / 4) revert InsufficientGasForSlash();
            (, address operator,) = _registry.operatorAtIndex(index, referenceBlock);
            if (!_isFinalRefusal(reason)) revert SlashFailed(operator, reason);
            emit SignerSlashFailed(taskId, operator, reason);
        }
    }

    /// @dev Records that slash ids [first, end) punished `taskId`.
    function _recordSlashRun(uint256 first, uint256 end, uint64 taskId) private {
        _slashRuns.push(first.toUint48(), (uint208(end.toUint64()) << 64) | taskId);
    }

    /// @dev Whether a failed slash can never succeed, so the signer is dealt with: EigenLayer's
    /// `OperatorNotSlashable` (the operator left the set and its stake is no longer slashable).
    function _isFinalRefusal(bytes memory reason) private pure returns (bool) {
        if (reason.length < 4) return false;
        // The selector is the first four bytes, which the length check guarantees exist.
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes4 selector = bytes4(reason);
        return selector == IAllocationManagerSlashing.OperatorNotSlashable.selector;
    }

    /// @dev The operator id of `publicKey`, which must have been in the set at the task's reference
    /// block and not yet slashed for equivocating on the task; the key, copied to memory.
    function _requireMember(uint64 taskId, uint32 referenceBlock, BLS.G1Point calldata publicKey)
        private
        view
        returns (bytes32 operatorId, BLS.G1Point memory key)
    {
        key = publicKey;
        operatorId = WardenDigests.publicKeyHash(key);
        (bool registered,) = _registry.operatorAt(operatorId, referenceBlock);
        // A key in the set at the reference block was validated (subgroup, not infinity) when it
        // registered, so it can be used as is.
        if (!registered) revert OperatorNotInSet(operatorId, referenceBlock);
        if (equivocationSlashed[taskId][operatorId]) revert EquivocationAlreadySlashed(taskId, operatorId);
    }

    /// @dev Records and slashes a proven equivocation.
    function _slashEquivocator(
        uint64 taskId,
        bytes32 operatorId,
        SignedOutput calldata first,
        SignedOutput calldata second
    ) private {
        address operator = _registry.operatorOf(operatorId);
        equivocationSlashed[taskId][operatorId] = true;
        // No try/catch: evidence EigenLayer refuses to act on must not be spent.
        (uint256 slashId, uint256 shares) =
            _registry.slashOperator(operator, slashWad, _description("equivocation", taskId));
        // After the call: the slash id and what EigenLayer took exist only once it answered.
        _recordSlashRun(slashId, slashId + 1, taskId);
        emit EquivocationSlashed(
            taskId,
            operator,
            operatorId,
            first.outputHash,
            first.traceHash,
            second.outputHash,
            second.traceHash,
            slashId,
            shares
        );
    }

    /// @dev `_requireSignature` for one signed output of equivocation evidence.
    function _requireSignedOutput(
        uint64 taskId,
        bytes32 inputHash,
        BLS.G1Point memory publicKey,
        SignedOutput calldata signed,
        uint256 index
    ) private view {
        bytes32 digest = _taskManager.outputDigest(taskId, inputHash, signed.outputHash, signed.traceHash);
        _requireSignature(publicKey, digest, signed.signature, index);
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
}
