// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "../../src/WardenRegistry.sol";
import {WardenVault} from "../../src/WardenVault.sol";
import {AgentActions, AgentInput} from "../../src/agent/AgentTypes.sol";
import {
    AgentConfig,
    AgentStatus,
    ITaskManager,
    Task,
    TaskHashes,
    TaskState
} from "../../src/interfaces/ITaskManager.sol";
import {IWardenVault} from "../../src/interfaces/IWardenVault.sol";
import {TaskCommitments} from "../../src/libraries/TaskCommitments.sol";
import {WardenDigests} from "../../src/libraries/WardenDigests.sol";
import {TestToken} from "../lib/TestToken.sol";
import {IUniswapV2Pair} from "../lib/UniswapV2.sol";
import {UniswapV2InputSource} from "../../src/inputs/UniswapV2InputSource.sol";
import {Vm} from "../lib/Vm.sol";
import {StubVerifier, TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev An allowed action target that tries to re-enter the task manager while its action runs.
contract ReentrantTarget {
    ITaskManager internal immutable taskManager;

    constructor(ITaskManager taskManager_) {
        taskManager = taskManager_;
    }

    function poke(uint64 agentId) external {
        taskManager.openTask(agentId);
    }
}

/// @dev Every function and error of WardenTaskManager against real quorums of four operators.
contract WardenTaskManagerTest is TaskManagerFixture {
    function setUp() public {
        deployWarden();
    }

    // ------------------------------------------------------------------------------------------
    // registerAgent
    // ------------------------------------------------------------------------------------------

    function test_registerAgent_storesConfig() public {
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        vm.expectEmit(true, true, false, true, address(taskManager));
        emit ITaskManager.AgentRegistered(2, address(other), AGENT_HASH, address(verifier), config);
        vm.prank(BOB);
        uint64 id = taskManager.registerAgent(config);

        assertEq(id, 2, "second agent");
        assertEq(taskManager.agentCount(), 2, "agent count");
        assertEq(taskManager.agentOf(address(other)), 2, "agent of vault");
        assertEq(abi.encode(taskManager.getAgent(id)), abi.encode(config), "stored config");
        assertEq(taskManager.registry(), address(registry), "registry");
    }

    function test_registerAgent_thresholdBounds() public {
        _registerWithThreshold(5001);
        _registerWithThreshold(10_000);
        _expectThresholdRejected(5000);
        _expectThresholdRejected(0);
        _expectThresholdRejected(10_001);
    }

    function testFuzz_registerAgent_threshold(uint16 thresholdBps) public {
        if (thresholdBps > 5000 && thresholdBps <= 10_000) _registerWithThreshold(thresholdBps);
        else _expectThresholdRejected(thresholdBps);
    }

    function test_revert_registerAgent_notVaultOwner() public {
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotVaultOwner.selector, CAROL, BOB));
        vm.prank(CAROL);
        taskManager.registerAgent(config);
    }

    function test_revert_registerAgent_vaultOfOtherTaskManager() public {
        WardenVault other = new WardenVault(BOB, address(0xDEAD), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.VaultTaskManagerMismatch.selector, address(other), address(0xDEAD)
            )
        );
        vm.prank(BOB);
        taskManager.registerAgent(config);
    }

    function test_revert_registerAgent_vaultAlreadyHasAgent() public {
        AgentConfig memory config = defaultConfig(address(vault));
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.VaultAlreadyHasAgent.selector, address(vault), agentId)
        );
        vm.prank(OWNER);
        taskManager.registerAgent(config);
    }

    /// @dev A hash the factory never deployed a verifier for, and a verifier the factory deployed for
    /// another hash, are both refused.
    function test_revert_registerAgent_untrustedVerifier() public {
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        config.agentHash = keccak256("another agent");
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.UntrustedVerifier.selector, config.agentHash, address(verifier), address(0)
            )
        );
        vm.prank(BOB);
        taskManager.registerAgent(config);

        StubVerifier another = verifiers.deployStub(config.agentHash);
        config.agentHash = AGENT_HASH;
        config.verifier = address(another);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.UntrustedVerifier.selector, AGENT_HASH, address(another), address(verifier)
            )
        );
        vm.prank(BOB);
        taskManager.registerAgent(config);
    }

    function test_revert_registerAgent_tokensNotInPair() public {
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        TestToken stranger = new TestToken("Stranger", "STR");
        AgentConfig memory config = defaultConfig(address(other));
        config.tokenQuote = address(stranger);
        _expectTokensRejected(config);
        config.tokenQuote = address(base);
        _expectTokensRejected(config);
    }

    function test_revert_registerAgent_zeroWindows() public {
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        config.responseWindow = 0;
        _expectWindowRejected(config);
        config = defaultConfig(address(other));
        config.challengeWindow = 0;
        _expectWindowRejected(config);
        config = defaultConfig(address(other));
        config.tickInterval = 0;
        _expectWindowRejected(config);
    }

    /// @dev Response window + challenge window + slashing period + the registry's maximum weight age
    /// + 1 may reach the registry's weight horizon, not more.
    /// @dev A task's whole life, 1 + response + challenge + response (execution), fits in the
    /// fraud-proof window.
    function test_registerAgent_windowsWithinFraudProofWindow() public {
        uint32 limit = taskManager.fraudProofWindow();
        uint32 fixedPart = 2 * RESPONSE_WINDOW + 1;
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        config.challengeWindow = limit - fixedPart;
        vm.prank(BOB);
        uint64 id = taskManager.registerAgent(config);
        assertEq(taskManager.getAgent(id).challengeWindow, config.challengeWindow, "at the limit");

        other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        config = defaultConfig(address(other));
        config.challengeWindow = limit - fixedPart + 1;
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.WindowsTooLong.selector, uint256(limit) + 1, limit)
        );
        vm.prank(BOB);
        taskManager.registerAgent(config);

        config = defaultConfig(address(other));
        config.challengeWindow = type(uint32).max;
        uint256 exposure = 2 * uint256(RESPONSE_WINDOW) + type(uint32).max + 1;
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.WindowsTooLong.selector, exposure, limit));
        vm.prank(BOB);
        taskManager.registerAgent(config);
    }

    /// @dev Quorum weight is stake in the set's strategies' token: an agent whose base token is
    /// another cannot have its actions valued against that stake.
    function test_revert_registerAgent_stakeNotInBaseToken() public {
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        (config.tokenBase, config.tokenQuote) = (address(quote), address(base));
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.StakeNotInBaseToken.selector, address(strategy), address(base)
            )
        );
        vm.prank(BOB);
        taskManager.registerAgent(config);
    }

    // ------------------------------------------------------------------------------------------
    // openTask
    // ------------------------------------------------------------------------------------------

    /// @dev The snapshot in TaskOpened is exactly the vault's balances, the pool's reserves, the
    /// recorded interval TWAPs, their window's TWAP and the block's timestamp, and it hashes to the
    /// stored input hash. A trade in the opening block moves the reserves, not the prices.
    function test_openTask_snapshot() public {
        for (uint256 i; i < 16; ++i) {
            trade(base, quote, 1 ether);
            rollTo(block.number + 1);
            inputSource.observe(agentId);
        }
        uint256 heldPrice = twapOfSpot();
        vm.roll(block.number + 1);
        vm.warp(block.timestamp + 1234);
        trade(quote, base, 5000 ether);
        base.mint(address(vault), 3 ether);

        (uint64 taskId, AgentInput memory input) = openTaskWithInput(agentId);

        assertEq(taskId, 1, "first task");
        assertEq(taskManager.taskCount(), 1, "task count");
        assertEq(input.vault, address(vault), "vault");
        assertEq(input.tokenBase, address(base), "base");
        assertEq(input.tokenQuote, address(quote), "quote");
        (uint256 reserveBase, uint256 reserveQuote) = reservesBaseQuote();
        assertEq(input.reserveBase, reserveBase, "reserve base");
        assertEq(input.reserveQuote, reserveQuote, "reserve quote");
        assertEq(input.balanceBase, VAULT_BASE + 3 ether, "balance base");
        assertEq(input.balanceQuote, VAULT_QUOTE, "balance quote");
        assertEq(input.timestamp, block.timestamp, "timestamp");
        assertEq(abi.encode(input.priceHistory), abi.encode(inputSource.priceHistory(agentId)), "history");
        assertEq(input.priceHistory.length, 16, "16 prices");
        assertEq(input.priceHistory[15], heldPrice, "the last interval: the price held before this block");
        assertTrue(spotPrice() > heldPrice * 1001 / 1000, "the trade in this block moved the spot price");
        uint256 lowest = type(uint256).max;
        uint256 highest;
        for (uint256 i; i < 16; ++i) {
            if (input.priceHistory[i] < lowest) lowest = input.priceHistory[i];
            if (input.priceHistory[i] > highest) highest = input.priceHistory[i];
        }
        assertTrue(input.twapPrice >= lowest && input.twapPrice <= highest, "the TWAP: within the history");

        Task memory task = taskOf(taskId);
        assertEq(task.inputHash, AgentActions.inputHash(input), "input hash");
        assertEq(task.agentId, agentId, "agent");
        assertEq(uint256(task.state), uint256(TaskState.Open), "open");
        assertEq(task.referenceBlock, block.number - 1, "reference block");
        assertEq(task.openedAt, block.number, "opened at");
        assertEq(task.deadline, 0, "no deadline yet");
        assertEq(task.commitmentHash, bytes32(0), "no commitment yet");
        AgentStatus memory status = taskManager.agentStatus(agentId);
        assertEq(status.latestTaskId, taskId, "latest task");
        assertEq(status.lastOpenedAt, block.number, "opened at");
    }

    /// @dev The event's input bytes are what the stored input hash commits to, byte for byte.
    function test_openTask_eventInputHashesToInputHash() public {
        observeBlocks(agentId, 16);
        rollTo(block.number + 1);
        vm.recordLogs();
        uint64 taskId = taskManager.openTask(agentId);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        Vm.Log memory opened = logs[logs.length - 1];
        assertEq(opened.topics[0], ITaskManager.TaskOpened.selector, "TaskOpened is the last event");
        assertEq(opened.topics[1], bytes32(uint256(taskId)), "task id topic");
        assertEq(opened.topics[2], bytes32(uint256(agentId)), "agent id topic");
        (uint32 referenceBlock, bytes32 inputHash, bytes memory input) =
            abi.decode(opened.data, (uint32, bytes32, bytes));
        assertEq(referenceBlock, block.number - 1, "reference block");
        assertEq(inputHash, keccak256(input), "event hash");
        assertEq(taskOf(taskId).inputHash, keccak256(input), "stored hash");
        assertEq(abi.encode(abi.decode(input, (AgentInput))), input, "canonical encoding");
    }

    function test_revert_openTask_insufficientHistory() public {
        observeBlocks(agentId, 15);
        rollTo(block.number + 1);
        // openTask's own observation is the 16th; 17 are needed.
        vm.expectRevert(
            abi.encodeWithSelector(UniswapV2InputSource.InsufficientHistory.selector, agentId, 16)
        );
        taskManager.openTask(agentId);

        // With this block already observed it records nothing more.
        inputSource.observe(agentId);
        vm.expectRevert(
            abi.encodeWithSelector(UniswapV2InputSource.InsufficientHistory.selector, agentId, 16)
        );
        taskManager.openTask(agentId);

        rollTo(block.number + 1);
        taskManager.openTask(agentId);
    }

    function test_revert_openTask_unknownAgent() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownAgent.selector, 9));
        taskManager.openTask(9);
    }

    function test_revert_openTask_tickTooSoon() public {
        uint64 taskId = openFreshTask(agentId);
        uint256 openedAt = block.number;
        commitAll(taskId, holdOutput());
        vm.prank(OWNER);
        vault.veto(taskId);
        vm.roll(openedAt + TICK_INTERVAL - 1);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.TickTooSoon.selector, agentId, openedAt + TICK_INTERVAL)
        );
        taskManager.openTask(agentId);
        vm.roll(openedAt + TICK_INTERVAL);
        taskManager.openTask(agentId);
    }

    function test_revert_openTask_agentBusy() public {
        uint64 taskId = openFreshTask(agentId);
        uint256 openedAt = block.number;
        vm.roll(openedAt + RESPONSE_WINDOW);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.AgentBusy.selector, agentId, taskId));
        taskManager.openTask(agentId);

        commitAll(taskId, holdOutput());
        // Committed: busy through the deadline and the execution window.
        uint256 lastExecutable = taskOf(taskId).deadline + RESPONSE_WINDOW;
        vm.roll(lastExecutable);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.AgentBusy.selector, agentId, taskId));
        taskManager.openTask(agentId);
    }

    /// @dev A task that got no commitment in time is expired by the next openTask.
    function test_openTask_expiresUncommittedTask() public {
        uint64 first = openFreshTask(agentId);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, false, false, false, address(taskManager));
        emit ITaskManager.TaskExpired(first);
        uint64 second = taskManager.openTask(agentId);
        assertState(first, TaskState.Expired, "first expired");
        assertState(second, TaskState.Open, "second open");
    }

    /// @dev A committed action that kept failing is expired by the next openTask after its
    /// execution window, so it never runs late.
    function test_openTask_expiresStuckCommittedTask() public {
        allowSwaps(vault);
        bytes memory output = sellOutput(vault, 1 ether, 0);
        uint64 first = finalTask(agentId, output);
        // The base token has no cap: the router gets no allowance and the swap fails.
        vm.expectRevert();
        execute(first, output);
        assertState(first, TaskState.Committed, "still committed");

        vm.roll(taskOf(first).deadline + RESPONSE_WINDOW + 1);
        uint64 second = taskManager.openTask(agentId);
        assertState(first, TaskState.Expired, "stuck task expired");
        assertState(second, TaskState.Open, "agent moves on");
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, first, TaskState.Expired)
        );
        execute(first, output);
    }

    function test_openTask_afterExecutedTask() public {
        uint64 first = finalTask(agentId, holdOutput());
        execute(first, holdOutput());
        uint64 second = openFreshTask(agentId);
        assertEq(second, first + 1, "next id");
    }

    // ------------------------------------------------------------------------------------------
    // commitOutput
    // ------------------------------------------------------------------------------------------

    function test_commitOutput_allSign() public {
        uint64 taskId = openFreshTask(agentId);
        bytes memory output = holdOutput();
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, allOperators(), new address[](0));
        uint32 deadline = uint32(block.number + CHALLENGE_WINDOW);

        vm.expectEmit(true, false, false, true, address(taskManager));
        emit ITaskManager.OutputCommitted(
            taskId,
            keccak256(output),
            bytes32(0),
            TOTAL_WEIGHT,
            TOTAL_WEIGHT,
            deadline,
            output,
            new bytes32[](0)
        );
        taskManager.commitOutput(taskId, output, new bytes32[](0), keys, signature);

        Task memory task = taskOf(taskId);
        assertEq(uint256(task.state), uint256(TaskState.Committed), "committed");
        assertEq(
            task.commitmentHash,
            commitmentHash(keccak256(taskInput[taskId]), keccak256(output), bytes32(0)),
            "commitment hash: input, output, no trace, no non-signer hash when everyone signed"
        );
        assertEq(
            task.commitmentHash,
            keccak256(abi.encode(keccak256(taskInput[taskId]), keccak256(output), bytes32(0), bytes32(0))),
            "abi.encode of the four words"
        );
        assertEq(task.inputHash, bytes32(0), "the input hash gave way to the commitment hash");
        assertEq(task.deadline, deadline, "deadline");
        assertEq(task.signedWeight, TOTAL_WEIGHT, "signed");
        assertEq(task.totalWeight, TOTAL_WEIGHT, "total");
    }

    function test_commitOutput_oneNonSigner() public {
        uint64 taskId = openFreshTask(agentId);
        bytes memory output = holdOutput();
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, list(BOB, CAROL, DAVE), list(ALICE));
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = idOf(pkOf(ALICE));
        vm.expectEmit(true, false, false, true, address(taskManager));
        emit ITaskManager.OutputCommitted(
            taskId,
            keccak256(output),
            bytes32(0),
            900 ether,
            TOTAL_WEIGHT,
            uint32(block.number + CHALLENGE_WINDOW),
            output,
            ids
        );
        taskManager.commitOutput(taskId, output, new bytes32[](0), keys, signature);
        Task memory task = taskOf(taskId);
        assertEq(task.signedWeight, 900 ether, "signed");
        assertEq(task.totalWeight, TOTAL_WEIGHT, "total");
        assertEq(
            task.commitmentHash,
            commitmentHash(keccak256(taskInput[taskId]), keccak256(output), keccak256(abi.encodePacked(ids))),
            "commitment hash binds the non-signer hash"
        );
    }

    /// @dev Dave's 400 of 1000 missing leaves 60 %, below 66.67 %.
    function test_revert_commitOutput_belowThreshold() public {
        uint64 taskId = openFreshTask(agentId);
        bytes memory output = holdOutput();
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, list(ALICE, BOB, CAROL), list(DAVE));
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.QuorumNotReached.selector, 600 ether, TOTAL_WEIGHT, THRESHOLD_BPS
            )
        );
        taskManager.commitOutput(taskId, output, new bytes32[](0), keys, signature);
    }

    /// @dev signedWeight * 10_000 >= totalWeight * thresholdBps: exactly 60 % passes a 6000 threshold.
    function test_commitOutput_exactlyAtThreshold() public {
        (, uint64 id) = newVaultWithAgent(BOB, 6000);
        uint64 taskId = openFreshTask(id);
        bytes memory output = holdOutput();
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, list(ALICE, BOB, CAROL), list(DAVE));
        taskManager.commitOutput(taskId, output, new bytes32[](0), keys, signature);
        assertState(taskId, TaskState.Committed, "committed at the threshold");
    }

    /// @dev Signatures over one output do not verify for another: the registry's error bubbles up.
    function test_revert_commitOutput_wrongOutput() public {
        uint64 taskId = openFreshTask(agentId);
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, holdOutput(), allOperators(), new address[](0));
        vm.expectRevert(WardenRegistry.InvalidSignature.selector);
        taskManager.commitOutput(taskId, sellOutput(vault, 1 ether, 0), new bytes32[](0), keys, signature);
    }

    /// @dev The digest binds the task id: a quorum for one task cannot be replayed on another.
    function test_revert_commitOutput_signatureOfOtherTask() public {
        uint64 first = openFreshTask(agentId);
        (, uint64 otherAgent) = newVaultWithAgent(BOB, THRESHOLD_BPS);
        uint64 second = openFreshTask(otherAgent);
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(first, holdOutput(), allOperators(), new address[](0));
        vm.expectRevert(WardenRegistry.InvalidSignature.selector);
        taskManager.commitOutput(second, holdOutput(), new bytes32[](0), keys, signature);
    }

    // ------------------------------------------------------------------------------------------
    // Activation traces
    // ------------------------------------------------------------------------------------------

    /// @dev A trace travels in calldata; the event names its hash, the commitment binds it, and
    /// execution must show it.
    function test_commitOutput_bindsTheSignedTrace() public {
        uint64 taskId = openFreshTask(agentId);
        bytes memory output = holdOutput();
        bytes32[] memory trace = traceOf(81, 1);
        bytes32 traceHash = keccak256(abi.encodePacked(trace));
        uint32 deadline = uint32(block.number + CHALLENGE_WINDOW);

        vm.expectEmit(true, false, false, true, address(taskManager));
        emit ITaskManager.OutputCommitted(
            taskId,
            keccak256(output),
            traceHash,
            TOTAL_WEIGHT,
            TOTAL_WEIGHT,
            deadline,
            output,
            new bytes32[](0)
        );
        commitWithTrace(KEEPER, taskId, output, trace, allOperators(), new address[](0));
        assertEq(
            taskOf(taskId).commitmentHash,
            keccak256(abi.encode(keccak256(taskInput[taskId]), keccak256(output), traceHash, bytes32(0))),
            "the commitment binds the trace hash"
        );

        vm.roll(deadline + 1);
        expectCommitmentMismatchWithTrace(taskId, bytes32(0));
        taskManager.execute(taskId, taskInput[taskId], output, bytes32(0), bytes32(0));
        execute(taskId, output);
        assertState(taskId, TaskState.Executed, "executed with the trace hash");
    }

    /// @dev The aggregator (anyone who holds the quorum's signature) cannot commit a trace the quorum
    /// did not sign: not another trace, not a shortened one, not none, and not one added to a
    /// traceless quorum's output. A wrong trace would otherwise make honest signers provably
    /// "inconsistent" and slashable.
    function test_attack_aggregatorSwapsTheSignedTrace() public {
        uint64 taskId = openFreshTask(agentId);
        bytes memory output = holdOutput();
        bytes32[] memory signedTrace = traceOf(81, 1);
        BLS.G1Point[] memory keys = nonSignersOf(new address[](0));
        BLS.G2Point memory signature =
            signBy(allOperators(), digestOf(taskId, keccak256(output), hashTrace(signedTrace)));

        bytes32[] memory shortened = traceOf(80, 1);
        bytes32[][3] memory forged = [traceOf(81, 2), shortened, new bytes32[](0)];
        for (uint256 i; i < forged.length; ++i) {
            vm.expectRevert(WardenRegistry.InvalidSignature.selector);
            taskManager.commitOutput(taskId, output, forged[i], keys, signature);
        }

        // A quorum that signed no trace: a trace added to its output does not verify either.
        (, BLS.G2Point memory traceless) = quorum(taskId, output, allOperators(), new address[](0));
        vm.expectRevert(WardenRegistry.InvalidSignature.selector);
        taskManager.commitOutput(taskId, output, signedTrace, keys, traceless);

        taskManager.commitOutput(taskId, output, signedTrace, keys, signature);
        assertState(taskId, TaskState.Committed, "the signed trace commits");
    }

    /// @dev A corrupt quorum signs a trace too long for any challenge to carry with a step in one
    /// transaction: its fraud would be unprovable, so the commitment is refused.
    function test_attack_traceTooLongToChallenge() public {
        uint64 taskId = openFreshTask(agentId);
        bytes memory output = holdOutput();
        bytes32[] memory tooLong = traceOf(TaskCommitments.MAX_TRACE_LENGTH + 1, 3);
        BLS.G1Point[] memory keys = nonSignersOf(new address[](0));
        BLS.G2Point memory signature =
            signBy(allOperators(), digestOf(taskId, keccak256(output), hashTrace(tooLong)));
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.TraceTooLong.selector,
                TaskCommitments.MAX_TRACE_LENGTH + 1,
                TaskCommitments.MAX_TRACE_LENGTH
            )
        );
        taskManager.commitOutput(taskId, output, tooLong, keys, signature);

        commitWithTrace(
            KEEPER,
            taskId,
            output,
            traceOf(TaskCommitments.MAX_TRACE_LENGTH, 3),
            allOperators(),
            new address[](0)
        );
        assertState(taskId, TaskState.Committed, "the longest trace allowed commits");
    }

    function test_revert_commitOutput_unsortedNonSigners() public {
        uint64 taskId = openFreshTask(agentId);
        bytes memory output = holdOutput();
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, list(CAROL, DAVE), list(ALICE, BOB));
        (keys[0], keys[1]) = (keys[1], keys[0]);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NonSignersNotSorted.selector, 1));
        taskManager.commitOutput(taskId, output, new bytes32[](0), keys, signature);
    }

    function test_commitOutput_lastBlockOfResponseWindow() public {
        uint64 taskId = openFreshTask(agentId);
        vm.roll(block.number + RESPONSE_WINDOW);
        commitAll(taskId, holdOutput());
        assertState(taskId, TaskState.Committed, "committed in time");
    }

    function test_revert_commitOutput_afterResponseWindow() public {
        uint64 taskId = openFreshTask(agentId);
        uint256 lastBlock = block.number + RESPONSE_WINDOW;
        bytes memory output = holdOutput();
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, allOperators(), new address[](0));
        vm.roll(lastBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.ResponseWindowOver.selector, taskId, lastBlock));
        taskManager.commitOutput(taskId, output, new bytes32[](0), keys, signature);
    }

    function test_revert_commitOutput_twice() public {
        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, holdOutput());
        bytes memory other = sellOutput(vault, 1 ether, 0);
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, other, allOperators(), new address[](0));
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Committed)
        );
        taskManager.commitOutput(taskId, other, new bytes32[](0), keys, signature);
    }

    function test_revert_commitOutput_unknownTask() public {
        BLS.G2Point memory signature = signBy(list(ALICE), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, 5, TaskState.None));
        taskManager.commitOutput(5, holdOutput(), new bytes32[](0), new BLS.G1Point[](0), signature);
    }

    // ------------------------------------------------------------------------------------------
    // execute
    // ------------------------------------------------------------------------------------------

    function test_execute_holdAfterDeadline() public {
        bytes memory output = holdOutput();
        uint64 taskId = finalTask(agentId, output);
        vm.expectEmit(true, false, false, true, address(taskManager));
        emit ITaskManager.TaskExecuted(taskId, keccak256(output));
        vm.expectEmit(true, false, false, true, address(vault));
        emit IWardenVault.ActionExecuted(taskId, 0, address(0), 0);
        execute(taskId, output);
        assertState(taskId, TaskState.Executed, "executed");
    }

    function test_revert_execute_beforeDeadline() public {
        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, holdOutput());
        uint32 deadline = taskOf(taskId).deadline;
        vm.roll(deadline);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.ChallengeWindowNotOver.selector, taskId, deadline)
        );
        execute(taskId, holdOutput());
        vm.roll(deadline + 1);
        execute(taskId, holdOutput());
    }

    function test_revert_execute_wrongOutput() public {
        uint64 taskId = finalTask(agentId, holdOutput());
        bytes memory other = sellOutput(vault, 1 ether, 0);
        bytes32 inputHash = keccak256(taskInput[taskId]);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.CommitmentMismatch.selector,
                taskId,
                commitmentHash(inputHash, keccak256(holdOutput()), bytes32(0)),
                commitmentHash(inputHash, keccak256(other), bytes32(0))
            )
        );
        execute(taskId, other);
    }

    /// @dev The snapshot handed to execute must be the task's own: its TWAP prices the action.
    function test_revert_execute_wrongInput() public {
        uint64 taskId = finalTask(agentId, holdOutput());
        bytes memory input = taskInput[taskId];
        // The snapshot's reserveBase word, its lowest bit flipped: a price the quorum never saw.
        input[0x20 + 0x80 - 1] = bytes1(uint8(input[0x20 + 0x80 - 1]) ^ 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.CommitmentMismatch.selector,
                taskId,
                taskOf(taskId).commitmentHash,
                commitmentHash(keccak256(input), keccak256(holdOutput()), bytes32(0))
            )
        );
        taskManager.execute(taskId, input, holdOutput(), bytes32(0), bytes32(0));
    }

    /// @dev The non-signer hash handed to execute must be the committed one: none for a commitment
    /// with a non-signer, another list's, or a hash for a commitment everyone signed are all refused.
    function test_revert_execute_wrongNonSignerHash() public {
        uint64 taskId = openFreshTask(agentId);
        bytes memory output = holdOutput();
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, list(BOB, CAROL, DAVE), list(ALICE));
        commitWith(KEEPER, taskId, output, keys, signature);
        vm.roll(taskOf(taskId).deadline + 1);
        bytes memory input = taskInput[taskId];
        bytes32 committed = taskOf(taskId).commitmentHash;
        bytes32[3] memory wrong = wrongNonSignerHashesForAlice();
        for (uint256 i; i < wrong.length; ++i) {
            expectCommitmentMismatch(taskId, committed, keccak256(input), keccak256(output), wrong[i]);
            taskManager.execute(taskId, input, output, bytes32(0), wrong[i]);
        }
        taskManager.execute(taskId, input, output, bytes32(0), nonSignerHashOf(keys));
        assertState(taskId, TaskState.Executed, "the committed values execute");

        uint64 allSigned = finalTask(agentId, holdOutput());
        bytes32 made = nonSignerHashOf(nonSignersOf(list(ALICE)));
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.CommitmentMismatch.selector,
                allSigned,
                taskOf(allSigned).commitmentHash,
                commitmentHash(keccak256(taskInput[allSigned]), keccak256(holdOutput()), made)
            )
        );
        taskManager.execute(allSigned, taskInput[allSigned], holdOutput(), bytes32(0), made);
    }

    function test_revert_execute_open() public {
        uint64 taskId = openFreshTask(agentId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Open)
        );
        execute(taskId, holdOutput());
    }

    function test_revert_execute_vetoed() public {
        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, holdOutput());
        vm.prank(OWNER);
        vault.veto(taskId);
        vm.roll(taskOf(taskId).deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Vetoed)
        );
        execute(taskId, holdOutput());
    }

    function test_revert_execute_expired() public {
        uint64 taskId = openFreshTask(agentId);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        taskManager.expire(taskId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Expired)
        );
        execute(taskId, holdOutput());
    }

    function test_revert_execute_twice() public {
        uint64 taskId = finalTask(agentId, holdOutput());
        execute(taskId, holdOutput());
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Executed)
        );
        execute(taskId, holdOutput());
    }

    function test_revert_execute_afterExecutionWindow() public {
        uint64 taskId = finalTask(agentId, holdOutput());
        uint256 lastBlock = taskOf(taskId).deadline + RESPONSE_WINDOW;
        vm.roll(lastBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.ExecutionWindowOver.selector, taskId, lastBlock));
        execute(taskId, holdOutput());
    }

    /// @dev A failing action reverts execute: the task stays committed and a retry succeeds once
    /// the cause is gone.
    function test_execute_failedActionCanBeRetried() public {
        allowSwaps(vault);
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 10 ether, 10 ether);
        bytes memory output = sellOutput(vault, 1 ether, 0);
        uint64 taskId = finalTask(agentId, output);
        vm.prank(OWNER);
        vault.pause();
        vm.expectRevert(IWardenVault.VaultPaused.selector);
        execute(taskId, output);
        assertState(taskId, TaskState.Committed, "still committed");

        vm.prank(OWNER);
        vault.unpause();
        execute(taskId, output);
        assertState(taskId, TaskState.Executed, "executed on retry");
        assertEq(base.balanceOf(address(vault)), VAULT_BASE - 1 ether, "sold");
    }

    /// @dev An allowed target cannot re-enter the task manager while its action runs.
    function test_execute_actionCannotReenter() public {
        ReentrantTarget target = new ReentrantTarget(taskManager);
        vm.prank(OWNER);
        vault.setCallPermission(address(target), ReentrantTarget.poke.selector, true);
        bytes memory output = AgentActions.encode(
            AgentActions.BUY, address(target), 0, abi.encodeCall(ReentrantTarget.poke, (agentId))
        );
        uint64 taskId = finalTask(agentId, output);
        vm.roll(block.number + TICK_INTERVAL);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.ActionFailed.selector,
                address(target),
                abi.encodeWithSignature("ReentrancyGuardReentrantCall()")
            )
        );
        execute(taskId, output);
    }

    // ------------------------------------------------------------------------------------------
    // expire
    // ------------------------------------------------------------------------------------------

    function test_expire_openTask() public {
        uint64 taskId = openFreshTask(agentId);
        uint256 lastBlock = block.number + RESPONSE_WINDOW;
        vm.roll(lastBlock);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.TaskNotExpirable.selector, taskId, lastBlock));
        taskManager.expire(taskId);
        vm.roll(lastBlock + 1);
        vm.expectEmit(true, false, false, false, address(taskManager));
        emit ITaskManager.TaskExpired(taskId);
        taskManager.expire(taskId);
        assertState(taskId, TaskState.Expired, "expired");
    }

    function test_expire_committedTaskAfterExecutionWindow() public {
        uint64 taskId = finalTask(agentId, holdOutput());
        uint256 lastBlock = taskOf(taskId).deadline + RESPONSE_WINDOW;
        vm.roll(lastBlock);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.TaskNotExpirable.selector, taskId, lastBlock));
        taskManager.expire(taskId);
        vm.roll(lastBlock + 1);
        taskManager.expire(taskId);
        assertState(taskId, TaskState.Expired, "expired");
    }

    function test_revert_expire_finishedOrUnknownTask() public {
        uint64 taskId = finalTask(agentId, holdOutput());
        execute(taskId, holdOutput());
        vm.roll(block.number + 1000);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Executed)
        );
        taskManager.expire(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, 42, TaskState.None));
        taskManager.expire(42);
    }

    // ------------------------------------------------------------------------------------------
    // veto
    // ------------------------------------------------------------------------------------------

    function test_veto_atDeadline() public {
        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, holdOutput());
        vm.roll(taskOf(taskId).deadline);
        vm.expectEmit(true, false, false, false, address(vault));
        emit IWardenVault.ActionVetoed(taskId);
        vm.expectEmit(true, false, false, false, address(taskManager));
        emit ITaskManager.TaskVetoed(taskId);
        vm.prank(OWNER);
        vault.veto(taskId);
        assertState(taskId, TaskState.Vetoed, "vetoed");
    }

    function test_revert_veto_afterDeadline() public {
        uint64 taskId = finalTask(agentId, holdOutput());
        uint32 deadline = taskOf(taskId).deadline;
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.ChallengeWindowOver.selector, taskId, deadline));
        vm.prank(OWNER);
        vault.veto(taskId);
    }

    function test_revert_veto_notCommitted() public {
        uint64 taskId = openFreshTask(agentId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Open)
        );
        vm.prank(OWNER);
        vault.veto(taskId);
    }

    function test_revert_veto_notTheAgentsVault() public {
        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, holdOutput());
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotAgentVault.selector, OWNER, address(vault)));
        vm.prank(OWNER);
        taskManager.veto(taskId);

        (WardenVault other,) = newVaultWithAgent(BOB, THRESHOLD_BPS);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.NotAgentVault.selector, address(other), address(vault))
        );
        vm.prank(BOB);
        other.veto(taskId);
    }

    function test_revert_veto_unknownTask() public {
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.NotAgentVault.selector, address(vault), address(0))
        );
        vm.prank(OWNER);
        vault.veto(77);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    function test_outputDigest_matchesLibrary() public {
        uint64 taskId = openFreshTask(agentId);
        Task memory task = taskOf(taskId);
        bytes32 outputHash = keccak256(holdOutput());
        bytes32 expected = WardenDigests.outputDigest(
            block.chainid,
            address(taskManager),
            taskId,
            agentId,
            AGENT_HASH,
            address(verifier),
            task.inputHash,
            outputHash,
            bytes32(0),
            task.referenceBlock
        );
        assertEq(taskManager.outputDigest(taskId, task.inputHash, outputHash, bytes32(0)), expected, "digest");
    }

    /// @dev After the commitment the task keeps no input hash, and the digest is still the one its
    /// operators signed, given the input hash from TaskOpened.
    function test_outputDigest_afterCommitment() public {
        uint64 taskId = openFreshTask(agentId);
        bytes32 inputHash = taskOf(taskId).inputHash;
        bytes32 outputHash = keccak256(holdOutput());
        bytes32 before = taskManager.outputDigest(taskId, inputHash, outputHash, bytes32(0));
        commitAll(taskId, holdOutput());
        assertEq(taskOf(taskId).inputHash, bytes32(0), "no input hash stored");
        assertEq(taskManager.outputDigest(taskId, inputHash, outputHash, bytes32(0)), before, "same digest");
        assertTrue(
            taskManager.outputDigest(taskId, keccak256("other"), outputHash, bytes32(0)) != before,
            "names the input hash"
        );
    }

    function test_revert_outputDigest_unknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 3));
        taskManager.outputDigest(3, bytes32(0), bytes32(0), bytes32(0));
    }

    /// @dev The task's second slot through its life: the input hash while Open (and after expiring
    /// uncommitted), the commitment hash from the commitment on, whatever happens next.
    function test_getTask_inputHashUntilCommitted_commitmentHashAfter() public {
        uint64 expired = openFreshTask(agentId);
        bytes32 inputHash = keccak256(taskInput[expired]);
        assertEq(taskOf(expired).inputHash, inputHash, "open: input hash");
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        taskManager.expire(expired);
        assertEq(taskOf(expired).inputHash, inputHash, "expired uncommitted: input hash");
        assertEq(taskOf(expired).commitmentHash, bytes32(0), "expired uncommitted: no commitment");

        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, holdOutput());
        bytes32 committed = commitmentHash(keccak256(taskInput[taskId]), keccak256(holdOutput()), bytes32(0));
        assertEq(taskOf(taskId).commitmentHash, committed, "committed");
        assertEq(taskOf(taskId).inputHash, bytes32(0), "committed: no input hash");
        vm.roll(taskOf(taskId).deadline + RESPONSE_WINDOW + 1);
        taskManager.expire(taskId);
        assertState(taskId, TaskState.Expired, "expired after its commitment");
        assertEq(taskOf(taskId).commitmentHash, committed, "expired committed: commitment hash");
        assertEq(taskOf(taskId).inputHash, bytes32(0), "expired committed: no input hash");
    }

    /// @dev `slashingContext` opens the task's record: `(inputHash, 0, 0)` before the commitment, the
    /// three committed hashes after it (also once Expired), and nothing else.
    function test_slashingContext_opensTheRecord() public {
        uint64 taskId = openFreshTask(agentId);
        bytes32 inputHash = keccak256(taskInput[taskId]);
        uint32 referenceBlock = taskOf(taskId).referenceBlock;
        (TaskState state, uint32 ref) = taskManager.slashingContext(taskId, openHashesOf(taskId));
        assertEq(uint256(state), uint256(TaskState.Open), "open");
        assertEq(ref, referenceBlock, "reference block");
        TaskHashes memory wrong =
            TaskHashes({inputHash: keccak256("x"), outputHash: 0, traceHash: bytes32(0), nonSignerHash: 0});
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.CommitmentMismatch.selector, taskId, inputHash, wrong.inputHash
            )
        );
        taskManager.slashingContext(taskId, wrong);

        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, holdOutput(), list(BOB, CAROL, DAVE), list(ALICE));
        commitWith(KEEPER, taskId, holdOutput(), keys, signature);
        TaskHashes memory hashes = hashesOf(taskId, holdOutput());
        TaskHashes memory inputOnly = openHashesOf(taskId);
        bytes32 committed = taskOf(taskId).commitmentHash;
        (state, ref) = taskManager.slashingContext(taskId, hashes);
        assertEq(uint256(state), uint256(TaskState.Committed), "committed");
        assertEq(ref, referenceBlock, "reference block");
        expectCommitmentMismatch(taskId, committed, inputHash, bytes32(0), bytes32(0));
        taskManager.slashingContext(taskId, inputOnly);
        hashes.nonSignerHash = bytes32(0);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.CommitmentMismatch.selector,
                taskId,
                committed,
                commitmentHash(inputHash, keccak256(holdOutput()), bytes32(0))
            )
        );
        taskManager.slashingContext(taskId, hashes);

        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 99));
        taskManager.slashingContext(99, hashes);
    }

    /// @dev `challengeTarget` names the verifier and the reference block only to the committed hashes.
    function test_challengeTarget_returnsVerifierAndReferenceBlock() public {
        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, holdOutput());
        (address target, uint32 referenceBlock) =
            taskManager.challengeTarget(taskId, hashesOf(taskId, holdOutput()));
        assertEq(target, address(verifier), "verifier");
        assertEq(referenceBlock, taskOf(taskId).referenceBlock, "reference block");
        TaskHashes memory wrong = hashesOf(taskId, fraudulentOutput());
        expectCommitmentMismatch(
            taskId, taskOf(taskId).commitmentHash, wrong.inputHash, wrong.outputHash, wrong.nonSignerHash
        );
        taskManager.challengeTarget(taskId, wrong);
    }

    function test_views_unknownIdsAreZero() public view {
        assertEq(uint256(taskManager.getTask(12).state), uint256(TaskState.None), "task");
        assertEq(taskManager.getAgent(12).vault, address(0), "agent");
        assertEq(taskManager.agentOf(address(0xBEEF)), 0, "vault");
    }

    // ------------------------------------------------------------------------------------------
    // Fuzz: commit and execute timing
    // ------------------------------------------------------------------------------------------

    /// @dev A commitment lands iff it comes within the response window; an execution iff it comes
    /// after the deadline and within the execution window.
    function testFuzz_commitAndExecuteTiming(uint256 commitDelay, uint256 executeDelay) public {
        commitDelay = bound(commitDelay, 0, 2 * RESPONSE_WINDOW);
        executeDelay = bound(executeDelay, 0, CHALLENGE_WINDOW + 2 * RESPONSE_WINDOW);
        uint64 taskId = openFreshTask(agentId);
        bytes memory output = holdOutput();
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, allOperators(), new address[](0));

        vm.roll(block.number + commitDelay);
        if (commitDelay > RESPONSE_WINDOW) {
            vm.expectRevert();
            taskManager.commitOutput(taskId, output, new bytes32[](0), keys, signature);
            return;
        }
        taskManager.commitOutput(taskId, output, new bytes32[](0), keys, signature);
        uint256 committedAt = block.number;

        vm.roll(committedAt + executeDelay);
        bool inTime = executeDelay > CHALLENGE_WINDOW && executeDelay <= CHALLENGE_WINDOW + RESPONSE_WINDOW;
        if (!inTime) vm.expectRevert();
        execute(taskId, output);
        assertState(taskId, inTime ? TaskState.Executed : TaskState.Committed, "state after execute");
        if (executeDelay <= CHALLENGE_WINDOW) {
            vm.prank(OWNER);
            vault.veto(taskId);
            assertState(taskId, TaskState.Vetoed, "vetoable before the deadline");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    function _registerWithThreshold(uint16 thresholdBps) private {
        (, uint64 id) = newVaultWithAgent(BOB, thresholdBps);
        assertEq(taskManager.getAgent(id).thresholdBps, thresholdBps, "threshold stored");
    }

    function _expectThresholdRejected(uint16 thresholdBps) private {
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        config.thresholdBps = thresholdBps;
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidThreshold.selector, thresholdBps));
        vm.prank(BOB);
        taskManager.registerAgent(config);
    }

    function _expectTokensRejected(AgentConfig memory config) private {
        vm.expectRevert(
            abi.encodeWithSelector(
                UniswapV2InputSource.TokensNotInPair.selector,
                address(pair),
                config.tokenBase,
                config.tokenQuote
            )
        );
        vm.prank(BOB);
        taskManager.registerAgent(config);
    }

    function _expectWindowRejected(AgentConfig memory config) private {
        vm.expectRevert(ITaskManager.InvalidWindow.selector);
        vm.prank(BOB);
        taskManager.registerAgent(config);
    }
}
