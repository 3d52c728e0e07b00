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
        challenges.slashSigners(taskId, idsOf(keys), 0);
        (uint32 next, bool done) = challenges.slashingProgress(taskId);
        assertTrue(next == 0 && !done, "every signer still pending");
        assertEq(operatorShares(BOB), 200 ether, "nothing taken during the pause");

        IPausableTest(address(allocationManager)).unpause(0);
        vm.prank(BOB);
        (uint256 slashed, bool finished) = challenges.slashSigners(taskId, idsOf(keys), 0);
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
        (uint256 slashed,) = challenges.slashSigners(first, idsOf(keys), 0);
        assertEq(slashed, 4, "the first fraud takes everything");
        assertEq(SLASH_CALLER.balance, 4 * SLASH_FEE, "four fees");

        vm.recordLogs();
        vm.prank(SLASH_CALLER);
        (slashed,) = challenges.slashSigners(second, idsOf(keys), 0);
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
            challenges.challenge{value: CHALLENGE_BOND}(taskId, input, output, saltOf(CHALLENGER)),
            "the copy is upheld: fraud is stopped anyway"
        );
        assertEq(FRONT_RUNNER.balance, CHALLENGE_BOND, "the copier gets its bond back and nothing more");
        assertEq(challenges.bountyPool(), pool, "the bounty stays in the pool");

        vm.deal(CHALLENGER, CHALLENGE_BOND);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Fraudulent)
        );
        vm.prank(CHALLENGER);
        challenges.challenge{value: CHALLENGE_BOND}(taskId, input, output, saltOf(CHALLENGER));
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
}
