// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "../../src/WardenRegistry.sol";
import {WardenTaskManager} from "../../src/WardenTaskManager.sol";
import {WardenVault} from "../../src/WardenVault.sol";
import {AgentActions} from "../../src/agent/AgentTypes.sol";
import {IUniswapV2Router} from "../../src/interfaces/IUniswapV2.sol";
import {ITaskManager, Task, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {IWardenChallenges} from "../../src/interfaces/IWardenChallenges.sol";
import {IWardenRegistry} from "../../src/interfaces/IWardenRegistry.sol";
import {IWardenVault} from "../../src/interfaces/IWardenVault.sol";
import {OneToOneStrategy} from "../../src/devnet/OneToOneStrategy.sol";
import {OperatorSet} from "../../src/interfaces/IEigenLayer.sol";
import {
    Allocation,
    IAllocationManagerTest,
    IDelegationManagerTest,
    IStrategyManagerTest,
    RegisterParams,
    Withdrawal
} from "../lib/EigenLayerTest.sol";
import {RegistryFixture} from "../lib/RegistryFixture.sol";
import {TestToken} from "../lib/TestToken.sol";
import {Vm} from "../lib/Vm.sol";
import {ActionProbe} from "./VaultMocks.sol";

/// @dev EigenLayer's `Pausable`.
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

    /// @dev An executed action's entry in the task manager's value-at-risk ledger, as
    /// `ExposureRecorded` reported it, with the weight that signed it.
    struct Exposure {
        uint64 taskId;
        uint256 value;
        uint256 signedWeight;
        uint256 provableUntil;
    }

    /// @dev A signer a slashing batch examines, as it stood just before the batch.
    struct Examined {
        address operator;
        bytes32 id;
        bool slashable;
        uint256 stake;
    }

    /// @dev Bounds the per-call loops over operators.
    uint256 internal constant MAX_KNOWN_OPERATORS = 10;

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
    /// @dev Each committed task's non-signer hash (zero when everyone signed), as the commitment bound it.
    mapping(uint64 taskId => bytes32 nonSignerHash) public committedNonSignerHash;
    /// @dev Each task's snapshot from its TaskOpened event: `execute` takes its preimage.
    mapping(uint64 taskId => bytes input) public inputOf;
    mapping(uint64 taskId => bool) public committedByValidQuorum;
    mapping(uint64 taskId => bool) public vetoed;
    /// @dev Tasks whose committed output a challenge proved wrong.
    mapping(uint64 taskId => bool) public fraudulent;
    /// @dev Tasks proven fraudulent after their action executed.
    mapping(uint64 taskId => bool) public provenAfterExecution;
    /// @dev Every entry the value-at-risk ledger received, in order.
    Exposure[] internal _exposures;
    uint256 public trades;
    uint256 public postExecutionFrauds;
    /// @dev The market the `trade` action moves; zero until `useMarket`.
    IUniswapV2Router internal _router;
    address internal _pair;
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

    /// @dev Every EigenLayer operator the handler knows: the fixture's four, then the ones it created,
    /// registered or refused. The tokens minted for each one's deposits: an operator that never signed
    /// a proven fraud holds exactly that, as tokens, delegated shares or queued withdrawals.
    address[] internal _knownOperators;
    mapping(address operator => uint256) public minted;
    /// @dev Whether the operator is in Warden's set now, and the block it last left it (ejected or on
    /// its own): EigenLayer keeps it slashable DEALLOCATION_DELAY blocks after that.
    mapping(address operator => bool) public member;
    mapping(address operator => uint256) internal _leftAt;
    /// @dev The block of each operator's latest examination by a slashing batch: stake the registry
    /// counted before it may be gone for a legitimate reason.
    mapping(address operator => uint256) internal _lastSlashedAt;
    /// @dev Every block in which someone refreshed the weights, or a slash of a member voided them,
    /// in order, with the refresh block in effect from then on (0: voided): the ghost of
    /// `StaleWeights`.
    uint256[] internal _refreshBlocks;
    uint256[] internal _refreshValues;
    /// @dev The keeper lapses at times: quorums on stale weights must then be refused.
    bool public keeperAsleep;
    /// @dev The ejection rate limit's window, as the registry documents it.
    uint256 internal _ejectionWindowStart;
    uint256 internal _ejectionsInWindow;

    uint256 public withdrawalsQueued;
    uint256 public withdrawalsCompleted;
    uint256 public deallocations;
    uint256 public deallocationJumps;
    uint256 public registrations;
    uint256 public refusedRegistrations;
    uint256 public departures;
    uint256 public ejections;
    uint256 public refusedEjections;
    uint256 public staleCommitsRefused;
    /// @dev Signers whose signed weight was checked against what EigenLayer lets Warden slash until
    /// the task's slashing deadline, and signers whose slash was checked against the weight counted.
    uint256 public horizonChecks;
    uint256 public slashedAsCounted;

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
        // Test block numbers stay far below 2^32.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 refreshed = IWardenRegistry(tm_.registry()).weightsRefreshedAt(uint32(block.number));
        _refreshBlocks.push(refreshed);
        _refreshValues.push(refreshed);
    }

    // ------------------------------------------------------------------------------------------
    // Actions
    // ------------------------------------------------------------------------------------------

    /// @dev Waits up to a tick interval, then tries to open a task.
    function openTask(uint256 wait) external tracked {
        _advance(bound(wait, 0, 6));
        _tryOpen();
    }

    /// @dev Every member at the reference block signs but at most one: usually the threshold.
    function commitValid(uint256 seed) external tracked {
        // Opening first, when possible, keeps the sequences short enough to reach execution.
        if (!_isOpen(_latest())) _tryOpen();
        uint64 taskId = _latest();
        if (taskId == 0 || !_isOpen(taskId)) return;
        address[] memory members = _membersAt(tm.getTask(taskId).referenceBlock);
        uint256 left = seed % (members.length + 2);
        _commitAndCheck(taskId, _output(taskId, seed), members, left < members.length ? 1 << left : 0);
    }

    /// @dev A random subset of the members signs: often too little weight.
    function commitInsufficient(uint256 seed) external tracked {
        uint64 taskId = _latest();
        if (taskId == 0 || !_isOpen(taskId)) return;
        address[] memory members = _membersAt(tm.getTask(taskId).referenceBlock);
        _commitAndCheck(taskId, _output(taskId, seed), members, seed >> 8);
    }

    /// @dev Full weight but a bad signature: over another output, or with the first member's signature
    /// included while it is declared a non-signer.
    function commitWrongSignature(uint256 seed) external tracked {
        uint64 taskId = _latest();
        if (taskId == 0 || !_isOpen(taskId)) return;
        address[] memory members = _membersAt(tm.getTask(taskId).referenceBlock);
        if (members.length == 0) return;
        bytes memory output = _output(taskId, seed);
        BLS.G1Point[] memory keys;
        BLS.G2Point memory signature;
        if (seed % 2 == 0) {
            bytes memory other = keccak256(output) == keccak256(AgentActions.hold())
                ? _output(taskId, 1)
                : AgentActions.hold();
            (keys, signature) = _quorum(taskId, other, members, new address[](0));
        } else {
            keys = nonSignersOf(list(members[0]));
            signature = signBy(
                members, tm.outputDigest(taskId, tm.getTask(taskId).inputHash, keccak256(output), bytes32(0))
            );
        }
        _expectRejectedCommit(taskId, output, keys, signature, "invalid signature committed");
    }

    function roll(uint256 blocks) external tracked {
        _advance(bound(blocks, 1, 8));
    }

    /// @dev Up to a fraud-proof window, so that outflows leave the value-at-risk ledger and make room.
    function rollFar(uint256 blocks) external tracked {
        _advance(bound(blocks, 1, tm.fraudProofWindow()));
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
    /// the execution window), sometimes tries at once; sometimes with the wrong bytes, sometimes with
    /// the committed bytes and a wrong non-signer hash.
    function execute(uint256 seed) external tracked {
        uint64 taskId = _latest();
        if (taskId == 0) return;
        Task memory task = tm.getTask(taskId);
        if (task.state == TaskState.Committed && seed % 5 != 0 && block.number <= task.deadline) {
            _advance(task.deadline - block.number + bound(seed >> 8, 0, 12));
        }
        bool honest = seed % 4 != 0;
        bool wrongNonSigners = !honest && seed % 8 == 4;
        bytes memory output = honest || wrongNonSigners ? committedOutput[taskId] : _output(taskId, seed);
        bytes32 nonSignerHash = committedNonSignerHash[taskId];
        if (wrongNonSigners) nonSignerHash = nonSignerHash == 0 ? keccak256("nobody") : bytes32(0);
        _processLogs(vm.getRecordedLogs());
        try tm.execute(taskId, inputOf[taskId], output, bytes32(0), nonSignerHash) {
            ++executions;
            if (!honest && keccak256(output) != keccak256(committedOutput[taskId])) {
                _violate("executed bytes that were not committed");
            }
            if (nonSignerHash != committedNonSignerHash[taskId]) {
                _violate("executed with a non-signer hash that was not committed");
            }
        } catch {
            _discardLogsOfRevertedCall();
        }
    }

    /// @dev Challenges the latest task with its committed output, before or after it executed. The
    /// stub verifier always holds, so a challenge must be upheld exactly when the committed output is
    /// not the hold.
    function challenge(uint256 wait) external tracked {
        _advance(bound(wait, 0, 10));
        _challenge(_latest());
    }

    /// @dev Challenges an action the ledger recorded, picked at random: usually long executed, often
    /// past its fraud-proof window (the challenge must then fail).
    function challengeExecuted(uint256 seed) external tracked {
        if (_exposures.length == 0) return;
        _challenge(_exposures[seed % _exposures.length].taskId);
    }

    /// @dev Opens a task if it can, has all members but at most one commit an action that moves value,
    /// waits out the challenge window and executes it: the ledger's path in one step.
    function executeValue(uint256 seed) external tracked {
        if (!_isOpen(_latest())) _tryOpen();
        uint64 taskId = _latest();
        if (taskId == 0 || !_isOpen(taskId)) return;
        address[] memory members = _membersAt(tm.getTask(taskId).referenceBlock);
        uint256 left = seed % (members.length + 1);
        _commitAndCheck(taskId, _valueOutput(taskId, seed), members, left < members.length ? 1 << left : 0);
        Task memory task = tm.getTask(taskId);
        if (task.state != TaskState.Committed) return;
        _advance(task.deadline + 1 - currentBlock);
        // The owner resumes a paused vault: a paused vault refuses every call action.
        if (vaultContract.paused()) {
            vm.prank(vaultOwner);
            vaultContract.unpause();
        }
        _processLogs(vm.getRecordedLogs());
        try tm.execute(
            taskId, inputOf[taskId], committedOutput[taskId], bytes32(0), committedNonSignerHash[taskId]
        ) {
            ++executions;
        } catch {
            _discardLogsOfRevertedCall();
        }
    }

    /// @dev The recorder keeps the logs of frames that returned inside a call that then reverted (the
    /// vault's `ActionExecuted` before the ledger refused the outflow): they never happened.
    function _discardLogsOfRevertedCall() private {
        vm.getRecordedLogs();
    }

    function _challenge(uint64 taskId) private {
        if (taskId == 0) return;
        TaskState state = tm.getTask(taskId).state;
        if (state != TaskState.Committed && state != TaskState.Executed) return;
        bytes memory output = committedOutput[taskId];
        uint256 bond = challengesContract.challengeBond();
        vm.deal(address(this), address(this).balance + bond);
        try challengesContract.challenge{value: bond}(
            taskId, inputOf[taskId], output, bytes32(0), committedNonSignerHash[taskId], bytes32(0)
        ) returns (
            bool upheld
        ) {
            if (upheld != (keccak256(output) != keccak256(AgentActions.hold()))) {
                _violate("challenge verdict");
            }
            if (upheld) {
                fraudulent[taskId] = true;
                ++challengesUpheld;
                if (state == TaskState.Executed) {
                    provenAfterExecution[taskId] = true;
                    ++postExecutionFrauds;
                }
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
    /// fixture state is empty), and EigenLayer's pauser. The fixture's four operators hold their stake
    /// and are members; the weights were refreshed in the test's set-up.
    function useEigenLayer(
        IAllocationManagerTest allocationManager_,
        IDelegationManagerTest delegation_,
        IStrategyManagerTest strategyManager_,
        TestToken stakeToken_,
        OneToOneStrategy strategy_,
        WardenRegistry registry_,
        address pauser
    ) external {
        allocationManager = allocationManager_;
        delegation = delegation_;
        strategyManager = strategyManager_;
        stakeToken = stakeToken_;
        strategy = strategy_;
        registry = registry_;
        eigenPauser = pauser;
        address[] memory operators = list(ALICE, BOB, CAROL, DAVE);
        for (uint256 i; i < operators.length; ++i) {
            _know(operators[i], (i + 1) * 100 ether);
            member[operators[i]] = true;
        }
    }

    /// @dev Gives the handler the market whose price `trade` moves.
    function useMarket(IUniswapV2Router router_, address pair_) external {
        _router = router_;
        _pair = pair_;
    }

    /// @dev A trader moves the price: sells up to 0.4 % of the pool's base or quote reserve, which keeps
    /// the spot price mostly within the vault's tolerance of the TWAP (a larger move only defers the
    /// actions, which the vault's own tests cover).
    function trade(uint256 seed) external tracked {
        if (address(_router) == address(0)) return;
        (TestToken from, TestToken to) = seed % 2 == 0 ? (_base(), _quote()) : (_quote(), _base());
        uint256 amount = bound(seed >> 8, 1, from.balanceOf(_pair) / 250);
        from.mint(address(this), amount);
        from.approve(address(_router), amount);
        address[] memory route = new address[](2);
        (route[0], route[1]) = (address(from), address(to));
        try _router.swapExactTokensForTokens(amount, 0, route, address(this), currentTime) {
            ++trades;
        } catch {}
    }

    function exposureCount() external view returns (uint256) {
        return _exposures.length;
    }

    function exposureAt(uint256 index) external view returns (Exposure memory) {
        return _exposures[index];
    }

    function knownOperatorCount() external view returns (uint256) {
        return _knownOperators.length;
    }

    function knownOperator(uint256 index) external view returns (address) {
        return _knownOperators[index];
    }

    /// @dev The latest refresh at or before `blockNumber` by the ghost's record (0 if none).
    function refreshedAt(uint256 blockNumber) public view returns (uint256) {
        for (uint256 i = _refreshBlocks.length; i > 0; --i) {
            if (_refreshBlocks[i - 1] <= blockNumber) return _refreshValues[i - 1];
        }
        return 0;
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
    /// is not complete. Before it, each signer the batch examines is classed by what EigenLayer could
    /// take from it (an allocation to Warden's set and delegated or still-slashable queued shares);
    /// after it, the events and the shares must match that class.
    function slash(uint256 seed) external tracked {
        if (eigenPauser == address(0)) return;
        (uint64 taskId, bool found) = _pendingSlashing();
        if (!found) return;
        (uint32 start,) = challengesContract.slashingProgress(taskId);
        uint256 batch = bound(seed, 1, 4);
        uint256 end = start + batch;
        uint256 count = registry.operatorIdCount();
        if (end > count) end = count;
        Examined[] memory examined = _examine(taskId, start, end);
        uint256 redistributableBefore = redistributableShares(address(registry));
        // Logs so far belong to the ghost log; the batch's own are read below.
        _processLogs(vm.getRecordedLogs());
        // Only the first batch carries the non-signers; later ones refer to its record.
        uint32[] memory nonSignerIndices =
            start == 0 ? indicesOfIds(_nonSignerIdsOf[taskId]) : new uint32[](0);
        try challengesContract.slashSigners(taskId, nonSignerIndices, batch) returns (uint256 slashed, bool) {
            if (slashingPaused && examined.length != 0) {
                _violate("a slashing batch succeeded during a pause");
            }
            ++slashBatches;
            signersSlashed += slashed;
            Vm.Log[] memory logs = vm.getRecordedLogs();
            _voidRefreshIfAMemberWasSlashed(logs);
            _processLogs(logs);
            _checkSlashes(
                taskId, examined, logs, redistributableShares(address(registry)) - redistributableBefore
            );
        } catch {
            if (!slashingPaused) _violate("a slashing batch reverted outside a pause");
            ++pausedSlashAttempts;
            (uint32 after_,) = challengesContract.slashingProgress(taskId);
            if (after_ != start) _violate("a reverted batch moved the cursor");
        }
    }

    /// @dev An operator queues the withdrawal of all its shares, or of part of them (never leaving
    /// dust, which EigenLayer's rounding would make unslashable).
    function queueWithdrawal(uint256 seed) external tracked {
        if (eigenPauser == address(0)) return;
        address operator = _knownOperators[seed % _knownOperators.length];
        uint256 deposit = depositSharesOf(operator);
        if (deposit == 0) return;
        uint256 amount = deposit;
        if ((seed >> 8) % 3 != 0 && deposit > 2 ether) {
            amount = bound(seed >> 16, 1 ether, deposit - 1 ether);
        }
        // A fully slashed operator cannot withdraw; that is EigenLayer's business.
        try this.queueAs(operator, amount) {
            ++withdrawalsQueued;
        } catch {}
    }

    /// @dev The external frame `queueWithdrawal` needs to catch a refusal.
    function queueAs(address operator, uint256 amount) external {
        if (msg.sender != address(this)) return;
        queueFullWithdrawal(operator, amount);
    }

    /// @dev An operator completes its oldest queued withdrawal as tokens, usually waiting until
    /// EigenLayer allows it; trying earlier must fail.
    function completeWithdrawal(uint256 seed) external tracked {
        if (eigenPauser == address(0)) return;
        address operator = _knownOperators[seed % _knownOperators.length];
        (Withdrawal[] memory withdrawals, uint256[][] memory shares) =
            delegation.getQueuedWithdrawals(operator);
        if (withdrawals.length == 0) return;
        uint256 completable = uint256(withdrawals[0].startBlock) + MIN_WITHDRAWAL_DELAY + 1;
        if ((seed >> 8) % 4 != 0 && currentBlock < completable) _advance(completable - currentBlock);
        address[] memory tokens = new address[](1);
        tokens[0] = address(stakeToken);
        uint256 before = stakeToken.balanceOf(operator);
        vm.prank(operator);
        try delegation.completeQueuedWithdrawal(withdrawals[0], tokens, true) {
            if (currentBlock < completable) _violate("a withdrawal completed inside EigenLayer's delay");
            if (stakeToken.balanceOf(operator) - before != shares[0][0]) {
                _violate("a withdrawal paid other than its queued shares");
            }
            ++withdrawalsCompleted;
        } catch {
            if (currentBlock >= completable) _violate("a due withdrawal could not complete");
        }
    }

    /// @dev An operator lowers its allocation to Warden's set (to zero, or to a part of at least 1 %),
    /// which takes effect after EigenLayer's deallocation delay; sometimes it allocates everything
    /// again instead.
    function deallocate(uint256 seed) external tracked {
        if (eigenPauser == address(0)) return;
        address operator = _knownOperators[seed % _knownOperators.length];
        Allocation memory allocation =
            allocationManager.getAllocation(operator, _wardenSet(), address(strategy));
        if (allocation.effectBlock != 0) return;
        uint64 current = allocation.currentMagnitude;
        uint64 target;
        if ((seed >> 8) % 5 == 0) {
            target = allocationManager.getMaxMagnitude(operator, address(strategy));
        } else if ((seed >> 8) % 5 != 1) {
            target = uint64(uint256(current) * bound(seed >> 16, 10, 90) / 100);
            if (target < WAD / 100) target = 0;
        }
        if (target == current) return;
        setAllocation(operator, address(registry), registry.OPERATOR_SET_ID(), target);
        if (target < current) ++deallocations;
    }

    /// @dev Jumps to shortly before the next pending deallocation takes effect, so that weights are read
    /// and tasks signed while it is about to land (the case the weight horizon exists for).
    function waitForDeallocation(uint256 seed) external tracked {
        if (eigenPauser == address(0)) return;
        uint256 next = type(uint256).max;
        for (uint256 i; i < _knownOperators.length; ++i) {
            Allocation memory allocation =
                allocationManager.getAllocation(_knownOperators[i], _wardenSet(), address(strategy));
            if (allocation.pendingDiff < 0 && allocation.effectBlock < next) next = allocation.effectBlock;
        }
        if (next == type(uint256).max) return;
        uint256 target = next - bound(seed, 0, 150);
        if (target <= currentBlock) target = currentBlock + 1;
        _advance(target - currentBlock);
        ++deallocationJumps;
    }

    /// @dev A new operator stakes, allocates and asks to join. Every third one brings less stake than
    /// the minimum weight, and a random third too small an allocation: both must be refused.
    function registerOperator(uint256 seed) external tracked {
        if (eigenPauser == address(0) || _knownOperators.length >= MAX_KNOWN_OPERATORS) return;
        address operator = address(uint160(0x5EED0000 + _knownOperators.length));
        bool light = (registrations + refusedRegistrations) % 3 == 1;
        uint256 stake = light ? bound(seed >> 8, 0.1 ether, 0.9 ether) : bound(seed >> 8, 1 ether, 300 ether);
        uint64 magnitude = (seed >> 80) % 3 == 0 ? uint64(bound(seed >> 96, WAD / 100, WAD)) : WAD;
        becomeOperatorWithStake(operator, stake);
        _know(operator, stake);
        _advance(ALLOCATION_CONFIGURATION_DELAY + 1);
        setAllocation(operator, address(registry), registry.OPERATOR_SET_ID(), magnitude);
        // Not yet slashable by the set, so EigenLayer's slashable-stake view reads 0: what it will count
        // is the allocated proportion of the shares.
        uint256 weight = stake * magnitude / WAD;
        bool allowed = weight >= MINIMUM_WEIGHT && registry.registeredOperators().length < MAX_OPERATORS;
        bytes memory data = registrationData(operator, skOf(operator));
        vm.prank(operator);
        try allocationManager.registerForOperatorSets(
            operator, RegisterParams({avs: address(registry), operatorSetIds: wardenSet(), data: data})
        ) {
            if (!allowed) _violate("an operator below the minimum weight joined");
            member[operator] = true;
            ++registrations;
        } catch (bytes memory reason) {
            if (allowed) _violate("an operator with enough weight was refused");
            if (bytes4(reason) != WardenRegistry.WeightBelowMinimum.selector) {
                _violate("a light registration was refused for another reason");
            }
            ++refusedRegistrations;
        }
    }

    /// @dev A member leaves the set on its own; EigenLayer keeps it slashable for the deallocation delay.
    function deregisterOperator(uint256 seed) external tracked {
        if (eigenPauser == address(0)) return;
        address operator = _knownOperators[seed % _knownOperators.length];
        if (!member[operator]) return;
        deregister(operator);
        _left(operator);
    }

    /// @dev Anyone tries to eject a member: allowed exactly when its weight (read from EigenLayer at
    /// the horizon) is below the minimum and the window's ejections are not used up.
    function eject(uint256 seed) external tracked {
        if (eigenPauser == address(0)) return;
        address operator = _knownOperators[seed % _knownOperators.length];
        if (!member[operator]) return;
        uint256 weight = _slashableAt(operator, currentBlock + registry.weightHorizon());
        if (_ejectionsInWindow == 0 || currentBlock - _ejectionWindowStart >= EJECTION_WINDOW) {
            (_ejectionWindowStart, _ejectionsInWindow) = (currentBlock, 0);
        }
        bool allowed = weight < MINIMUM_WEIGHT && _ejectionsInWindow < EJECTION_LIMIT;
        try registry.eject(operator) {
            if (!allowed) _violate("an ejection the rules forbid went through");
            ++_ejectionsInWindow;
            ++ejections;
            _left(operator);
        } catch {
            if (allowed) _violate("an ejection the rules allow was refused");
            ++refusedEjections;
        }
    }

    /// @dev The keeper's refresh, on its own schedule.
    function refreshWeights() external tracked {
        if (eigenPauser == address(0)) return;
        _refresh();
    }

    /// @dev The keeper stops refreshing before openings, or starts again.
    function toggleKeeper() external tracked {
        if (eigenPauser == address(0)) return;
        keeperAsleep = !keeperAsleep;
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
        s = new bytes4[](eigenPauser == address(0) ? 16 : 28);
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
        uint256 next = 12;
        if (eigenPauser != address(0)) {
            s[12] = this.toggleSlashingPause.selector;
            s[13] = this.slash.selector;
            s[14] = this.challenge.selector;
            s[15] = this.queueWithdrawal.selector;
            s[16] = this.completeWithdrawal.selector;
            s[17] = this.deallocate.selector;
            s[18] = this.waitForDeallocation.selector;
            s[19] = this.registerOperator.selector;
            s[20] = this.deregisterOperator.selector;
            s[21] = this.eject.selector;
            s[22] = this.refreshWeights.selector;
            s[23] = this.toggleKeeper.selector;
            next = 24;
        }
        // The value-at-risk ledger's path: outflows executed, price moves, frauds proven after
        // execution, and the time for outflows to leave the ledger.
        s[next] = this.executeValue.selector;
        s[next + 1] = this.challengeExecuted.selector;
        s[next + 2] = this.trade.selector;
        s[next + 3] = this.rollFar.selector;
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

    /// @dev The known operators in the set at `blockNumber`, by the registry's history.
    function _membersAt(uint32 blockNumber) private view returns (address[] memory members) {
        address[] memory found = new address[](_knownOperators.length);
        uint256 count;
        for (uint256 i; i < _knownOperators.length; ++i) {
            (bool registered,) = registry.operatorAt(idOf(pkOf(_knownOperators[i])), blockNumber);
            if (registered) found[count++] = _knownOperators[i];
        }
        members = new address[](count);
        for (uint256 i; i < count; ++i) {
            members[i] = found[i];
        }
    }

    /// @dev Commits with the members whose bit in `nonSignerMask` is clear as signers and predicts the
    /// outcome: it must succeed exactly when the ghost's last refresh is recent enough, the signers'
    /// weight reaches the threshold and the response window is open. A commitment that succeeds must
    /// also sign with stake that stays slashable until its slashing deadline.
    function _commitAndCheck(
        uint64 taskId,
        bytes memory output,
        address[] memory members,
        uint256 nonSignerMask
    ) private {
        uint256 nonSignerCount;
        for (uint256 i; i < members.length; ++i) {
            if (nonSignerMask & (1 << i) != 0) ++nonSignerCount;
        }
        // Nobody to sign: an empty aggregate is no signature at all.
        if (nonSignerCount == members.length) return;
        address[] memory signers = new address[](members.length - nonSignerCount);
        address[] memory nonSigners = new address[](nonSignerCount);
        (uint256 s, uint256 n) = (0, 0);
        for (uint256 i; i < members.length; ++i) {
            if (nonSignerMask & (1 << i) != 0) nonSigners[n++] = members[i];
            else signers[s++] = members[i];
        }
        bool fresh;
        bool expected;
        {
            Task memory task = tm.getTask(taskId);
            uint256 refreshed = refreshedAt(task.referenceBlock);
            fresh = refreshed != 0 && task.referenceBlock - refreshed <= registry.maxWeightAge();
            (uint256 signed, uint256 total) = _weights(task.referenceBlock, signers, nonSigners);
            expected = fresh && signed != 0 && signed * 10_000 >= total * tm.getAgent(agent).thresholdBps
                && currentBlock <= uint256(task.openedAt) + tm.getAgent(agent).responseWindow;
        }
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            _quorum(taskId, output, signers, nonSigners);
        try tm.commitOutput(taskId, output, new bytes32[](0), keys, signature) {
            if (!fresh) _violate("a quorum committed on stale weights");
            if (!expected) _violate("a quorum below the threshold committed");
            ++commits;
            committedOutput[taskId] = output;
            committedNonSignerHash[taskId] = _nonSignerHash(keys);
            committedByValidQuorum[taskId] = true;
            _signersOf[taskId] = signers;
            _checkSignedStakeSlashable(taskId, signers);
        } catch {
            if (expected) _violate("a fresh quorum holding the threshold was refused");
            if (!fresh) ++staleCommitsRefused;
            ++rejectedCommits;
        }
    }

    /// @dev The signers' and the whole set's weight at `blockNumber`, summed from the registry's
    /// per-operator history (not its running total, which the invariant compares against).
    function _weights(uint32 blockNumber, address[] memory signers, address[] memory nonSigners)
        private
        view
        returns (uint256 signed, uint256 total)
    {
        for (uint256 i; i < signers.length; ++i) {
            (, uint96 weight) = registry.operatorAt(idOf(pkOf(signers[i])), blockNumber);
            signed += weight;
        }
        total = signed;
        for (uint256 i; i < nonSigners.length; ++i) {
            (, uint96 weight) = registry.operatorAt(idOf(pkOf(nonSigners[i])), blockNumber);
            total += weight;
        }
    }

    /// @dev The promise of the weight horizon: each signer's counted weight is stake EigenLayer will
    /// still let Warden slash at every block up to the task's slashing deadline, whatever the signer
    /// starts now (a deallocation lands DEALLOCATION_DELAY + 1 blocks on, a withdrawal stays in the
    /// slashable queue MIN_WITHDRAWAL_DELAY blocks). A signer examined by a slashing batch since the
    /// reference block is skipped: slashing is the one legitimate way for counted stake to go.
    function _checkSignedStakeSlashable(uint64 taskId, address[] memory signers) private {
        Task memory task = tm.getTask(taskId);
        // Proving the fraud may take the whole fraud-proof window, slashing then its period.
        uint256 slashingDeadline = tm.provableUntil(taskId) + tm.slashingPeriod();
        for (uint256 i; i < signers.length; ++i) {
            if (_lastSlashedAt[signers[i]] > task.referenceBlock) continue;
            (, uint96 weight) = registry.operatorAt(idOf(pkOf(signers[i])), task.referenceBlock);
            if (weight == 0) continue;
            ++horizonChecks;
            if (weight > _slashableThrough(signers[i], slashingDeadline)) {
                _violate("a signer's weight exceeds what stays slashable until the slashing deadline");
            }
        }
    }

    /// @dev What EigenLayer guarantees it can slash from `operator` at any block up to `deadline`:
    /// its delegated shares plus the queued withdrawals still in the slashable queue then, times the
    /// smallest allocated proportion until then, rounded as EigenLayer rounds
    /// (`_getMinimumAllocatedStake`).
    function _slashableThrough(address operator, uint256 deadline) private view returns (uint256) {
        if (!member[operator] && _leftAt[operator] + DEALLOCATION_DELAY < deadline) return 0;
        uint64 maxMagnitude = allocationManager.getMaxMagnitude(operator, address(strategy));
        if (maxMagnitude == 0) return 0;
        Allocation memory allocation =
            allocationManager.getAllocation(operator, _wardenSet(), address(strategy));
        uint256 magnitude = allocation.currentMagnitude;
        if (allocation.pendingDiff < 0 && allocation.effectBlock <= deadline) {
            magnitude -= uint256(uint128(-allocation.pendingDiff));
        }
        uint256 shares = operatorShares(operator);
        (Withdrawal[] memory withdrawals, uint256[][] memory queued) =
            delegation.getQueuedWithdrawals(operator);
        for (uint256 i; i < withdrawals.length; ++i) {
            if (uint256(withdrawals[i].startBlock) + MIN_WITHDRAWAL_DELAY >= deadline) {
                shares += queued[i][0];
            }
        }
        return shares * (magnitude * WAD / maxMagnitude) / WAD;
    }

    /// @dev EigenLayer's minimum slashable stake of `operator` for Warden's set until `futureBlock`.
    function _slashableAt(address operator, uint256 futureBlock) private view returns (uint256) {
        return allocationManager.getMinimumSlashableStake(
            _wardenSet(), list(operator), strategyList(), uint32(futureBlock)
        )[0][0];
    }

    /// @dev Whether a slash now would find something to take: the operator is slashable by Warden's
    /// set, has magnitude allocated to it, and has delegated shares or shares in the slashable queue.
    function _hasSlashableStake(address operator) private view returns (bool) {
        if (!allocationManager.isOperatorSlashable(operator, _wardenSet())) return false;
        if (allocationManager.getAllocation(operator, _wardenSet(), address(strategy)).currentMagnitude == 0)
        {
            return false;
        }
        return operatorShares(operator) != 0
            || delegation.getSlashableSharesInQueue(operator, address(strategy)) != 0;
    }

    /// @dev Delegated shares plus queued withdrawals: everything of the operator's a slash could reach.
    function _stakeOf(address operator) private view returns (uint256) {
        return operatorShares(operator) + queuedShares(operator);
    }

    /// @dev The signers among operator indices [start, end) of the task, as they stand now.
    function _examine(uint64 taskId, uint256 start, uint256 end)
        private
        view
        returns (Examined[] memory examined)
    {
        uint32 referenceBlock = tm.getTask(taskId).referenceBlock;
        Examined[] memory found = new Examined[](end - start);
        uint256 count;
        for (uint256 i = start; i < end; ++i) {
            (bytes32 id, address operator, bool registered) = registry.operatorAtIndex(i, referenceBlock);
            if (registered && !_isNonSigner(taskId, id)) {
                found[count++] = Examined({
                    operator: operator,
                    id: id,
                    slashable: _hasSlashableStake(operator),
                    stake: _stakeOf(operator)
                });
            }
        }
        examined = new Examined[](count);
        for (uint256 i; i < count; ++i) {
            examined[i] = found[i];
        }
    }

    /// @dev After a successful batch: a signer with slashable stake got `SignerSlashed` and lost
    /// shares, one without got `SignerNothingToSlash` and lost none, the events' shares are what
    /// EigenLayer took, and a slash within the task's slashing deadline took at least the weight the
    /// signer was counted for (give or take EigenLayer's rounding down, a wei per part).
    function _checkSlashes(uint64 taskId, Examined[] memory examined, Vm.Log[] memory logs, uint256 taken)
        private
    {
        uint256 reported;
        for (uint256 i; i < examined.length; ++i) {
            (bool slashedEvent, bool nothingEvent, uint256 shares) =
                _slashEventsOf(logs, examined[i].operator);
            reported += shares;
            uint256 stakeAfter = _stakeOf(examined[i].operator);
            if (examined[i].slashable) {
                if (!slashedEvent || nothingEvent) _violate("a signer with slashable stake kept it");
                if (stakeAfter >= examined[i].stake) _violate("SignerSlashed but the signer lost no shares");
                _checkSlashedAsCounted(taskId, examined[i], shares);
            } else {
                if (slashedEvent) _violate("SignerSlashed for a signer with nothing slashable");
                if (stakeAfter != examined[i].stake) _violate("a signer with nothing slashable lost shares");
                if (
                    !nothingEvent && allocationManager.isOperatorSlashable(examined[i].operator, _wardenSet())
                ) {
                    _violate("a slashable signer with nothing left got no SignerNothingToSlash");
                }
            }
            _lastSlashedAt[examined[i].operator] = currentBlock;
        }
        if (reported != taken) _violate("SignerSlashed shares differ from what EigenLayer took");
    }

    function _checkSlashedAsCounted(uint64 taskId, Examined memory examined, uint256 shares) private {
        Task memory task = tm.getTask(taskId);
        if (currentBlock > tm.provableUntil(taskId) + tm.slashingPeriod()) return;
        if (_lastSlashedAt[examined.operator] > task.referenceBlock) return;
        (, uint96 weight) = registry.operatorAt(examined.id, task.referenceBlock);
        ++slashedAsCounted;
        if (shares + 2 < weight) _violate("slashing took less than the weight the signer was counted for");
    }

    function _slashEventsOf(Vm.Log[] memory logs, address operator)
        private
        view
        returns (bool slashedEvent, bool nothingEvent, uint256 shares)
    {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(challengesContract) || logs[i].topics.length < 3) continue;
            if (address(uint160(uint256(logs[i].topics[2]))) != operator) continue;
            if (logs[i].topics[0] == IWardenChallenges.SignerSlashed.selector) {
                slashedEvent = true;
                (, shares) = abi.decode(logs[i].data, (uint256, uint256));
            } else if (logs[i].topics[0] == IWardenChallenges.SignerNothingToSlash.selector) {
                nothingEvent = true;
            }
        }
    }

    function _wardenSet() private view returns (OperatorSet memory) {
        return OperatorSet({avs: address(registry), id: registry.OPERATOR_SET_ID()});
    }

    function _know(address operator, uint256 stake) private {
        _knownOperators.push(operator);
        minted[operator] = stake;
    }

    function _left(address operator) private {
        member[operator] = false;
        _leftAt[operator] = currentBlock;
        ++departures;
    }

    function _refresh() private {
        IWardenRegistry(tm.registry()).refreshWeights();
        _refreshBlocks.push(currentBlock);
        _refreshValues.push(currentBlock);
    }

    /// @dev A batch that slashed an operator still in the set voids the weights until a refresh.
    function _voidRefreshIfAMemberWasSlashed(Vm.Log[] memory logs) private {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(challengesContract)) continue;
            bytes32 topic = logs[i].topics[0];
            if (
                topic != IWardenChallenges.SignerSlashed.selector
                    && topic != IWardenChallenges.SignerNothingToSlash.selector
            ) continue;
            if (!member[address(uint160(uint256(logs[i].topics[2])))]) continue;
            _refreshBlocks.push(currentBlock);
            _refreshValues.push(0);
            return;
        }
    }

    function _pendingSlashing() private view returns (uint64 taskId, bool found) {
        for (uint256 i; i < _fraudulentTasks.length; ++i) {
            (, bool done) = challengesContract.slashingProgress(_fraudulentTasks[i]);
            if (!done) return (_fraudulentTasks[i], true);
        }
    }

    /// @dev `keccak256(abi.encodePacked(ids))` of the keys' operator ids, zero for none.
    function _nonSignerHash(BLS.G1Point[] memory keys) private pure returns (bytes32) {
        if (keys.length == 0) return bytes32(0);
        bytes32[] memory ids = new bytes32[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            ids[i] = idOf(keys[i]);
        }
        return keccak256(abi.encodePacked(ids));
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
        if (!keeperAsleep && current - registry_.weightsRefreshedAt(current) > registry_.maxWeightAge() / 2) {
            _refresh();
            _advance(1);
        }
        try tm.openTask(agent) {
            ++opened;
        } catch {}
    }

    function _collectLogs() private {
        _processLogs(vm.getRecordedLogs());
    }

    function _processLogs(Vm.Log[] memory logs) private {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(tm) && logs[i].topics[0] == ITaskManager.TaskOpened.selector) {
                (,, bytes memory input) = abi.decode(logs[i].data, (uint32, bytes32, bytes));
                inputOf[uint64(uint256(logs[i].topics[1]))] = input;
            }
            if (logs[i].emitter == address(tm) && logs[i].topics[0] == ITaskManager.OutputCommitted.selector)
            {
                (,,,,,, bytes32[] memory nonSignerIds) =
                    abi.decode(logs[i].data, (bytes32, bytes32, uint256, uint256, uint32, bytes, bytes32[]));
                _nonSignerIdsOf[uint64(uint256(logs[i].topics[1]))] = nonSignerIds;
            }
            if (logs[i].emitter == address(tm) && logs[i].topics[0] == ITaskManager.ExposureRecorded.selector)
            {
                uint64 taskId = uint64(uint256(logs[i].topics[1]));
                (uint256 value,,, uint256 provableUntil) =
                    abi.decode(logs[i].data, (uint256, uint256, uint256, uint256));
                _exposures.push(
                    Exposure({
                        taskId: taskId,
                        value: value,
                        signedWeight: tm.getTask(taskId).signedWeight,
                        provableUntil: provableUntil
                    })
                );
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
        try tm.commitOutput(taskId, output, new bytes32[](0), keys, signature) {
            _violate(reason);
        } catch {
            ++rejectedCommits;
        }
    }

    /// @dev Keeps the first reason: later ones are often consequences of it.
    function _violate(string memory reason) private {
        if (violation) return;
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
        signature = signBy(
            signers, tm.outputDigest(taskId, tm.getTask(taskId).inputHash, keccak256(output), bytes32(0))
        );
    }

    /// @dev A probe call naming the task (so the probe's record can be matched), or a hold; half the
    /// probe calls also take value from the vault (`_valueOutput`).
    function _output(uint64 taskId, uint256 seed) private view returns (bytes memory) {
        if (seed % 3 == 0) return AgentActions.hold();
        if (seed % 3 == 1) {
            return AgentActions.encode(
                AgentActions.BUY, address(probe), 0, abi.encodeCall(ActionProbe.hit, (taskId))
            );
        }
        return _valueOutput(taskId, seed);
    }

    /// @dev A probe call that takes up to 250 base worth of the base or the quote token from the vault.
    function _valueOutput(uint64 taskId, uint256 seed) private view returns (bytes memory) {
        bool takeBase = (seed >> 4) % 2 == 0;
        uint256 amount = bound(seed >> 16, 1 ether, 250 ether);
        IERC20 token = takeBase ? IERC20(address(_base())) : IERC20(address(_quote()));
        if (!takeBase) amount *= 2000;
        return AgentActions.encode(
            AgentActions.SELL,
            address(probe),
            0,
            abi.encodeCall(ActionProbe.hitAndTake, (taskId, token, amount))
        );
    }

    function _base() private view returns (TestToken) {
        return TestToken(tm.getAgent(agent).tokenBase);
    }

    function _quote() private view returns (TestToken) {
        return TestToken(tm.getAgent(agent).tokenQuote);
    }

    function _latest() private view returns (uint64) {
        return tm.agentStatus(agent).latestTaskId;
    }

    function _isOpen(uint64 taskId) private view returns (bool) {
        Task memory task = tm.getTask(taskId);
        return task.state == TaskState.Open;
    }
}
