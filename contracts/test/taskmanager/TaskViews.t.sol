// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ITaskManager, OpenCheck, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev The views off-chain code used to re-derive (a task's last live block, whether an agent can
/// open a task), the wiring between the task manager and its challenges contract, and who may mark a
/// task Fraudulent.
contract TaskViewsTest is TaskManagerFixture {
    function setUp() public {
        deployWarden();
    }

    // ------------------------------------------------------------------------------------------
    // Wiring
    // ------------------------------------------------------------------------------------------

    function test_challengesWiring() public view {
        assertEq(challenges.taskManager(), address(taskManager), "challenges name the task manager");
        assertEq(taskManager.challenges(), address(challenges), "task manager names its challenges");
        assertEq(challenges.registry(), address(registry), "same registry");
        assertEq(registry.slasher(), address(challenges), "the challenges contract slashes");
        assertEq(inputSource.taskManager(), address(taskManager), "the source serves the task manager");
    }

    function test_revert_markFraudulent_onlyChallenges() public {
        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, fraudulentOutput());
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotChallenges.selector, address(this)));
        taskManager.markFraudulent(taskId);
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotChallenges.selector, OWNER));
        taskManager.markFraudulent(taskId);
        assertState(taskId, TaskState.Committed, "untouched");
    }

    function test_markFraudulent_emitsAndGuardsItsOwnWindow() public {
        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, fraudulentOutput());
        uint256 lastBlock = taskManager.provableUntil(taskId);
        vm.roll(lastBlock + 1);
        // Even the challenges contract cannot mark a task whose fraud-proof window is over.
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.FraudProofWindowOver.selector, taskId, lastBlock));
        vm.prank(address(challenges));
        taskManager.markFraudulent(taskId);

        taskId = openFreshTask(agentId);
        commitAll(taskId, fraudulentOutput());
        vm.expectEmit(true, false, false, true, address(taskManager));
        emit ITaskManager.TaskFraudulent(taskId);
        vm.prank(address(challenges));
        taskManager.markFraudulent(taskId);
        assertState(taskId, TaskState.Fraudulent, "marked");
    }

    // ------------------------------------------------------------------------------------------
    // lastLiveBlock
    // ------------------------------------------------------------------------------------------

    function test_lastLiveBlock_followsTheTask() public {
        assertEq(taskManager.lastLiveBlock(1), 0, "unknown task");
        uint64 taskId = openFreshTask(agentId);
        uint256 openedAt = block.number;
        assertEq(taskManager.lastLiveBlock(taskId), openedAt + RESPONSE_WINDOW, "open: commit window");

        commitAll(taskId, holdOutput());
        uint256 deadline = taskOf(taskId).deadline;
        assertEq(taskManager.lastLiveBlock(taskId), deadline + RESPONSE_WINDOW, "committed: execution window");

        // The view agrees with what execute and expire accept.
        vm.roll(deadline + RESPONSE_WINDOW + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.ExecutionWindowOver.selector, taskId, deadline + RESPONSE_WINDOW
            )
        );
        execute(taskId, holdOutput());
        vm.roll(deadline + RESPONSE_WINDOW);
        execute(taskId, holdOutput());
        assertEq(taskManager.lastLiveBlock(taskId), 0, "executed: not live");
    }

    function test_lastLiveBlock_openTaskExpiresRightAfter() public {
        uint64 taskId = openFreshTask(agentId);
        uint256 last = taskManager.lastLiveBlock(taskId);
        vm.roll(last);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.TaskNotExpirable.selector, taskId, last));
        taskManager.expire(taskId);
        vm.roll(last + 1);
        taskManager.expire(taskId);
        assertEq(taskManager.lastLiveBlock(taskId), 0, "expired: not live");
    }

    // ------------------------------------------------------------------------------------------
    // canOpenTask
    // ------------------------------------------------------------------------------------------

    function test_canOpenTask_unknownAgent() public view {
        _assertCheck(0, OpenCheck.UnknownAgent, 0);
        _assertCheck(agentId + 1, OpenCheck.UnknownAgent, 0);
    }

    /// @dev A new agent needs 17 observations in distinct blocks, at least the source's interval
    /// apart; the snapshot records the last.
    function test_canOpenTask_inputNotReadyUntilTheHistoryFills() public {
        uint256 start = block.number;
        _assertCheck(agentId, OpenCheck.InputNotReady, start + 16);
        for (uint256 i; i < 16; ++i) {
            inputSource.observe(agentId);
            rollTo(block.number + 1);
        }
        assertEq(block.number, start + 16, "the predicted block");
        _assertCheck(agentId, OpenCheck.Ready, block.number);
        taskManager.openTask(agentId);
    }

    /// @dev After an opening: too soon for the tick first, then busy while the task can progress, then
    /// ready; `fromBlock` is the same first free block all along, and openTask agrees at each step.
    function test_canOpenTask_tickThenBusyThenReady() public {
        uint64 taskId = openFreshTask(agentId);
        uint256 free = taskManager.lastLiveBlock(taskId) + 1;
        vm.roll(block.number + 1);
        _assertCheck(agentId, OpenCheck.TickTooSoon, free);

        vm.roll(taskOf(taskId).openedAt + TICK_INTERVAL);
        _assertCheck(agentId, OpenCheck.AgentBusy, free);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.AgentBusy.selector, agentId, taskId));
        taskManager.openTask(agentId);

        vm.roll(free);
        _assertCheck(agentId, OpenCheck.Ready, free);
        taskManager.openTask(agentId);
        assertState(taskId, TaskState.Expired, "the stale task made way");
    }

    /// @dev A committed task keeps its agent busy until its execution window ends, unless it executes.
    function test_canOpenTask_committedTaskBusyUntilExecuted() public {
        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, holdOutput());
        uint256 free = taskManager.lastLiveBlock(taskId) + 1;
        vm.roll(taskOf(taskId).deadline + 1);
        _assertCheck(agentId, OpenCheck.AgentBusy, free);
        execute(taskId, holdOutput());
        _assertCheck(agentId, OpenCheck.Ready, block.number);
    }

    function _assertCheck(uint64 agent, OpenCheck expected, uint256 fromBlock) private view {
        (OpenCheck check, uint256 from) = taskManager.canOpenTask(agent);
        assertEq(uint256(check), uint256(expected), "check");
        assertEq(from, fromBlock, "from block");
    }
}
