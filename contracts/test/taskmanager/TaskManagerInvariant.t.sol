// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {OperatorSet} from "../../src/interfaces/IEigenLayer.sol";
import {Task, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {TaskCommitments} from "../../src/libraries/TaskCommitments.sol";
import {ActionProbe} from "./VaultMocks.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";
import {TaskManagerHandler} from "./TaskManagerHandler.sol";

/// @dev The selectors forge's invariant fuzzer may call on one target (forge-std's StdInvariant ABI).
struct FuzzSelector {
    address addr;
    bytes4[] selectors;
}

/// @dev Whatever order of opens, commits (valid or not), rolls, vetoes, challenges, executions,
/// expiries and pauses happens, the vault only ever executes an action that a quorum at or above the
/// threshold committed, after its deadline, within its execution window, once, never after a veto
/// and never after a challenge proved it wrong. With EigenLayer in the mix (withdrawals queued and
/// completed, deallocations landing, operators joining, leaving and ejected, the keeper lapsing,
/// slashing paused and batched): no operator that never signed a proven fraud loses shares, the
/// registry's totals are its members', and the handler checks as it goes that quorums commit only on
/// fresh weights, that signed weight stays slashable until the slashing deadline, and that each
/// slashing batch takes shares from exactly the signers that still had slashable stake.
contract TaskManagerInvariantTest is TaskManagerFixture {
    TaskManagerHandler internal handler;
    ActionProbe internal probe;

    function setUp() public {
        deployWarden();
        probe = new ActionProbe();
        vm.startPrank(OWNER);
        vault.setCallPermission(address(probe), ActionProbe.hit.selector, true);
        vault.setCallPermission(address(probe), ActionProbe.hitAndTake.selector, true);
        // Caps far above the bounds: the per-action stake bound and the value-at-risk ledger limit.
        vault.setSpendingCap(address(base), 1e30, 1e30);
        vault.setSpendingCap(address(quote), 1e30, 1e30);
        vm.stopPrank();
        base.mint(address(vault), 100_000 ether);
        quote.mint(address(vault), 200_000_000 ether);
        observeBlocks(agentId, 16);
        vm.roll(block.number + 1);
        handler = new TaskManagerHandler(taskManager, vault, probe, agentId);
        // This contract deployed EigenLayer and is its pauser.
        handler.useEigenLayer(
            allocationManager, delegation, strategyManager, stakeToken, strategy, registry, address(this)
        );
        handler.useMarket(router, address(pair));
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: handler.selectors()});
    }

    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 64
    function invariant_onlyFinalQuorumActionsExecute() public view {
        assertTrue(!handler.violation(), handler.violationReason());
        uint256 count = handler.executionLength();
        uint256 probeCalls;
        for (uint256 i; i < count; ++i) {
            TaskManagerHandler.Execution memory execution = handler.executionAt(i);
            Task memory task = taskManager.getTask(execution.taskId);
            // An executed action stays fraud-provable: it may have turned Fraudulent since.
            assertEq(
                uint256(task.state),
                uint256(
                    handler.provenAfterExecution(execution.taskId) ? TaskState.Fraudulent : TaskState.Executed
                ),
                "executed task is marked Executed, or Fraudulent if proven so afterwards"
            );
            assertTrue(handler.committedByValidQuorum(execution.taskId), "committed by a valid quorum");
            assertTrue(
                uint256(task.signedWeight) * 10_000 >= uint256(task.totalWeight) * THRESHOLD_BPS,
                "weight at or above the threshold"
            );
            assertTrue(task.signedWeight > 0, "non-zero weight");
            assertTrue(execution.blockNumber > task.deadline, "after the deadline");
            assertLe(execution.blockNumber, uint256(task.deadline) + RESPONSE_WINDOW, "within the window");
            assertTrue(!handler.vetoed(execution.taskId), "not vetoed");
            assertTrue(
                !handler.fraudulent(execution.taskId) || handler.provenAfterExecution(execution.taskId),
                "not proven fraudulent before it executed"
            );
            assertEq(handler.executionCount(execution.taskId), 1, "at most once");
            if (keccak256(handler.committedOutput(execution.taskId)) != keccak256(holdOutput())) {
                ++probeCalls;
            }
        }
        // Every call the vault made is one of the logged executions, for the same task.
        assertEq(probe.hitCount(), probeCalls, "probe calls match call executions");
        for (uint256 i; i < probe.hitCount(); ++i) {
            ActionProbe.Hit memory hit = probe.hitAt(i);
            assertEq(hit.caller, address(vault), "called by the vault");
            assertEq(handler.executionCount(hit.taskId), 1, "probe task executed");
            assertEq(
                uint256(taskManager.getTask(hit.taskId).state),
                uint256(handler.provenAfterExecution(hit.taskId) ? TaskState.Fraudulent : TaskState.Executed),
                "probe task state"
            );
        }
    }

    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 64
    function invariant_committedTasksHaveValidQuorums() public view {
        uint64 count = taskManager.taskCount();
        for (uint64 id = 1; id <= count; ++id) {
            Task memory task = taskManager.getTask(id);
            if (task.state == TaskState.Committed || task.state == TaskState.Executed) {
                assertTrue(handler.committedByValidQuorum(id), "only valid quorums commit");
                assertEq(
                    task.commitmentHash,
                    TaskCommitments.hash(
                        keccak256(handler.inputOf(id)),
                        keccak256(handler.committedOutput(id)),
                        bytes32(0),
                        handler.committedNonSignerHash(id)
                    ),
                    "committed input, output and non-signers"
                );
                assertEq(task.inputHash, bytes32(0), "a committed task keeps only its commitment hash");
            }
            if (task.state == TaskState.Vetoed) assertTrue(handler.vetoed(id), "only the owner vetoes");
            if (task.state == TaskState.Fraudulent) {
                assertTrue(handler.fraudulent(id), "only an upheld challenge makes a task fraudulent");
            }
            if (handler.fraudulent(id)) {
                assertEq(uint256(task.state), uint256(TaskState.Fraudulent), "fraudulent for good");
            }
            // At most one live task: every task but the latest is finished.
            if (id < count) {
                assertTrue(task.state != TaskState.Open && task.state != TaskState.Committed, "one live task");
            }
        }
    }

    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 64
    function invariant_noHonestSignerIsSlashed() public view {
        assertTrue(!handler.violation(), handler.violationReason());
        for (uint256 i; i < handler.knownOperatorCount(); ++i) {
            address operator = handler.knownOperator(i);
            if (handler.provenFraudSigner(operator)) continue;
            // EigenLayer slashes queued withdrawals too: they count with the delegated shares
            // and the tokens completed withdrawals paid out.
            assertEq(
                stakeToken.balanceOf(operator) + operatorShares(operator) + queuedShares(operator),
                handler.minted(operator),
                "an honest operator keeps every share"
            );
        }
    }

    /// @dev The bound that binds: at every entry of the value-at-risk ledger still fraud-provable,
    /// the outflows before it that are still fraud-provable, plus its own, are at most the
    /// value-at-risk bound on the stake that signed it. Whatever a quorum got executed before its
    /// fraud can be proved adds up to what slashing its own stake covers. And the ledger never
    /// forgets an outflow that can still be proved fraudulent.
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 64
    function invariant_valueAtRiskWithinTheBoundOfItsSigners() public {
        assertTrue(!handler.violation(), handler.violationReason());
        uint256 current = handler.currentBlock();
        vm.roll(current);
        uint256 provable;
        for (uint256 i; i < handler.exposureCount(); ++i) {
            TaskManagerHandler.Exposure memory exposure = handler.exposureAt(i);
            if (exposure.provableUntil < current) continue;
            provable += exposure.value;
            assertLe(
                provable * 10_000,
                exposure.signedWeight * VALUE_AT_RISK_BPS,
                "fraud-provable outflows beyond the bound on the stake that signed them"
            );
        }
        assertLe(provable, taskManager.valueAtRisk(), "the ledger counts every fraud-provable outflow");
    }

    /// @dev The registry's running totals match its members, and its record of refreshes matches
    /// what the handler did, so the freshness the handler predicts commitments by is the registry's.
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 64
    function invariant_registryMatchesItsMembers() public view {
        assertTrue(!handler.violation(), handler.violationReason());
        uint32 current = uint32(block.number);
        (, uint96 totalWeight, uint32 operatorCount) = registry.quorumAt(current);
        uint256 sum;
        uint256 members;
        for (uint256 i; i < handler.knownOperatorCount(); ++i) {
            address operator = handler.knownOperator(i);
            (bool registered, uint96 weight) = registry.operatorAt(idOf(pkOf(operator)), current);
            assertTrue(registered == handler.member(operator), "membership");
            assertTrue(
                allocationManager.isMemberOfOperatorSet(operator, wardenOperatorSet()) == registered,
                "EigenLayer's membership"
            );
            if (registered) ++members;
            sum += weight;
        }
        assertEq(operatorCount, members, "member count");
        assertEq(totalWeight, sum, "total weight is the members' sum");
        assertEq(registry.weightsRefreshedAt(current), handler.refreshedAt(current), "last refresh");
    }

    function wardenOperatorSet() internal view returns (OperatorSet memory) {
        return OperatorSet({avs: address(registry), id: registry.OPERATOR_SET_ID()});
    }

    /// @dev The handler reaches every transition: 500 pseudo-random calls from a fixed seed open,
    /// commit, reject invalid commitments, execute, veto and expire.
    function test_handlerCoversTheLifecycle() public {
        bytes4[] memory all = handler.selectors();
        // First the lifecycle and EigenLayer's moves, then the value-at-risk ledger's path (the last
        // four selectors) on top of what they left.
        uint256 count = all.length - 4;
        bytes4[] memory ledger = new bytes4[](4);
        for (uint256 i; i < 4; ++i) {
            ledger[i] = all[count + i];
        }
        _drive("warden handler coverage", all, count, 500);
        _drive("warden handler coverage: ledger", ledger, ledger.length, 200);
        assertTrue(handler.opened() > 5, "opens");
        assertTrue(handler.commits() > 3, "commits");
        assertTrue(handler.rejectedCommits() > 3, "rejected commits");
        assertTrue(handler.executions() > 1, "executions");
        assertTrue(handler.vetoes() > 0, "vetoes");
        assertTrue(handler.expiries() > 0, "expiries");
        assertTrue(handler.challengesUpheld() > 0, "upheld challenges");
        assertTrue(handler.challengesRejected() > 0, "rejected challenges");
        assertTrue(handler.executionLength() > 0, "logged executions");
        assertTrue(handler.slashBatches() > 0, "slashing batches");
        assertTrue(handler.signersSlashed() > 0, "signers slashed");
        assertTrue(handler.pausedSlashAttempts() > 0, "batches refused during a pause");
        assertTrue(handler.withdrawalsQueued() > 0, "withdrawals queued");
        assertTrue(handler.withdrawalsCompleted() > 0, "withdrawals completed");
        assertTrue(handler.deallocations() > 0, "deallocations");
        assertTrue(handler.deallocationJumps() > 0, "waits for a deallocation to land");
        assertTrue(handler.registrations() > 0, "registrations");
        assertTrue(handler.refusedRegistrations() > 0, "light registrations refused");
        assertTrue(handler.departures() > 0, "deregistrations and ejections");
        assertTrue(handler.staleCommitsRefused() > 0, "quorums on stale weights refused");
        assertTrue(handler.horizonChecks() > 0, "signed weight checked against slashable stake");
        assertTrue(handler.slashedAsCounted() > 0, "slashes checked against the weight counted");
        assertTrue(handler.trades() > 0, "price moves");
        assertTrue(handler.exposureCount() > 0, "outflows in the value-at-risk ledger");
        assertTrue(handler.postExecutionFrauds() > 0, "frauds proven after execution");
        invariant_valueAtRiskWithinTheBoundOfItsSigners();
        invariant_onlyFinalQuorumActionsExecute();
        invariant_committedTasksHaveValidQuorums();
        invariant_noHonestSignerIsSlashed();
        invariant_registryMatchesItsMembers();
    }

    /// @dev Calls `rounds` random selectors among the first `count` of `selectors`, with seeds
    /// derived from `label`; every call must succeed.
    function _drive(string memory label, bytes4[] memory selectors, uint256 count, uint256 rounds) private {
        for (uint256 i; i < rounds; ++i) {
            uint256 r = uint256(keccak256(abi.encode(label, i)));
            (bool ok,) = address(handler).call(abi.encodeWithSelector(selectors[r % count], r >> 8));
            assertTrue(ok, "handler calls never revert");
        }
    }
}
