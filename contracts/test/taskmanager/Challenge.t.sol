// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenChallenges} from "../../src/WardenChallenges.sol";
import {WardenTaskManager} from "../../src/WardenTaskManager.sol";
import {WardenVault} from "../../src/WardenVault.sol";
import {ITaskManager, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {UniswapV2InputSource} from "../../src/inputs/UniswapV2InputSource.sol";
import {IWardenChallenges} from "../../src/interfaces/IWardenChallenges.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev A challenger contract that cannot receive its payout.
contract RejectingChallenger {
    function challenge(
        IWardenChallenges challenges,
        uint64 taskId,
        bytes calldata input,
        bytes calldata output
    ) external payable returns (bool) {
        return challenges.challenge{value: msg.value}(
            taskId, input, output, bytes32(0), bytes32(0), bytes32(0)
        );
    }
}

/// @dev The challenge game and fraud slashing against the real EigenLayer core: a wrong output is
/// cancelled, the challenger paid, and exactly the operators that signed it (in the set at the
/// reference block, not non-signers) lose their allocation to Warden's set.
contract ChallengeTest is TaskManagerFixture {
    address internal constant CHALLENGER = address(0xC4A11E);
    address internal constant FUNDER = address(0xF0D);
    address internal constant EVE = address(0xE5E);
    address internal constant SLASH_CALLER = address(0x51A54E4);

    function setUp() public {
        deployWarden();
    }

    // ------------------------------------------------------------------------------------------
    // fundBounties
    // ------------------------------------------------------------------------------------------

    function test_fundBounties() public {
        vm.deal(FUNDER, 3 ether);
        vm.expectEmit(true, false, false, true, address(challenges));
        emit IWardenChallenges.BountiesFunded(FUNDER, 1 ether);
        vm.prank(FUNDER);
        challenges.fundBounties{value: 1 ether}();
        vm.prank(FUNDER);
        challenges.fundBounties{value: 2 ether}();
        assertEq(challenges.bountyPool(), 3 ether, "pool");
        assertEq(address(challenges).balance, 3 ether, "held");
    }

    function test_constructorParameters() public view {
        assertEq(challenges.challengeBond(), CHALLENGE_BOND, "bond");
        assertEq(challenges.challengeBounty(), CHALLENGE_BOUNTY, "bounty");
        assertEq(taskManager.slashingPeriod(), SLASHING_PERIOD, "slashing period");
        assertEq(challenges.slashWad(), 1e18, "slash everything");
        assertEq(challenges.slashFee(), SLASH_FEE, "slashing fee");
    }

    function test_revert_constructor_slashWadOutsideZeroToOne() public {
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.InvalidSlashWad.selector, 0));
        newTaskManager(SLASHING_PERIOD, 0);
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.InvalidSlashWad.selector, 1e18 + 1));
        newTaskManager(SLASHING_PERIOD, 1e18 + 1);
    }

    function test_revert_constructor_zeroSlashingPeriod() public {
        vm.expectRevert(ITaskManager.InvalidWindow.selector);
        newTaskManager(0, 1e18);
    }

    // ------------------------------------------------------------------------------------------
    // challenge
    // ------------------------------------------------------------------------------------------

    function test_challenge_upheld() public {
        _fund(2 ether);
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        commitChallengeAs(CHALLENGER, taskId, holdOutput());
        vm.roll(block.number + 1);

        vm.expectEmit(true, true, false, true, address(challenges));
        emit IWardenChallenges.ChallengeUpheld(
            taskId, CHALLENGER, keccak256(holdOutput()), CHALLENGE_BOND + CHALLENGE_BOUNTY
        );
        assertTrue(revealChallengeAs(CHALLENGER, taskId, output), "upheld");

        assertState(taskId, TaskState.Fraudulent, "fraudulent");
        assertEq(CHALLENGER.balance, CHALLENGE_BOND + CHALLENGE_BOUNTY, "bond back plus bounty");
        assertEq(challenges.bountyPool(), 2 ether - CHALLENGE_BOUNTY, "pool paid the bounty");
        assertEq(address(challenges).balance, 2 ether - CHALLENGE_BOUNTY, "held");
        (uint32 next, bool done) = challenges.slashingProgress(taskId);
        assertEq(next, 0, "cursor at the start");
        assertTrue(!done, "slashing to do");

        // The action never executes, and nothing else can happen to the task.
        vm.roll(taskOf(taskId).deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Fraudulent)
        );
        execute(taskId, output);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Fraudulent)
        );
        taskManager.expire(taskId);
        assertEq(base.balanceOf(address(vault)), VAULT_BASE, "nothing sold");

        // The agent moves on.
        uint64 next_ = openFreshTask(agentId);
        assertState(next_, TaskState.Open, "next task");
    }

    function test_challenge_upheldAtDeadline() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        vm.roll(taskOf(taskId).deadline);
        assertTrue(challengeAs(CHALLENGER, taskId, output), "upheld on the last block");
        vm.prank(OWNER);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Fraudulent)
        );
        vault.veto(taskId);
    }

    /// @dev The bounty is what the pool holds, up to `challengeBounty`: never more than was funded.
    function test_challenge_bountyLimitedByPool() public {
        _fund(0.2 ether);
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        commitChallengeAs(CHALLENGER, taskId, holdOutput());
        vm.roll(block.number + 1);
        vm.expectEmit(true, true, false, true, address(challenges));
        emit IWardenChallenges.ChallengeUpheld(
            taskId, CHALLENGER, keccak256(holdOutput()), CHALLENGE_BOND + 0.2 ether
        );
        revealChallengeAs(CHALLENGER, taskId, output);
        assertEq(CHALLENGER.balance, CHALLENGE_BOND + 0.2 ether, "bond plus the pool");
        assertEq(challenges.bountyPool(), 0, "pool empty");

        // With nothing left in the pool the challenger gets its bond back.
        vm.roll(taskOf(taskId).deadline + 1);
        (uint64 second,) = commitBy(agentId, output, allOperators(), new address[](0));
        commitAndChallengeAs(BOB, second, output);
        assertEq(BOB.balance, CHALLENGE_BOND, "bond only");
    }

    function test_challenge_rejected() public {
        bytes memory output = holdOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        vm.expectEmit(true, true, false, true, address(challenges));
        emit IWardenChallenges.ChallengeRejected(taskId, CHALLENGER, CHALLENGE_BOND);
        assertTrue(!challengeAs(CHALLENGER, taskId, output), "rejected");

        assertState(taskId, TaskState.Committed, "still committed");
        assertEq(CHALLENGER.balance, 0, "bond forfeited");
        assertEq(challenges.bountyPool(), CHALLENGE_BOND, "bond in the pool");
        (uint32 next, bool done) = challenges.slashingProgress(taskId);
        assertTrue(next == 0 && !done, "no slashing");

        vm.roll(taskOf(taskId).deadline + 1);
        execute(taskId, output);
        assertState(taskId, TaskState.Executed, "executes as committed");
    }

    function test_revert_challenge_wrongBond() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        bytes memory input = taskInput[taskId];
        vm.deal(CHALLENGER, 10 ether);
        vm.startPrank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.WrongBond.selector, 0, CHALLENGE_BOND));
        challenges.challenge(taskId, input, output, bytes32(0), bytes32(0), bytes32(0));
        vm.expectRevert(
            abi.encodeWithSelector(IWardenChallenges.WrongBond.selector, CHALLENGE_BOND + 1, CHALLENGE_BOND)
        );
        challenges.challenge{value: CHALLENGE_BOND + 1}(
            taskId, input, output, bytes32(0), bytes32(0), bytes32(0)
        );
        vm.stopPrank();
    }

    /// @dev Past the deadline the output can still be proved wrong, until the fraud-proof window ends.
    function test_revert_challenge_afterFraudProofWindow() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        uint256 lastBlock = taskManager.provableUntil(taskId);
        vm.roll(lastBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.FraudProofWindowOver.selector, taskId, lastBlock));
        challengeAs(CHALLENGER, taskId, output);
    }

    function test_revert_challenge_wrongInput() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        bytes memory input = taskInput[taskId];
        // Any byte changed: here the last price of the history.
        input[input.length - 1] = bytes1(uint8(input[input.length - 1]) ^ 1);
        vm.deal(CHALLENGER, CHALLENGE_BOND);
        expectCommitmentMismatch(
            taskId, taskOf(taskId).commitmentHash, keccak256(input), keccak256(output), bytes32(0)
        );
        vm.prank(CHALLENGER);
        challenges.challenge{value: CHALLENGE_BOND}(taskId, input, output, bytes32(0), bytes32(0), bytes32(0));
    }

    function test_revert_challenge_wrongOutput() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.CommitmentMismatch.selector,
                taskId,
                commitmentHash(keccak256(taskInput[taskId]), keccak256(output), bytes32(0)),
                commitmentHash(keccak256(taskInput[taskId]), keccak256(holdOutput()), bytes32(0))
            )
        );
        challengeAs(CHALLENGER, taskId, holdOutput());
    }

    /// @dev The non-signer hash is bound too: a challenge that names no non-signers, or other ones, for
    /// a commitment that had some does not open it, and so cannot plant a wrong list for slashing.
    function test_revert_challenge_wrongNonSignerHash() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, list(BOB, CAROL, DAVE), list(ALICE));
        bytes memory input = taskInput[taskId];
        bytes32 committed = taskOf(taskId).commitmentHash;
        assertEq(
            committed,
            commitmentHash(keccak256(input), keccak256(output), nonSignerHashOf(keys)),
            "binds all three"
        );
        bytes32[3] memory wrong = wrongNonSignerHashesForAlice();
        vm.deal(CHALLENGER, CHALLENGE_BOND);
        for (uint256 i; i < wrong.length; ++i) {
            expectCommitmentMismatch(taskId, committed, keccak256(input), keccak256(output), wrong[i]);
            vm.prank(CHALLENGER);
            challenges.challenge{value: CHALLENGE_BOND}(
                taskId, input, output, bytes32(0), wrong[i], bytes32(0)
            );
        }
        assertState(taskId, TaskState.Committed, "unchanged");
        assertTrue(challengeAs(CHALLENGER, taskId, output), "the committed values open it");
    }

    function test_revert_challenge_notCommitted() public {
        uint64 taskId = openFreshTask(agentId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Open)
        );
        challengeAs(CHALLENGER, taskId, holdOutput());
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, 99, TaskState.None));
        challengeAs(CHALLENGER, 99, holdOutput());
    }

    /// @dev A challenger that cannot take its payout (here its bond: it committed to nothing)
    /// reverts its own challenge; the task stays challengeable by anyone else.
    function test_revert_challenge_payoutFailed() public {
        _fund(1 ether);
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        RejectingChallenger rejecting = new RejectingChallenger();
        vm.deal(address(this), CHALLENGE_BOND);
        bytes memory input = taskInput[taskId];
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenChallenges.PayoutFailed.selector, address(rejecting), CHALLENGE_BOND
            )
        );
        rejecting.challenge{value: CHALLENGE_BOND}(challenges, taskId, input, output);
        assertState(taskId, TaskState.Committed, "unchanged");
        assertTrue(challengeAs(CHALLENGER, taskId, output), "another challenger succeeds");
    }

    // ------------------------------------------------------------------------------------------
    // slashSigners
    // ------------------------------------------------------------------------------------------

    /// @dev Every fraud slash is recorded against its task, and clearing the slashes in EigenLayer's
    /// StrategyManager (permissionless, at once) pays exactly the shares `SignerSlashed` reported, as
    /// stake tokens, to the operator set's redistribution recipient.
    function test_slashSigners_recordsTaskOfSlash_andStakeReachesRecipient() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, list(BOB, CAROL, DAVE), list(ALICE));
        challengeAs(CHALLENGER, taskId, output);
        vm.recordLogs();
        challenges.slashSigners(taskId, indicesOf(keys), 0);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 reported;
        uint256 events;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(challenges)) continue;
            if (logs[i].topics[0] != IWardenChallenges.SignerSlashed.selector) continue;
            (uint256 slashId, uint256 shares) = abi.decode(logs[i].data, (uint256, uint256));
            assertEq(challenges.taskOfSlash(slashId), taskId, "slash recorded against its task");
            reported += shares;
            ++events;
        }
        assertEq(events, 3, "three signers slashed");
        assertEq(challenges.taskOfSlash(events + 1), 0, "no such slash");

        uint256 received = clearAllSlashes(address(registry), taskManager.restitution());
        assertEq(received, reported, "the recipient received what the slashes took");
        assertTrue(received != 0, "a real amount");
    }

    /// @dev Bob, Carol and Dave sign a fraudulent output, Alice does not, Eve joins the set after the
    /// reference block. Slashing in batches of two, then the rest, takes exactly the three signers'
    /// allocations, once each.
    function test_slashSigners_slashesExactlyTheSigners() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, list(BOB, CAROL, DAVE), list(ALICE));
        prepareOperator(EVE, 500 ether);
        register(EVE, skOf(EVE));
        challengeAs(CHALLENGER, taskId, output);
        uint256 totalBefore = _totalWeight();
        uint32[] memory nonSignerIndices = indicesOf(keys);

        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(challenges));
        emit IWardenChallenges.SignerSlashed(taskId, BOB, idOf(pkOf(BOB)), 1, 200 ether);
        (uint256 slashed, bool done) = challenges.slashSigners(taskId, nonSignerIndices, 2);
        assertTrue(slashed == 1 && !done, "Alice skipped, Bob slashed");
        _assertProgress(taskId, 2, false);
        assertTrue(challenges.isRecordedNonSigner(taskId, 0), "Alice recorded");

        // Later batches refer to the record.
        (slashed, done) = challenges.slashSigners(taskId, new uint32[](0), 2);
        assertTrue(slashed == 2 && !done, "Carol and Dave slashed");
        _assertProgress(taskId, 4, false);

        vm.expectEmit(true, false, false, true, address(challenges));
        emit IWardenChallenges.SlashingCompleted(taskId, 3);
        (slashed, done) = challenges.slashSigners(taskId, new uint32[](0), 0);
        assertTrue(slashed == 0 && done, "Eve skipped, done");
        _assertProgress(taskId, 5, true);

        // Each signer exactly once, nobody else, and no failure.
        Vm.Log[] memory logs = vm.getRecordedLogs();
        address[] memory seen = new address[](3);
        uint256 count;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(challenges)) continue;
            assertTrue(logs[i].topics[0] != IWardenChallenges.SignerSlashFailed.selector, "no failure");
            if (logs[i].topics[0] != IWardenChallenges.SignerSlashed.selector) continue;
            seen[count++] = address(uint160(uint256(logs[i].topics[2])));
        }
        assertEq(count, 3, "three slashes");
        assertEq(seen[0], BOB, "Bob");
        assertEq(seen[1], CAROL, "Carol");
        assertEq(seen[2], DAVE, "Dave");

        // EigenLayer: the signers' allocations are gone, the others' untouched.
        assertEq(slashableStake(BOB) + slashableStake(CAROL) + slashableStake(DAVE), 0, "signers slashable");
        assertEq(operatorShares(BOB) + operatorShares(CAROL) + operatorShares(DAVE), 0, "signers' shares");
        assertEq(slashableStake(ALICE), 100 ether, "non-signer untouched");
        assertEq(operatorShares(ALICE), 100 ether, "non-signer shares");
        assertEq(slashableStake(EVE), 500 ether, "late joiner untouched");
        assertEq(operatorShares(EVE), 500 ether, "late joiner shares");

        // The registry: no quorum counts the weights until a full refresh, after which the signers
        // weigh nothing.
        assertEq(registry.weightsRefreshedAt(uint32(block.number)), 0, "weights voided by the slashes");
        registry.refreshWeights();
        assertEq(weightOf(BOB) + weightOf(CAROL) + weightOf(DAVE), 0, "signers' weight");
        assertEq(weightOf(ALICE), 100 ether, "Alice's weight");
        assertEq(_totalWeight(), totalBefore - 900 ether, "total weight");

        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.SlashingAlreadyComplete.selector, taskId));
        challenges.slashSigners(taskId, nonSignerIndices, 0);
    }

    /// @dev A batch larger than what remains just finishes.
    function test_slashSigners_oneCallWithLargeBatch() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, allOperators(), new address[](0));
        challengeAs(CHALLENGER, taskId, output);
        (uint256 slashed, bool done) = challenges.slashSigners(taskId, indicesOf(keys), 1000);
        assertTrue(slashed == 4 && done, "all four in one call");
        _assertProgress(taskId, 4, true);
    }

    function test_revert_slashSigners_nonSignersMismatch() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, list(BOB, CAROL, DAVE), list(ALICE));
        challengeAs(CHALLENGER, taskId, output);
        // Claiming nobody abstained would slash Alice too.
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignersMismatch.selector, taskId));
        challenges.slashSigners(taskId, new uint32[](0), 0);
        uint32[] memory tooMany = indicesOf(nonSignersOf(list(ALICE, BOB)));
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignersMismatch.selector, taskId));
        challenges.slashSigners(taskId, tooMany, 0);
        _assertProgress(taskId, 0, false);
    }

    function test_revert_slashSigners_notFraudulent() public {
        bytes memory output = holdOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, allOperators(), new address[](0));
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Committed)
        );
        challenges.slashSigners(taskId, indicesOf(keys), 0);
        challengeAs(CHALLENGER, taskId, output);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Committed)
        );
        challenges.slashSigners(taskId, indicesOf(keys), 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, 42, TaskState.None));
        challenges.slashSigners(42, indicesOf(keys), 0);
    }

    /// @dev A signer EigenLayer no longer lets Warden slash (it left the set and its deallocation
    /// delay passed) is reported, and the others are slashed regardless.
    function test_slashSigners_refusedSlashIsReportedAndSkipped() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, allOperators(), new address[](0));
        challengeAs(CHALLENGER, taskId, output);
        deregister(BOB);
        vm.roll(block.number + DEALLOCATION_DELAY + 1);

        vm.expectEmit(true, true, false, true, address(challenges));
        emit IWardenChallenges.SignerSlashFailed(
            taskId, BOB, abi.encodeWithSignature("OperatorNotSlashable()")
        );
        vm.expectEmit(true, false, false, true, address(challenges));
        emit IWardenChallenges.SlashingCompleted(taskId, 3);
        (uint256 slashed, bool done) = challenges.slashSigners(taskId, indicesOf(keys), 0);
        assertTrue(slashed == 3 && done, "three slashed");
        assertEq(operatorShares(BOB), 200 ether, "Bob escaped, as EigenLayer decided");
        assertEq(operatorShares(ALICE) + operatorShares(CAROL) + operatorShares(DAVE), 0, "others slashed");
    }

    /// @dev Whatever gas a caller gives, slashSigners either reverts or slashes every signer: too
    /// little gas never turns into a reported failure that skips one.
    function test_slashSigners_tooLittleGasNeverSkipsASigner() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, allOperators(), new address[](0));
        challengeAs(CHALLENGER, taskId, output);
        bytes memory call = abi.encodeCall(IWardenChallenges.slashSigners, (taskId, indicesOf(keys), 0));

        uint256 guarded;
        bool succeeded;
        // Fine steps: the window in which a too-weak guard would let a slash fail for lack of gas
        // is narrow (a check on 1/64 of the gas, as the 63/64 rule suggests, fails this test).
        for (uint256 gas = 100_000; gas <= 2_000_000; gas += 5000) {
            vm.recordLogs();
            (bool ok, bytes memory returned) = address(challenges).call{gas: gas}(call);
            Vm.Log[] memory logs = vm.getRecordedLogs();
            if (!ok) {
                if (
                    keccak256(returned)
                        == keccak256(
                            abi.encodeWithSelector(IWardenChallenges.InsufficientGasForSlash.selector)
                        )
                ) {
                    ++guarded;
                }
                continue;
            }
            for (uint256 i; i < logs.length; ++i) {
                assertTrue(
                    logs[i].topics[0] != IWardenChallenges.SignerSlashFailed.selector, "no skipped signer"
                );
            }
            (uint256 slashed, bool done) = abi.decode(returned, (uint256, bool));
            assertTrue(slashed == 4 && done, "all four slashed");
            succeeded = true;
            break;
        }
        assertTrue(guarded > 0, "the gas guard fired");
        assertTrue(succeeded, "enough gas slashes everyone");
    }

    /// @dev A challenges contract the registry does not let slash refuses to walk the signers at all,
    /// rather than recording every slash as failed.
    function test_revert_slashSigners_notTheRegistrySlasher() public {
        WardenChallenges slasher = challenges;
        taskManager = newTaskManager(SLASHING_PERIOD, 1e18);
        challenges = WardenChallenges(taskManager.challenges());
        inputSource = new UniswapV2InputSource(address(taskManager), address(pair), MIN_OBSERVATION_INTERVAL);
        (WardenVault otherVault, uint64 otherAgent) = newVaultWithAgent(BOB, THRESHOLD_BPS);
        vault = otherVault;
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(otherAgent, output, allOperators(), new address[](0));
        challengeAs(CHALLENGER, taskId, output);
        vm.expectRevert(
            abi.encodeWithSelector(IWardenChallenges.NotRegistrySlasher.selector, address(slasher))
        );
        challenges.slashSigners(taskId, indicesOf(keys), 0);
    }

    /// @dev The caller of slashSigners is paid SLASH_FEE per signer it takes shares from, batch by
    /// batch: not for the non-signer, nor for the late joiner it walks past.
    function test_slashSigners_paysCallerFeePerSlashedSigner() public {
        _fund(1 ether);
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, list(BOB, CAROL, DAVE), list(ALICE));
        challengeAs(CHALLENGER, taskId, output);
        uint32[] memory nonSignerIndices = indicesOf(keys);

        vm.expectEmit(true, true, false, true, address(challenges));
        emit IWardenChallenges.SlashingFeePaid(taskId, SLASH_CALLER, SLASH_FEE);
        vm.prank(SLASH_CALLER);
        (uint256 slashed,) = challenges.slashSigners(taskId, nonSignerIndices, 2);
        assertEq(slashed, 1, "Alice skipped, Bob slashed");
        assertEq(SLASH_CALLER.balance, SLASH_FEE, "one fee");

        vm.prank(SLASH_CALLER);
        (slashed,) = challenges.slashSigners(taskId, new uint32[](0), 0);
        assertEq(slashed, 2, "Carol and Dave");
        assertEq(SLASH_CALLER.balance, 3 * SLASH_FEE, "three fees in all");
        assertEq(challenges.bountyPool(), 1 ether - 3 * SLASH_FEE, "paid from the pool");
        assertEq(address(challenges).balance, 1 ether - 3 * SLASH_FEE, "held");
    }

    /// @dev The fee never exceeds what the pool holds, and an empty pool pays nothing (the batch still
    /// runs).
    function test_slashSigners_feeCappedByPool() public {
        _fund(0.015 ether);
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, allOperators(), new address[](0));
        challengeAs(CHALLENGER, taskId, output);
        vm.prank(SLASH_CALLER);
        (uint256 slashed,) = challenges.slashSigners(taskId, indicesOf(keys), 2);
        assertEq(slashed, 2, "two slashed");
        assertEq(SLASH_CALLER.balance, 0.015 ether, "the whole pool, less than two fees");
        assertEq(challenges.bountyPool(), 0, "pool empty");

        vm.recordLogs();
        vm.prank(SLASH_CALLER);
        (slashed,) = challenges.slashSigners(taskId, new uint32[](0), 0);
        assertEq(slashed, 2, "the rest slashed for free");
        assertEq(SLASH_CALLER.balance, 0.015 ether, "nothing more");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != IWardenChallenges.SlashingFeePaid.selector, "no fee event");
        }
    }

    /// @dev A caller that refuses the fee reverts its own batch; anyone else can send it.
    function test_revert_slashSigners_feeRefused() public {
        _fund(1 ether);
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, allOperators(), new address[](0));
        challengeAs(CHALLENGER, taskId, output);
        // This test contract has no receive function.
        vm.expectRevert(
            abi.encodeWithSelector(IWardenChallenges.PayoutFailed.selector, address(this), 4 * SLASH_FEE)
        );
        challenges.slashSigners(taskId, indicesOf(keys), 0);
        _assertProgress(taskId, 0, false);
        vm.prank(SLASH_CALLER);
        (uint256 slashed, bool done) = challenges.slashSigners(taskId, indicesOf(keys), 0);
        assertTrue(slashed == 4 && done, "another caller slashes everyone");
    }

    // ------------------------------------------------------------------------------------------
    // Commit-reveal
    // ------------------------------------------------------------------------------------------

    function test_commitChallenge_recordsTheBlock() public {
        bytes32 commitment =
            challenges.sealChallenge(CHALLENGER, 7, keccak256(holdOutput()), saltOf(CHALLENGER));
        assertEq(
            commitment,
            keccak256(abi.encode(CHALLENGER, uint64(7), keccak256(holdOutput()), saltOf(CHALLENGER))),
            "the documented encoding"
        );
        vm.expectEmit(true, true, false, true, address(challenges));
        emit IWardenChallenges.ChallengeCommitted(CHALLENGER, commitment);
        vm.prank(CHALLENGER);
        challenges.commitChallenge(commitment);
        assertEq(challenges.challengeCommitments(CHALLENGER, commitment), block.number, "block recorded");
        assertEq(challenges.challengeCommitments(EVE, commitment), 0, "per committer");
    }

    /// @dev Committing again would move the commitment to a later block; the first one stands.
    function test_revert_commitChallenge_twice() public {
        bytes32 commitment = keccak256("commitment");
        vm.prank(CHALLENGER);
        challenges.commitChallenge(commitment);
        uint256 first = block.number;
        vm.roll(block.number + 3);
        vm.expectRevert(
            abi.encodeWithSelector(IWardenChallenges.ChallengeAlreadyCommitted.selector, commitment, first)
        );
        vm.prank(CHALLENGER);
        challenges.commitChallenge(commitment);
        assertEq(challenges.challengeCommitments(CHALLENGER, commitment), first, "first commitment stands");
    }

    /// @dev A commitment made in the reveal's own block proves nothing (it could follow the reveal in
    /// the mempool): the bond comes back, no bounty.
    function test_challenge_commitmentInTheSameBlockEarnsNoBounty() public {
        _fund(2 ether);
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        commitChallengeAs(CHALLENGER, taskId, holdOutput());
        vm.deal(CHALLENGER, CHALLENGE_BOND);
        vm.prank(CHALLENGER);
        assertTrue(
            challenges.challenge{value: CHALLENGE_BOND}(
                taskId, taskInput[taskId], output, bytes32(0), bytes32(0), saltOf(CHALLENGER)
            ),
            "upheld"
        );
        assertEq(CHALLENGER.balance, CHALLENGE_BOND, "bond only");
        assertEq(challenges.bountyPool(), 2 ether, "pool untouched");
    }

    /// @dev A commitment to another expected output, another task or another salt does not match.
    function test_challenge_mismatchedCommitmentEarnsNoBounty() public {
        _fund(2 ether);
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        // Committed to the committed (wrong) output instead of the verifier's.
        commitChallengeAs(CHALLENGER, taskId, output);
        commitChallengeAs(CHALLENGER, taskId + 1, holdOutput());
        vm.roll(block.number + 1);
        vm.deal(CHALLENGER, CHALLENGE_BOND);
        vm.prank(CHALLENGER);
        challenges.challenge{value: CHALLENGE_BOND}(
            taskId, taskInput[taskId], output, bytes32(0), taskNonSignerHash[taskId], saltOf(CHALLENGER)
        );
        assertEq(CHALLENGER.balance, CHALLENGE_BOND, "bond only");
        assertEq(challenges.bountyPool(), 2 ether, "pool untouched");
    }

    /// @dev The bounty consumes the commitment.
    function test_challenge_bountyConsumesTheCommitment() public {
        _fund(2 ether);
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        commitAndChallengeAs(CHALLENGER, taskId, output);
        bytes32 commitment =
            challenges.sealChallenge(CHALLENGER, taskId, keccak256(holdOutput()), saltOf(CHALLENGER));
        assertEq(challenges.challengeCommitments(CHALLENGER, commitment), 0, "consumed");
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    function _fund(uint256 amount) private {
        vm.deal(FUNDER, amount);
        vm.prank(FUNDER);
        challenges.fundBounties{value: amount}();
    }

    function _assertProgress(uint64 taskId, uint32 expectedNext, bool expectedDone) private view {
        (uint32 next, bool done) = challenges.slashingProgress(taskId);
        assertEq(next, expectedNext, "cursor");
        assertTrue(done == expectedDone, "done flag");
    }

    function _totalWeight() private view returns (uint256 totalWeight) {
        (, totalWeight,) = registry.quorumAt(uint32(block.number));
    }
}
