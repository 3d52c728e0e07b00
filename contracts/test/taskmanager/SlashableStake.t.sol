// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {ITaskManager} from "../../src/interfaces/ITaskManager.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev Issue 10, item 2: the weight that signs must be stake that stays slashable for the task's whole
/// life. Bob, Carol and Dave (900 of 1000) are thieves; Alice is honest and never signs their fraud.
/// Every attack runs against the real EigenLayer core, and "slashed" is read from EigenLayer itself:
/// the stake tokens its StrategyManager pays Warden's redistribution recipient when the slashes are
/// cleared, and what a withdrawal pays out.
contract SlashableStakeTest is TaskManagerFixture {
    address internal constant CHALLENGER = address(0xC4A11E);
    uint256 internal constant THIEVES_STAKE = 900 ether;

    function setUp() public {
        deployWarden();
        // The attacks run on a chain where only what the test does happens: no keeper refreshes
        // unless the test says so.
        keeperOff = true;
    }

    function thieves() internal pure returns (address[] memory) {
        return list(BOB, CAROL, DAVE);
    }

    /// @dev What an honest keeper (the aggregator, or anyone) does on its schedule.
    function keeperRefresh() internal {
        registry.refreshWeights();
    }

    function withdrawAll(address[] memory operators) internal {
        for (uint256 i; i < operators.length; ++i) {
            queueFullWithdrawal(operators[i], operatorShares(operators[i]));
        }
    }

    function staleWeights(uint32 referenceBlock, uint32 refreshedAt) internal view returns (bytes memory) {
        return abi.encodeWithSignature(
            "StaleWeights(uint32,uint32,uint32)", referenceBlock, refreshedAt, registry.maxWeightAge()
        );
    }

    /// @dev The thieves commit `output` for a fresh task; Alice is the non-signer. Returns whether the
    /// commitment went through, and the revert data if not.
    function tryThievesCommit(bytes memory output)
        internal
        returns (uint64 taskId, BLS.G1Point[] memory keys, bool committed, bytes memory reason)
    {
        taskId = openFreshTask(agentId);
        BLS.G2Point memory signature;
        (keys, signature) = quorum(taskId, output, thieves(), list(ALICE));
        vm.prank(KEEPER);
        (committed, reason) = address(taskManager)
            .call(
                abi.encodeCall(ITaskManager.commitOutput, (taskId, output, new bytes32[](0), keys, signature))
            );
        if (committed) noteCommitment(taskId, output, keys);
    }

    // ------------------------------------------------------------------------------------------
    // (a) withdraw everything, then commit a fraud on the phantom weight
    // ------------------------------------------------------------------------------------------

    /// @dev Nobody refreshes: the weights at the reference block are older than the bound (the
    /// withdrawal delay alone outlasts it), so the phantom quorum is refused as stale.
    function test_attack_withdrawAllThenCommitFraud() public {
        uint32 refreshedAt = uint32(block.number - 1);
        withdrawAll(thieves());
        vm.roll(block.number + delegation.minWithdrawalDelayBlocks() + 1);
        for (uint256 i; i < 3; ++i) {
            completeWithdrawal(thieves()[i]);
        }
        (uint64 taskId,, bool committed, bytes memory reason) = tryThievesCommit(fraudulentOutput());
        assertTrue(!committed, "the phantom quorum's fraud is refused");
        assertEq(reason, staleWeights(taskOf(taskId).referenceBlock, refreshedAt), "as stale");
    }

    /// @dev With an honest keeper refreshing on schedule, the withdrawn weight is gone and the thieves
    /// are no quorum at all.
    function test_attack_withdrawAllThenCommitFraud_keeperRefreshes() public {
        withdrawAll(thieves());
        vm.roll(block.number + delegation.minWithdrawalDelayBlocks() + 1);
        for (uint256 i; i < 3; ++i) {
            completeWithdrawal(thieves()[i]);
        }
        keeperRefresh();
        (,, bool committed, bytes memory reason) = tryThievesCommit(fraudulentOutput());
        assertTrue(!committed, "refused");
        assertEq(
            reason,
            abi.encodeWithSelector(ITaskManager.QuorumNotReached.selector, 0, 100 ether, THRESHOLD_BPS),
            "the thieves' weight is zero"
        );
    }

    /// @dev Queued but not yet completed: EigenLayer already removed the shares from the operators'
    /// delegated stake, so a refresh right after queueing drops them from the weight.
    function test_attack_queueWithdrawalThenCommitFraud_keeperRefreshes() public {
        withdrawAll(thieves());
        vm.roll(block.number + 1);
        keeperRefresh();
        (,, bool committed, bytes memory reason) = tryThievesCommit(fraudulentOutput());
        assertTrue(!committed, "refused");
        assertEq(
            reason,
            abi.encodeWithSelector(ITaskManager.QuorumNotReached.selector, 0, 100 ether, THRESHOLD_BPS),
            "queued shares do not count"
        );
    }

    // ------------------------------------------------------------------------------------------
    // (a') commit first, then withdraw inside the challenge window
    // ------------------------------------------------------------------------------------------

    /// @dev The withdrawal delay covers the weight horizon, which covers every window: the queued
    /// shares are still in EigenLayer's slashable withdrawal queue when the slash lands, and the
    /// withdrawal later pays out nothing.
    function test_attack_commitThenWithdrawInsideChallengeWindow() public {
        uint256 recipientBefore = stakeToken.balanceOf(taskManager.restitution());
        (uint64 taskId, BLS.G1Point[] memory keys, bool committed,) = tryThievesCommit(fraudulentOutput());
        assertTrue(committed, "the fraud is committed on live stake");
        withdrawAll(thieves());
        uint256 completable = block.number + delegation.minWithdrawalDelayBlocks() + 1;
        uint256 received;
        bool withdrawn;
        if (completable <= taskOf(taskId).deadline) {
            // The attack as it worked with a 5-block withdrawal delay: out before the challenge.
            vm.roll(completable);
            for (uint256 i; i < 3; ++i) {
                received += completeWithdrawal(thieves()[i]);
            }
            withdrawn = true;
        }
        assertTrue(challengeAs(CHALLENGER, taskId, fraudulentOutput()), "challenge upheld");
        challenges.slashSigners(taskId, indicesOf(keys), 0);
        assertEq(
            _clearedToRecipient(recipientBefore), THIEVES_STAKE, "every thief's stake reached the recipient"
        );

        if (!withdrawn) {
            vm.roll(completable > block.number ? completable : block.number + 1);
            for (uint256 i; i < 3; ++i) {
                received += completeWithdrawal(thieves()[i]);
            }
        }
        assertEq(received, 0, "the withdrawals pay out nothing");
    }

    // ------------------------------------------------------------------------------------------
    // (b) a deallocation started ahead of the reference block
    // ------------------------------------------------------------------------------------------

    /// @dev The thieves start deallocating DEALLOCATION_DELAY blocks ahead and commit just before it
    /// takes effect, so that a challenge a few blocks later finds nothing allocated. The keeper's
    /// refresh counts the stake slashable at `weightHorizon` blocks ahead, which excludes the pending
    /// deallocation: the thieves are no quorum.
    function test_attack_deallocateAheadOfReferenceBlock() public {
        for (uint256 i; i < 3; ++i) {
            setAllocation(thieves()[i], address(registry), registry.OPERATOR_SET_ID(), 0);
        }
        uint256 effect = block.number + DEALLOCATION_DELAY + 1;
        vm.roll(effect - 20);
        keeperRefresh();
        uint256 recipientBefore = stakeToken.balanceOf(taskManager.restitution());
        (uint64 taskId, BLS.G1Point[] memory keys, bool committed, bytes memory reason) =
            tryThievesCommit(fraudulentOutput());
        if (committed) {
            // What the attack did before: the slash comes after the deallocation took effect.
            assertTrue(taskOf(taskId).referenceBlock < effect, "reference block before the deallocation");
            vm.roll(effect + 1);
            challengeAs(CHALLENGER, taskId, fraudulentOutput());
            challenges.slashSigners(taskId, indicesOf(keys), 0);
            assertEq(_clearedToRecipient(recipientBefore), THIEVES_STAKE, "the slash must take real stake");
        }
        assertEq(
            reason,
            abi.encodeWithSelector(ITaskManager.QuorumNotReached.selector, 0, 100 ether, THRESHOLD_BPS),
            "the deallocating stake does not count"
        );
    }

    /// @dev A deallocation that takes effect just beyond the horizon still counts, and the horizon
    /// covers every window: the slash lands before the deallocation and takes real shares.
    function test_attack_deallocateJustBeyondHorizon_slashedForReal() public {
        for (uint256 i; i < 3; ++i) {
            setAllocation(thieves()[i], address(registry), registry.OPERATOR_SET_ID(), 0);
        }
        uint256 effect = block.number + DEALLOCATION_DELAY + 1;
        // Refresh at the last block whose horizon does not reach the deallocation.
        vm.roll(effect - registry.weightHorizon() - 1);
        keeperRefresh();
        assertEq(weightOf(DAVE), 400 ether, "still counted");
        uint256 recipientBefore = stakeToken.balanceOf(taskManager.restitution());
        vm.roll(block.number + registry.maxWeightAge() - 17);
        (uint64 taskId, BLS.G1Point[] memory keys, bool committed,) = tryThievesCommit(fraudulentOutput());
        assertTrue(committed, "committed on weight that is slashable for the task's whole life");
        vm.roll(taskOf(taskId).deadline);
        assertTrue(challengeAs(CHALLENGER, taskId, fraudulentOutput()), "upheld");
        vm.roll(block.number + SLASHING_PERIOD);
        assertTrue(block.number < effect, "slashing ends before the deallocation takes effect");
        challenges.slashSigners(taskId, indicesOf(keys), 0);
        assertEq(
            _clearedToRecipient(recipientBefore), THIEVES_STAKE, "every thief's stake reached the recipient"
        );
    }

    // ------------------------------------------------------------------------------------------
    // Phantom weight stalls quorums
    // ------------------------------------------------------------------------------------------

    /// @dev Carol and Dave (700 of 1000) withdraw and stop signing. Their phantom weight used to make
    /// an honest quorum impossible; now a quorum on stale weights is refused until someone refreshes,
    /// and after the refresh Alice and Bob, all the real stake left, commit.
    function test_attack_phantomWeightStallsQuorum() public {
        uint32 refreshedAt = uint32(block.number - 1);
        withdrawAll(list(CAROL, DAVE));
        vm.roll(block.number + delegation.minWithdrawalDelayBlocks() + 1);
        completeWithdrawal(CAROL);
        completeWithdrawal(DAVE);

        uint64 taskId = openFreshTask(agentId);
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, holdOutput(), list(ALICE, BOB), list(CAROL, DAVE));
        vm.prank(KEEPER);
        vm.expectRevert(staleWeights(taskOf(taskId).referenceBlock, refreshedAt));
        taskManager.commitOutput(taskId, holdOutput(), new bytes32[](0), keys, signature);

        keeperRefresh();
        // The stale task cannot be committed; once its response window is over the next one opens.
        vm.roll(taskOf(taskId).openedAt + RESPONSE_WINDOW + 1);
        taskId = openFreshTask(agentId);
        (keys, signature) = quorum(taskId, holdOutput(), list(ALICE, BOB), list(CAROL, DAVE));
        vm.prank(KEEPER);
        taskManager.commitOutput(taskId, holdOutput(), new bytes32[](0), keys, signature);
        assertEq(taskOf(taskId).signedWeight, 300 ether, "all the real stake signed");
    }

    /// @dev Clears every pending slash of Warden's set and returns what the recipient has received
    /// since `before`: the stake tokens themselves, not just shares booked for them.
    function _clearedToRecipient(uint256 before) private returns (uint256) {
        clearAllSlashes(address(registry), taskManager.restitution());
        return stakeToken.balanceOf(taskManager.restitution()) - before;
    }
}
