// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "../../src/WardenRegistry.sol";
import {WardenTaskManager} from "../../src/WardenTaskManager.sol";
import {WardenVault} from "../../src/WardenVault.sol";
import {AgentActions} from "../../src/agent/AgentTypes.sol";
import {ITaskManager, Task, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {IWardenChallenges} from "../../src/interfaces/IWardenChallenges.sol";
import {IWardenRegistry} from "../../src/interfaces/IWardenRegistry.sol";
import {IWardenVault} from "../../src/interfaces/IWardenVault.sol";
import {OneToOneStrategy} from "../../src/devnet/OneToOneStrategy.sol";
import {IAllocationManagerTest, IDelegationManagerTest} from "../lib/EigenLayerTest.sol";
import {RegistryFixture} from "../lib/RegistryFixture.sol";
import {Vm} from "../lib/Vm.sol";
import {ActionProbe} from "./VaultMocks.sol";

/// @dev EigenLayer's `Pausable` (v1.3.0).
interface IPausableSlashing {
    function pause(uint256 newPausedStatus) external;
    function unpause(uint256 newPausedStatus) external;
}

/// @dev Drives one agent's tasks at random: opens, commits with valid quorums and with invalid ones
/// (too little weight, a signature over another output, a lying non-signer list), rolls blocks,
/// vetoes, challenges, executes (sometimes with the wrong bytes), expires, pauses. It reuses the registry
/// fixture's key and signing helpers (the operators were registered by the test's setUp with the same
/// deterministic keys). Every handler call records the logs it causes, so the ghost log holds every
/// ActionExecuted the vault ever emitted, whichever call caused it, and every task's snapshot.
///
/// Once given EigenLayer (`useEigenLayer`), it also pauses and unpauses EigenLayer's slashing and
/// slashes the signers of fraudulent tasks in random batches, checking as it goes that a batch
/// during a pause reverts and leaves every signer pending, and that a batch outside one takes shares
/// from every signer it examines that still had slashable stake.
contract TaskManagerHandler is RegistryFixture {
    struct Execution {
        uint64 taskId;
        uint256 blockNumber;
    }

    WardenTaskManager internal immutable tm;
    IWardenChallenges internal immutable challengesContract;
    WardenVault internal immutable vaultContract;
    ActionProbe internal immutable probe;
    uint64 internal immutable agent;
    address internal immutable vaultOwner;

    /// @dev forge does not carry vm.roll/vm.warp from one handler call to the next in every
    /// version, so the handler keeps the clock and restores it on entry.
    uint256 public currentBlock;
    uint256 public currentTime;

    Execution[] internal _executions;
    mapping(uint64 taskId => bytes output) public committedOutput;
    /// @dev Each task's snapshot from its TaskOpened event: `execute` takes its preimage.
    mapping(uint64 taskId => bytes input) public inputOf;
    mapping(uint64 taskId => bool) public committedByValidQuorum;
    mapping(uint64 taskId => bool) public vetoed;
    /// @dev Tasks whose committed output a challenge proved wrong.
    mapping(uint64 taskId => bool) public fraudulent;
    mapping(uint64 taskId => uint256) public executionCount;
    /// @dev Set if an invalid commitment, or an execution of bytes that were not committed, succeeded.
    bool public violation;
    string public violationReason;

    uint256 public opened;
    uint256 public commits;
    uint256 public rejectedCommits;
    uint256 public executions;
    uint256 public vetoes;
    uint256 public expiries;
    uint256 public challengesUpheld;
    uint256 public challengesRejected;

    /// @dev EigenLayer's pauser (the test contract that deployed EigenLayer); zero until
    /// `useEigenLayer`, and the slashing actions do nothing until then.
    address internal eigenPauser;
    bool public slashingPaused;
    /// @dev Each committed task's signers and its non-signers' ids as `OutputCommitted` emitted them.
    mapping(uint64 taskId => address[]) internal _signersOf;
    mapping(uint64 taskId => bytes32[]) internal _nonSignerIdsOf;
    /// @dev Operators that signed an output a challenge then proved wrong: the only ones that may
    /// ever lose shares.
    mapping(address operator => bool) public provenFraudSigner;
    /// @dev Tasks proven fraudulent, in order.
    uint64[] internal _fraudulentTasks;
    uint256 public slashBatches;
    uint256 public pausedSlashAttempts;
    uint256 public signersSlashed;

    modifier tracked() {
        vm.roll(currentBlock);
        vm.warp(currentTime);
        vm.recordLogs();
        _;
        _collectLogs();
    }

    constructor(WardenTaskManager tm_, WardenVault vault_, ActionProbe probe_, uint64 agentId_) {
        tm = tm_;
        challengesContract = IWardenChallenges(tm_.challenges());
        vaultContract = vault_;
        probe = probe_;
        agent = agentId_;
        vaultOwner = vault_.owner();
        currentBlock = block.number;
        currentTime = block.timestamp;
    }

    // ------------------------------------------------------------------------------------------
    // Actions
    // ------------------------------------------------------------------------------------------

    /// @dev Waits up to a tick interval, then tries to open a task.
    function openTask(uint256 wait) external tracked {
        _advance(bound(wait, 0, 6));
        _tryOpen();
    }

    /// @dev A quorum of at least 70 % (every set that leaves out at most one of Alice, Bob, Carol).
    function commitValid(uint256 seed) external tracked {
        // Opening first, when possible, keeps the sequences short enough to reach execution.
        if (!_isOpen(_latest())) _tryOpen();
        uint64 taskId = _latest();
        if (taskId == 0 || !_isOpen(taskId)) return;
        bytes memory output = _output(taskId, seed);
        address[] memory signers;
        address[] memory nonSigners;
        uint256 pick = seed % 4;
        if (pick == 0) (signers, nonSigners) = (list(ALICE, BOB, CAROL, DAVE), new address[](0));
        else if (pick == 1) (signers, nonSigners) = (list(BOB, CAROL, DAVE), list(ALICE));
        else if (pick == 2) (signers, nonSigners) = (list(ALICE, CAROL, DAVE), list(BOB));
        else (signers, nonSigners) = (list(ALICE, BOB, DAVE), list(CAROL));
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            _quorum(taskId, output, signers, nonSigners);
        try tm.commitOutput(taskId, output, keys, signature) {
            ++commits;
            committedOutput[taskId] = output;
            committedByValidQuorum[taskId] = true;
            _signersOf[taskId] = signers;
        } catch {}
    }

    /// @dev Valid signatures of too little weight: at most 60 % of the stake.
    function commitInsufficient(uint256 seed) external tracked {
        uint64 taskId = _latest();
        if (taskId == 0 || !_isOpen(taskId)) return;
        bytes memory output = _output(taskId, seed);
        address[] memory signers;
        address[] memory nonSigners;
        uint256 pick = seed % 3;
        if (pick == 0) (signers, nonSigners) = (list(ALICE, BOB, CAROL), list(DAVE));
        else if (pick == 1) (signers, nonSigners) = (list(BOB, DAVE), list(ALICE, CAROL));
        else (signers, nonSigners) = (list(ALICE), list(BOB, CAROL, DAVE));
        // Slashing moves weight: a set that was too light may now hold the threshold.
        if (_meetsThreshold(taskId, signers)) return;
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            _quorum(taskId, output, signers, nonSigners);
        _expectRejectedCommit(taskId, output, keys, signature, "insufficient quorum committed");
    }

    /// @dev Full weight but a bad signature: over another output, or with Dave's signature included
    /// while he is declared a non-signer.
    function commitWrongSignature(uint256 seed) external tracked {
        uint64 taskId = _latest();
        if (taskId == 0 || !_isOpen(taskId)) return;
        bytes memory output = _output(taskId, seed);
        BLS.G1Point[] memory keys;
        BLS.G2Point memory signature;
        if (seed % 2 == 0) {
            bytes memory other = keccak256(output) == keccak256(AgentActions.hold())
                ? _output(taskId, 1)
                : AgentActions.hold();
            (keys, signature) = _quorum(taskId, other, list(ALICE, BOB, CAROL, DAVE), new address[](0));
        } else {
            keys = nonSignersOf(list(ALICE));
            signature = signBy(list(ALICE, BOB, CAROL, DAVE), tm.outputDigest(taskId, keccak256(output)));
        }
        _expectRejectedCommit(taskId, output, keys, signature, "invalid signature committed");
    }

    function roll(uint256 blocks) external tracked {
        _advance(bound(blocks, 1, 8));
    }

    function veto(uint256 wait) external tracked {
        _advance(bound(wait, 0, 3));
        uint64 taskId = _latest();
        if (taskId == 0) return;
        vm.prank(vaultOwner);
        try vaultContract.veto(taskId) {
            ++vetoes;
            vetoed[taskId] = true;
        } catch {}
    }

    /// @dev Usually first waits for a committed task's deadline to pass (to a random block around
    /// the execution window), sometimes tries at once; sometimes with the wrong bytes.
    function execute(uint256 seed) external tracked {
        uint64 taskId = _latest();
        if (taskId == 0) return;
        Task memory task = tm.getTask(taskId);
        if (task.state == TaskState.Committed && seed % 5 != 0 && block.number <= task.deadline) {
            _advance(task.deadline - block.number + bound(seed >> 8, 0, 12));
        }
        bool honest = seed % 4 != 0;
        bytes memory output = honest ? committedOutput[taskId] : _output(taskId, seed);
        try tm.execute(taskId, inputOf[taskId], output) {
            ++executions;
            if (!honest && keccak256(output) != keccak256(committedOutput[taskId])) {
                _violate("executed bytes that were not committed");
            }
        } catch {}
    }

    /// @dev Challenges the latest task with its committed output. The stub verifier always holds, so
    /// a challenge must be upheld exactly when the committed output is not the hold.
    function challenge(uint256 wait) external tracked {
        _advance(bound(wait, 0, 10));
        uint64 taskId = _latest();
        if (taskId == 0 || tm.getTask(taskId).state != TaskState.Committed) return;
        bytes memory output = committedOutput[taskId];
        uint256 bond = challengesContract.challengeBond();
        vm.deal(address(this), address(this).balance + bond);
        try challengesContract.challenge{value: bond}(taskId, inputOf[taskId], output, bytes32(0)) returns (
            bool upheld
        ) {
            if (upheld != (keccak256(output) != keccak256(AgentActions.hold()))) {
                _violate("challenge verdict");
            }
            if (upheld) {
                fraudulent[taskId] = true;
                ++challengesUpheld;
                _fraudulentTasks.push(taskId);
                address[] memory signers = _signersOf[taskId];
                for (uint256 i; i < signers.length; ++i) {
                    provenFraudSigner[signers[i]] = true;
                }
            } else {
                ++challengesRejected;
            }
        } catch {}
    }

    /// @dev Takes challengers' payouts.
    receive() external payable {}

    function expire() external tracked {
        uint64 taskId = _latest();
        if (taskId == 0) return;
        try tm.expire(taskId) {
            ++expiries;
        } catch {}
    }

    function togglePause() external tracked {
        vm.startPrank(vaultOwner);
        if (vaultContract.paused()) vaultContract.unpause();
        else vaultContract.pause();
        vm.stopPrank();
    }

    /// @dev Gives the handler the EigenLayer core and registry the test deployed (the handler's own
    /// fixture state is empty), and EigenLayer's pauser.
    function useEigenLayer(
        IAllocationManagerTest allocationManager_,
        IDelegationManagerTest delegation_,
        OneToOneStrategy strategy_,
        WardenRegistry registry_,
        address pauser
    ) external {
        allocationManager = allocationManager_;
        delegation = delegation_;
        strategy = strategy_;
        registry = registry_;
        eigenPauser = pauser;
    }

    /// @dev EigenLayer's pauser pauses slashing (`PAUSED_OPERATOR_SLASHING`, bit 1), or unpauses.
    function toggleSlashingPause() external tracked {
        if (eigenPauser == address(0)) return;
        vm.prank(eigenPauser);
        if (slashingPaused) IPausableSlashing(address(allocationManager)).unpause(0);
        else IPausableSlashing(address(allocationManager)).pause(1 << 1);
        slashingPaused = !slashingPaused;
    }

    /// @dev A `slashSigners` batch of 1 to 4 operators on the oldest fraudulent task whose slashing
    /// is not complete.
    function slash(uint256 seed) external tracked {
        if (eigenPauser == address(0)) return;
        (uint64 taskId, bool found) = _pendingSlashing();
        if (!found) return;
        (uint32 start,) = challengesContract.slashingProgress(taskId);
        uint256 batch = bound(seed, 1, 4);
        uint256 end = start + batch;
        uint256 count = registry.operatorIdCount();
        if (end > count) end = count;
        uint32 referenceBlock = tm.getTask(taskId).referenceBlock;
        uint256[] memory slashableBefore = new uint256[](end - start);
        bool examinesASigner;
        for (uint256 i = start; i < end; ++i) {
            (bytes32 id, address operator, bool registered) = registry.operatorAtIndex(i, referenceBlock);
            if (registered && !_isNonSigner(taskId, id)) {
                examinesASigner = true;
                slashableBefore[i - start] = slashableStake(operator);
            }
        }
        try challengesContract.slashSigners(taskId, _nonSignerIdsOf[taskId], batch) returns (
            uint256 slashed, bool
        ) {
            if (slashingPaused && examinesASigner) _violate("a slashing batch succeeded during a pause");
            ++slashBatches;
            signersSlashed += slashed;
            for (uint256 i = start; i < end; ++i) {
                (, address operator,) = registry.operatorAtIndex(i, referenceBlock);
                if (slashableBefore[i - start] != 0 && slashableStake(operator) != 0) {
                    _violate("a signer with slashable stake kept it");
                }
            }
        } catch {
            if (!slashingPaused) _violate("a slashing batch reverted outside a pause");
            ++pausedSlashAttempts;
            (uint32 after_,) = challengesContract.slashingProgress(taskId);
            if (after_ != start) _violate("a reverted batch moved the cursor");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Ghost log
    // ------------------------------------------------------------------------------------------

    function executionLength() external view returns (uint256) {
        return _executions.length;
    }

    function executionAt(uint256 index) external view returns (Execution memory) {
        return _executions[index];
    }

    /// @dev The fuzzed entry points; committing and executing are listed twice to weigh them up,
    /// as most interesting transitions need a commitment first.
    function selectors() external view returns (bytes4[] memory s) {
        s = new bytes4[](eigenPauser == address(0) ? 12 : 15);
        s[0] = this.openTask.selector;
        s[1] = this.commitValid.selector;
        s[2] = this.commitValid.selector;
        s[3] = this.commitInsufficient.selector;
        s[4] = this.commitWrongSignature.selector;
        s[5] = this.roll.selector;
        s[6] = this.veto.selector;
        s[7] = this.execute.selector;
        s[8] = this.execute.selector;
        s[9] = this.expire.selector;
        s[10] = this.togglePause.selector;
        s[11] = this.challenge.selector;
        if (s.length == 15) {
            s[12] = this.toggleSlashingPause.selector;
            s[13] = this.slash.selector;
            s[14] = this.challenge.selector;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _advance(uint256 blocks) private {
        currentBlock += blocks;
        currentTime += blocks * 12;
        vm.roll(currentBlock);
        vm.warp(currentTime);
    }

    /// @dev Whether `signers` hold the threshold of the set's weight at the task's reference block
    /// (with the fixture's stakes as long as nothing was slashed).
    function _meetsThreshold(uint64 taskId, address[] memory signers) private view returns (bool) {
        if (signersSlashed == 0) return false;
        uint32 referenceBlock = tm.getTask(taskId).referenceBlock;
        (, uint96 totalWeight,) = registry.quorumAt(referenceBlock);
        uint256 signed;
        for (uint256 i; i < signers.length; ++i) {
            (, uint96 weight) = registry.operatorAt(idOf(pkOf(signers[i])), referenceBlock);
            signed += weight;
        }
        return signed * 10_000 >= uint256(totalWeight) * tm.getAgent(agent).thresholdBps;
    }

    function _pendingSlashing() private view returns (uint64 taskId, bool found) {
        for (uint256 i; i < _fraudulentTasks.length; ++i) {
            (, bool done) = challengesContract.slashingProgress(_fraudulentTasks[i]);
            if (!done) return (_fraudulentTasks[i], true);
        }
    }

    function _isNonSigner(uint64 taskId, bytes32 id) private view returns (bool) {
        bytes32[] storage ids = _nonSignerIdsOf[taskId];
        for (uint256 i; i < ids.length; ++i) {
            if (ids[i] == id) return true;
        }
        return false;
    }

    /// @dev The keeper's part: weights older than half the registry's bound are refreshed a block
    /// before the opening (the reference block is the one before it).
    function _tryOpen() private {
        IWardenRegistry registry_ = IWardenRegistry(tm.registry());
        // Test block numbers stay far below 2^32.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint32 current = uint32(currentBlock);
        if (current - registry_.weightsRefreshedAt(current) > registry_.maxWeightAge() / 2) {
            registry_.refreshWeights();
            _advance(1);
        }
        try tm.openTask(agent) {
            ++opened;
        } catch {}
    }

    function _collectLogs() private {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(tm) && logs[i].topics[0] == ITaskManager.TaskOpened.selector) {
                (,, bytes memory input) = abi.decode(logs[i].data, (uint32, bytes32, bytes));
                inputOf[uint64(uint256(logs[i].topics[1]))] = input;
            }
            if (logs[i].emitter == address(tm) && logs[i].topics[0] == ITaskManager.OutputCommitted.selector)
            {
                (,,,,, bytes32[] memory nonSignerIds) =
                    abi.decode(logs[i].data, (bytes32, uint256, uint256, uint32, bytes, bytes32[]));
                _nonSignerIdsOf[uint64(uint256(logs[i].topics[1]))] = nonSignerIds;
            }
            if (
                logs[i].emitter == address(vaultContract)
                    && logs[i].topics[0] == IWardenVault.ActionExecuted.selector
            ) {
                uint64 taskId = uint64(uint256(logs[i].topics[1]));
                _executions.push(Execution({taskId: taskId, blockNumber: block.number}));
                ++executionCount[taskId];
            }
        }
    }

    function _expectRejectedCommit(
        uint64 taskId,
        bytes memory output,
        BLS.G1Point[] memory keys,
        BLS.G2Point memory signature,
        string memory reason
    ) private {
        try tm.commitOutput(taskId, output, keys, signature) {
            _violate(reason);
        } catch {
            ++rejectedCommits;
        }
    }

    function _violate(string memory reason) private {
        violation = true;
        violationReason = reason;
    }

    function _quorum(
        uint64 taskId,
        bytes memory output,
        address[] memory signers,
        address[] memory nonSigners
    ) private view returns (BLS.G1Point[] memory keys, BLS.G2Point memory signature) {
        keys = nonSignersOf(nonSigners);
        signature = signBy(signers, tm.outputDigest(taskId, keccak256(output)));
    }

    /// @dev A probe call naming the task (so the probe's record can be matched), or a hold.
    function _output(uint64 taskId, uint256 seed) private view returns (bytes memory) {
        if (seed % 3 == 0) return AgentActions.hold();
        return
            AgentActions.encode(
                AgentActions.BUY, address(probe), 0, abi.encodeCall(ActionProbe.hit, (taskId))
            );
    }

    function _latest() private view returns (uint64) {
        return tm.agentStatus(agent).latestTaskId;
    }

    function _isOpen(uint64 taskId) private view returns (bool) {
        Task memory task = tm.getTask(taskId);
        return task.state == TaskState.Open;
    }
}
