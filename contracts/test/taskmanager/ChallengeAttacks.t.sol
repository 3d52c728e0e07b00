// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {ITaskManager, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {IWardenChallenges} from "../../src/interfaces/IWardenChallenges.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

interface IPausableTest {
    function pause(uint256 newPausedStatus) external;
    function unpause(uint256 newPausedStatus) external;
}

/// @dev Attacks on fraud slashing and on the challenge bounty (issue 10, items 3 and 5), each run
/// against the real EigenLayer core.
contract ChallengeAttacksTest is TaskManagerFixture {
    address internal constant CHALLENGER = address(0xC4A11E);
    address internal constant FRONT_RUNNER = address(0xF4017);
    address internal constant FUNDER = address(0xF0D);
    address internal constant OTHER_OWNER = address(0x0B0B0);
    address internal constant SLASH_CALLER = address(0x51A54E4);

    /// @dev AllocationManager (v1.3.0 and the redistribution core alike): bit 1 of the paused status pauses `slashOperator`.
    uint256 internal constant PAUSED_OPERATOR_SLASHING = 1 << 1;

    /// @dev The attack tests below slash as this contract, which takes the slashing fee.
    receive() external payable {}

    function setUp() public {
        deployWarden();
        vm.deal(FUNDER, 10 ether);
        vm.prank(FUNDER);
        challenges.fundBounties{value: 10 ether}();
    }

    /// @dev Issue 10 item 3. While EigenLayer's slashing is paused, a signer of a fraudulent output
    /// calls `slashSigners` itself, hoping to spend the fraud proof: the call must revert and leave
    /// every signer pending, so that the slash lands once EigenLayer unpauses.
    function test_attack_slashingPauseSpendsFraudProof() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, allOperators(), new address[](0));
        assertTrue(challengeAs(CHALLENGER, taskId, output), "upheld");

        IPausableTest(address(allocationManager)).pause(PAUSED_OPERATOR_SLASHING);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenChallenges.SlashFailed.selector, ALICE, abi.encodeWithSignature("CurrentlyPaused()")
            )
        );
        vm.prank(BOB);
        challenges.slashSigners(taskId, indicesOf(keys), 0);
        (uint32 next, bool done) = challenges.slashingProgress(taskId);
        assertTrue(next == 0 && !done, "every signer still pending");
        assertEq(operatorShares(BOB), 200 ether, "nothing taken during the pause");

        IPausableTest(address(allocationManager)).unpause(0);
        vm.prank(BOB);
        (uint256 slashed, bool finished) = challenges.slashSigners(taskId, indicesOf(keys), 0);
        assertTrue(slashed == 4 && finished, "the slash lands after the pause");
        for (uint256 i; i < 4; ++i) {
            assertEq(operatorShares(allOperators()[i]), 0, "shares taken");
        }
    }

    /// @dev Issue 10 item 3. A signer whose allocation an earlier fraud already took is "slashed"
    /// again for a second fraud: EigenLayer takes nothing, so nothing may be reported as slashed
    /// (and, with a caller fee, nothing may be paid for it).
    function test_attack_signerSlashedReportedWithNothingTaken() public {
        (, uint64 otherAgent) = newVaultWithAgent(OTHER_OWNER, THRESHOLD_BPS);
        bytes memory output = fraudulentOutput();
        (uint64 first, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, allOperators(), new address[](0));
        assertTrue(challengeAs(CHALLENGER, first, output), "first upheld");
        (uint64 second,) = commitBy(otherAgent, output, allOperators(), new address[](0));
        assertTrue(challengeAs(CHALLENGER, second, output), "second upheld");
        vm.expectEmit(true, true, true, true, address(challenges));
        emit IWardenChallenges.SignerSlashed(first, ALICE, idOf(pkOf(ALICE)), 1, 100 ether);
        vm.prank(SLASH_CALLER);
        (uint256 slashed,) = challenges.slashSigners(first, indicesOf(keys), 0);
        assertEq(slashed, 4, "the first fraud takes everything");
        assertEq(SLASH_CALLER.balance, 4 * SLASH_FEE, "four fees");

        vm.recordLogs();
        vm.prank(SLASH_CALLER);
        (slashed,) = challenges.slashSigners(second, indicesOf(keys), 0);
        assertEq(slashed, 0, "nothing left to take");
        assertEq(SLASH_CALLER.balance, 4 * SLASH_FEE, "no fee for walking empty allocations");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 empty;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(challenges)) continue;
            assertTrue(
                logs[i].topics[0] != IWardenChallenges.SignerSlashed.selector,
                "no SignerSlashed without shares"
            );
            if (logs[i].topics[0] == IWardenChallenges.SignerNothingToSlash.selector) ++empty;
        }
        assertEq(empty, 4, "each empty signer reported as such");
    }

    /// @dev Issue 10 item 5. A front-runner sees an honest challenger's transactions in the mempool
    /// and copies them: its commitment (a copy of the honest one) and then, in the reveal's block,
    /// the reveal itself, which lands first. The copy is upheld (fraud is stopped either way) but
    /// earns no bounty: the commitment it copied binds the honest challenger's address, not its own.
    /// The honest reveal then reverts, so the bounty stays in the pool: the documented limit.
    function test_attack_frontRunChallengeForBounty() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        uint256 pool = challenges.bountyPool();

        bytes32 commitment =
            challenges.sealChallenge(CHALLENGER, taskId, keccak256(holdOutput()), saltOf(CHALLENGER));
        vm.prank(CHALLENGER);
        challenges.commitChallenge(commitment);
        vm.prank(FRONT_RUNNER);
        challenges.commitChallenge(commitment);
        vm.roll(block.number + 1);

        bytes memory input = taskInput[taskId];
        vm.deal(FRONT_RUNNER, CHALLENGE_BOND);
        vm.prank(FRONT_RUNNER);
        assertTrue(
            challenges.challenge{value: CHALLENGE_BOND}(
                taskId, input, output, bytes32(0), taskNonSignerHash[taskId], saltOf(CHALLENGER)
            ),
            "the copy is upheld: fraud is stopped anyway"
        );
        assertEq(FRONT_RUNNER.balance, CHALLENGE_BOND, "the copier gets its bond back and nothing more");
        assertEq(challenges.bountyPool(), pool, "the bounty stays in the pool");

        vm.deal(CHALLENGER, CHALLENGE_BOND);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Fraudulent)
        );
        vm.prank(CHALLENGER);
        challenges.challenge{value: CHALLENGE_BOND}(
            taskId, input, output, bytes32(0), taskNonSignerHash[taskId], saltOf(CHALLENGER)
        );
    }

    /// @dev The honest path the attack above is measured against: commit, reveal a block later, get
    /// bond and bounty.
    function test_commitThenChallengeEarnsTheBounty() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        uint256 pool = challenges.bountyPool();
        assertTrue(commitAndChallengeAs(CHALLENGER, taskId, output), "upheld");
        assertEq(CHALLENGER.balance, CHALLENGE_BOND + CHALLENGE_BOUNTY, "bond and bounty");
        assertEq(challenges.bountyPool(), pool - CHALLENGE_BOUNTY, "paid from the pool");
    }

    // ------------------------------------------------------------------------------------------
    // The non-signer record (issue 13): the first slashSigners batch carries the non-signers'
    // positions in the registry's id list once; later batches refer to the record.
    // ------------------------------------------------------------------------------------------

    /// @dev Alice did not sign. A slasher hoping to slash her too claims nobody abstained, or names
    /// Bob in her place: neither set of ids hashes to the commitment, nothing is recorded, and the
    /// honest record then spares her.
    function test_attack_compactReferenceSlashesANonSigner() public {
        (uint64 taskId,) = _aliceAbstainsFromFraud();
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignersMismatch.selector, taskId));
        challenges.slashSigners(taskId, new uint32[](0), 0);
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignersMismatch.selector, taskId));
        challenges.slashSigners(taskId, _indices(1), 0);
        _assertNothingRecorded(taskId);

        (uint256 slashed, bool done) = challenges.slashSigners(taskId, _indices(0), 0);
        assertTrue(slashed == 3 && done, "the three signers");
        assertEq(operatorShares(ALICE), 100 ether, "the non-signer keeps her stake");
    }

    /// @dev A slasher hoping to spare Bob, a signer, adds him to the non-signers: at the first batch
    /// the ids no longer hash to the commitment; in a later batch no list is taken at all.
    function test_attack_compactReferenceSkipsASigner() public {
        (uint64 taskId,) = _aliceAbstainsFromFraud();
        uint32[] memory withBob = indicesOf(nonSignersOf(list(ALICE, BOB)));
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignersMismatch.selector, taskId));
        challenges.slashSigners(taskId, withBob, 0);
        // In the other order it is no better.
        (withBob[0], withBob[1]) = (withBob[1], withBob[0]);
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignersMismatch.selector, taskId));
        challenges.slashSigners(taskId, withBob, 0);
        _assertNothingRecorded(taskId);

        challenges.slashSigners(taskId, _indices(0), 1);
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignersAlreadyRecorded.selector, taskId));
        challenges.slashSigners(taskId, _indices(1), 0);
        assertTrue(!challenges.isRecordedNonSigner(taskId, 1), "Bob is no non-signer");
        (uint256 slashed, bool done) = challenges.slashSigners(taskId, new uint32[](0), 0);
        assertTrue(slashed == 3 && done, "Bob, Carol and Dave");
        assertEq(operatorShares(BOB), 0, "Bob slashed");
    }

    /// @dev Replaying the first batch (same indices) cannot record again, nor can any batch examine an
    /// operator twice: each signer is slashed exactly once, under one slash id each.
    function test_attack_replayABatch() public {
        (uint64 taskId,) = _aliceAbstainsFromFraud();
        bytes memory first = abi.encodeCall(IWardenChallenges.slashSigners, (taskId, _indices(0), 2));
        (bool ok,) = address(challenges).call(first);
        assertTrue(ok, "first batch");
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignersAlreadyRecorded.selector, taskId));
        (ok,) = address(challenges).call(first);
        (uint256 slashed, bool done) = challenges.slashSigners(taskId, new uint32[](0), 0);
        assertTrue(slashed == 2 && done, "Carol and Dave, once");
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.SlashingAlreadyComplete.selector, taskId));
        challenges.slashSigners(taskId, new uint32[](0), 0);
        for (uint256 id = 1; id <= 3; ++id) {
            assertEq(challenges.taskOfSlash(id), taskId, "slash ids 1-3: this task");
        }
        assertEq(challenges.taskOfSlash(4), 0, "no fourth slash");
    }

    /// @dev Indices at or past the id count when the challenge was upheld name nobody who could have
    /// abstained: Eve registered after the challenge (index 4) and an index far past the list are
    /// refused before the registry is asked.
    function test_attack_outOfRangeIndices() public {
        (uint64 taskId,) = _aliceAbstainsFromFraud();
        prepareOperator(address(0xE5E), 500 ether);
        register(address(0xE5E), skOf(address(0xE5E)));
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignerIndexOutOfRange.selector, 4, 4));
        challenges.slashSigners(taskId, _indices(4), 0);
        vm.expectRevert(
            abi.encodeWithSelector(IWardenChallenges.NonSignerIndexOutOfRange.selector, type(uint32).max, 4)
        );
        challenges.slashSigners(taskId, _indices(type(uint32).max), 0);
        _assertNothingRecorded(taskId);
        (uint256 slashed, bool done) = challenges.slashSigners(taskId, _indices(0), 0);
        assertTrue(slashed == 3 && done, "the signers, not Eve");
        assertEq(operatorShares(address(0xE5E)), 500 ether, "Eve untouched");
    }

    /// @dev Two fraudulent tasks with different non-signers: the record of one is no reference for the
    /// other. Task A (Alice abstained) refuses task B's list (Bob), and each task's record is its own.
    function test_attack_referenceForAnotherTask() public {
        (uint64 taskA,) = _aliceAbstainsFromFraud();
        (, uint64 otherAgent) = newVaultWithAgent(OTHER_OWNER, THRESHOLD_BPS);
        bytes memory output = fraudulentOutput();
        (uint64 taskB,) = commitBy(otherAgent, output, list(ALICE, CAROL, DAVE), list(BOB));
        assertTrue(challengeAs(CHALLENGER, taskB, output), "B upheld");

        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignersMismatch.selector, taskA));
        challenges.slashSigners(taskA, _indices(1), 0);
        challenges.slashSigners(taskA, _indices(0), 1);
        assertTrue(challenges.isRecordedNonSigner(taskA, 0), "A: Alice");
        assertTrue(!challenges.isRecordedNonSigner(taskB, 0), "B has no record from A");
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.NonSignersMismatch.selector, taskB));
        challenges.slashSigners(taskB, _indices(0), 0);
        (uint256 slashed, bool done) = challenges.slashSigners(taskB, _indices(1), 0);
        assertTrue(slashed == 3 && done, "B: Alice, Carol and Dave");
        assertEq(operatorShares(BOB), 200 ether, "Bob abstained from B and A is not done");
    }

    /// @dev The signers of a proven fraud lose their shares, but the registry no longer re-reads each
    /// one's weight as it is slashed: it voids the weights instead. Before the next refresh, the same
    /// signers (holding 90 % of the weight on paper) try another fraud on a task whose reference
    /// block follows the slash: refused as stale. After the refresh they weigh nothing.
    function test_attack_slashedSignersCommitAgainBeforeTheRefresh() public {
        (uint64 taskId,) = _aliceAbstainsFromFraud();
        challenges.slashSigners(taskId, _indices(0), 0);
        keeperOff = true;
        uint64 next = openFreshTask(agentId);
        vm.roll(block.number + 1);
        bytes memory output = fraudulentOutput();
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(next, output, list(BOB, CAROL, DAVE), list(ALICE));
        uint32 referenceBlock = taskOf(next).referenceBlock;
        vm.expectRevert(
            abi.encodeWithSignature("StaleWeights(uint32,uint32,uint32)", referenceBlock, 0, MAX_WEIGHT_AGE)
        );
        vm.prank(KEEPER);
        taskManager.commitOutput(next, output, new bytes32[](0), keys, signature);

        registry.refreshWeights();
        assertEq(weightOf(BOB) + weightOf(CAROL) + weightOf(DAVE), 0, "the fraudsters weigh nothing");
    }

    /// @dev Bob, Carol and Dave sign a fraud without Alice; a challenger proves it.
    function _aliceAbstainsFromFraud() private returns (uint64 taskId, BLS.G1Point[] memory keys) {
        bytes memory output = fraudulentOutput();
        (taskId, keys) = commitBy(agentId, output, list(BOB, CAROL, DAVE), list(ALICE));
        assertTrue(challengeAs(CHALLENGER, taskId, output), "upheld");
    }

    function _assertNothingRecorded(uint64 taskId) private view {
        (uint32 next, bool done) = challenges.slashingProgress(taskId);
        assertTrue(next == 0 && !done, "cursor untouched");
        for (uint256 i; i < 4; ++i) {
            assertTrue(!challenges.isRecordedNonSigner(taskId, i), "nothing recorded");
        }
    }

    function _indices(uint32 a) private pure returns (uint32[] memory indices) {
        indices = new uint32[](1);
        indices[0] = a;
    }
}
