// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "../../src/WardenRegistry.sol";
import {WardenRewards} from "../../src/WardenRewards.sol";
import {
    IRewardsCoordinator,
    OperatorDirectedRewardsSubmission,
    OperatorReward,
    StrategyAndMultiplier
} from "../../src/interfaces/IEigenLayerRewards.sol";
import {ITaskManager} from "../../src/interfaces/ITaskManager.sol";
import {IWardenRewards} from "../../src/interfaces/IWardenRewards.sol";
import {IWardenVault} from "../../src/interfaces/IWardenVault.sol";
import {AddressSort} from "../../src/libraries/AddressSort.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev Operators are paid: each committed task's fee (10 base, prepaid from the vault) goes to the
/// operators that signed it, pro rata to their weight (Alice, Bob, Carol, Dave: 100, 200, 300, 400),
/// once the task can no longer be proved fraudulent, and reaches EigenLayer's real RewardsCoordinator
/// as Warden's operator-directed submission. Non-signers and the signers of a fraud earn nothing; a
/// signer slashed before it was paid forfeits what it had accrued.
contract RewardsTest is TaskManagerFixture {
    /// @dev A wall-clock time an hour into a day, well after the coordinator's genesis.
    uint256 internal constant NOW = 1_800_000_000 - (1_800_000_000 % 1 days) + 1 hours;
    address internal constant CHALLENGER = address(0xC4A11);
    address internal constant BURN = 0x00000000000000000000000000000000000E16E4;
    uint256 internal constant PREPAID = 50 ether;

    IRewardsCoordinator internal coordinator;

    function setUp() public {
        vm.warp(NOW);
        deployWarden();
        deployRewards();
        coordinator = IRewardsCoordinator(rewardsCoordinator);
        vm.prank(OWNER);
        vault.fundTaskFees(address(rewards), PREPAID);
    }

    /// @dev Accrues the task's fee with the input and output the fixture kept for it.
    function _accrue(uint64 taskId, bytes32[] memory nonSignerIds) private returns (uint256) {
        return rewards.accrue(
            taskId, keccak256(taskInput[taskId]), keccak256(taskOutput[taskId]), bytes32(0), nonSignerIds
        );
    }

    function test_vaultPrepaysTheFees() public view {
        assertEq(rewards.feeBalance(agentId), PREPAID, "prepaid");
        assertEq(base.balanceOf(address(rewards)), PREPAID, "held by the rewards contract");
        assertEq(base.balanceOf(address(vault)), VAULT_BASE - PREPAID, "paid by the vault");
        assertEq(base.allowance(address(vault), address(rewards)), 0, "no allowance left behind");
    }

    function test_accrue_paysEverySignerProRataToWeight() public {
        uint64 taskId = _executedHold();
        _pastFraudProofWindow(taskId);

        assertEq(_accrue(taskId, new bytes32[](0)), TASK_FEE, "the agent's fee");

        assertEq(rewards.pendingReward(address(base), ALICE), 1 ether, "alice 100/1000");
        assertEq(rewards.pendingReward(address(base), BOB), 2 ether, "bob 200/1000");
        assertEq(rewards.pendingReward(address(base), CAROL), 3 ether, "carol 300/1000");
        assertEq(rewards.pendingReward(address(base), DAVE), 4 ether, "dave 400/1000");
        assertEq(rewards.feeBalance(agentId), PREPAID - TASK_FEE, "charged once");
        assertTrue(rewards.accrued(taskId), "recorded");
    }

    /// @dev Alice did not sign: she earns nothing, and the others share the whole fee by the weight
    /// that signed (900), the rounding remainder staying with the agent.
    function test_nonSignerEarnsNothing() public {
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, holdOutput(), list(BOB, CAROL, DAVE), list(ALICE));
        _pastFraudProofWindow(taskId);

        _accrue(taskId, idsOf(keys));

        assertEq(rewards.pendingReward(address(base), ALICE), 0, "alice did not sign");
        uint256 bob = rewards.pendingReward(address(base), BOB);
        uint256 carol = rewards.pendingReward(address(base), CAROL);
        uint256 dave = rewards.pendingReward(address(base), DAVE);
        assertEq(bob, uint256(TASK_FEE) * 200 / 900, "bob 200/900");
        assertEq(carol, uint256(TASK_FEE) * 300 / 900, "carol 300/900");
        assertEq(dave, uint256(TASK_FEE) * 400 / 900, "dave 400/900");
        assertEq(rewards.feeBalance(agentId), PREPAID - (bob + carol + dave), "only the shares paid leave");
    }

    /// @dev Attack: whoever accrues a task names its non-signers; leaving Alice out would pay her for
    /// a task she did not sign.
    function test_attack_nonSignerListedAsSignerToBePaid() public {
        (uint64 taskId,) = commitBy(agentId, holdOutput(), list(BOB, CAROL, DAVE), list(ALICE));
        _pastFraudProofWindow(taskId);
        bytes32 inputHash = keccak256(taskInput[taskId]);
        bytes32 outputHash = keccak256(holdOutput());
        bytes32 committed = taskOf(taskId).commitmentHash;
        expectCommitmentMismatch(taskId, committed, inputHash, outputHash, bytes32(0));
        _accrue(taskId, new bytes32[](0));
        // Alice named with Bob, who signed: not the committed list either.
        bytes32[] memory withBob = new bytes32[](2);
        (withBob[0], withBob[1]) = (idOf(pkOf(ALICE)), idOf(pkOf(BOB)));
        if (withBob[0] > withBob[1]) (withBob[0], withBob[1]) = (withBob[1], withBob[0]);
        expectCommitmentMismatch(
            taskId, committed, inputHash, outputHash, keccak256(abi.encodePacked(withBob))
        );
        _accrue(taskId, withBob);
        assertEq(rewards.feeBalance(agentId), PREPAID, "nothing charged");
    }

    /// @dev The non-signer ids are bound through the commitment hash, which the input and output
    /// hashes open with them: another input or output hash with the right ids does not open it.
    function test_revert_accrue_wrongInputOrOutputHash() public {
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, holdOutput(), list(BOB, CAROL, DAVE), list(ALICE));
        _pastFraudProofWindow(taskId);
        bytes32[] memory ids = idsOf(keys);
        bytes32 inputHash = keccak256(taskInput[taskId]);
        bytes32 outputHash = keccak256(holdOutput());
        bytes32 nonSignerHash = keccak256(abi.encodePacked(ids));
        bytes32 committed = taskOf(taskId).commitmentHash;
        assertEq(committed, commitmentHash(inputHash, outputHash, nonSignerHash), "binds all three");
        // The rewards contract's error, as the task manager's (same selector).
        assertTrue(
            IWardenRewards.CommitmentMismatch.selector == ITaskManager.CommitmentMismatch.selector,
            "one selector"
        );
        bytes32 other = keccak256("something else");
        expectCommitmentMismatch(taskId, committed, other, outputHash, nonSignerHash);
        rewards.accrue(taskId, other, outputHash, bytes32(0), ids);
        expectCommitmentMismatch(taskId, committed, inputHash, other, nonSignerHash);
        rewards.accrue(taskId, inputHash, other, bytes32(0), ids);
        // The commitment hash itself is no input hash.
        expectCommitmentMismatch(taskId, committed, committed, outputHash, nonSignerHash);
        rewards.accrue(taskId, committed, outputHash, bytes32(0), ids);
        assertTrue(!rewards.accrued(taskId), "nothing accrued");
        assertEq(
            rewards.accrue(taskId, inputHash, outputHash, bytes32(0), ids),
            TASK_FEE,
            "the committed values open it"
        );
    }

    /// @dev Attack: a corrupt quorum has its fee accrued while its fraud can still be proved, so that it
    /// is paid even if a challenger proves it later.
    function test_attack_accrueBeforeTheFraudCanNoLongerBeProved() public {
        uint64 taskId = _executedHold();
        uint256 provableUntil = taskManager.provableUntil(taskId);
        rollTo(provableUntil);
        vm.expectRevert(abi.encodeWithSelector(IWardenRewards.StillProvable.selector, taskId, provableUntil));
        _accrue(taskId, new bytes32[](0));
    }

    /// @dev The signers of a proved fraud are slashed, not paid; the agent keeps its fee.
    function test_attack_fraudulentSignersPaid() public {
        (uint64 taskId,) = commitBy(agentId, fraudulentOutput(), list(BOB, CAROL, DAVE), list(ALICE));
        assertTrue(challengeAs(CHALLENGER, taskId, fraudulentOutput()), "fraud proved");
        _pastFraudProofWindow(taskId);
        bytes32[] memory nonSigners = new bytes32[](1);
        nonSigners[0] = idOf(pkOf(ALICE));
        vm.expectRevert(abi.encodeWithSelector(IWardenRewards.FraudulentTask.selector, taskId));
        _accrue(taskId, nonSigners);
        assertEq(rewards.feeBalance(agentId), PREPAID, "nothing charged");
    }

    function test_revert_accruedTwice() public {
        uint64 taskId = _executedHold();
        _pastFraudProofWindow(taskId);
        _accrue(taskId, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(IWardenRewards.AlreadyAccrued.selector, taskId));
        _accrue(taskId, new bytes32[](0));
    }

    function test_revert_unknownOrUncommittedTask() public {
        vm.expectRevert(abi.encodeWithSelector(IWardenRewards.UnknownTask.selector, uint64(99)));
        _accrue(99, new bytes32[](0));

        uint64 taskId = openFreshTask(agentId);
        _pastFraudProofWindow(taskId);
        vm.expectRevert(abi.encodeWithSelector(IWardenRewards.NotCommitted.selector, taskId));
        _accrue(taskId, new bytes32[](0));
    }

    /// @dev An agent whose prepaid fees ran short pays what is left, and then nothing. Anyone may top
    /// the fees up; prepaid fees only ever pay tasks.
    function test_accrue_chargesWhatIsLeft() public {
        address funder = address(0xF00D);
        base.mint(funder, 5 ether);
        vm.startPrank(funder);
        base.approve(address(rewards), 5 ether);
        rewards.fundFees(agentId, 5 ether);
        vm.stopPrank();
        uint64[] memory tasks = new uint64[](7);
        for (uint256 i; i < tasks.length; ++i) {
            tasks[i] = _executedHold();
        }
        _pastFraudProofWindow(tasks[tasks.length - 1]);
        for (uint256 i; i < 5; ++i) {
            assertEq(_accrue(tasks[i], new bytes32[](0)), TASK_FEE, "a full fee");
        }
        assertEq(_accrue(tasks[5], new bytes32[](0)), 5 ether, "what was left");
        assertEq(_accrue(tasks[6], new bytes32[](0)), 0, "nothing left");
        assertEq(rewards.feeBalance(agentId), 0, "used up");
        assertEq(rewards.pendingReward(address(base), DAVE), 22 ether, "dave: 4 of every 10");
    }

    function test_distribute_submitsToTheRewardsCoordinator() public {
        uint64 taskId = _executedHold();
        _pastFraudProofWindow(taskId);
        _accrue(taskId, new bytes32[](0));
        uint256 coordinatorBefore = base.balanceOf(address(coordinator));

        vm.prank(address(0x5EE));
        assertEq(rewards.distribute(address(base)), TASK_FEE, "everything accrued");

        assertEq(
            base.balanceOf(address(coordinator)) - coordinatorBefore, TASK_FEE, "the coordinator holds it"
        );
        assertEq(base.balanceOf(address(registry)), 0, "the registry only forwards");
        assertEq(coordinator.submissionNonce(address(registry)), 1, "one submission by Warden's AVS");
        OperatorDirectedRewardsSubmission memory expected =
            _expectedSubmission(list(ALICE, BOB, CAROL, DAVE), _amounts(1 ether, 2 ether, 3 ether, 4 ether));
        bytes32 hash = keccak256(abi.encode(address(registry), uint256(0), expected));
        assertTrue(
            coordinator.isOperatorDirectedAVSRewardsSubmissionHash(address(registry), hash), "as expected"
        );
        assertEq(rewards.pendingReward(address(base), DAVE), 0, "paid");
        assertEq(rewards.payees(address(base)).length, 0, "nobody waiting");
        assertEq(rewards.lastDistributedPeriod(address(base)), expected.startTimestamp, "period recorded");
    }

    /// @dev One submission per token and calculation interval; the next interval takes the next.
    function test_distribute_oncePerInterval() public {
        uint64 first = _executedHold();
        _pastFraudProofWindow(first);
        _accrue(first, new bytes32[](0));
        rewards.distribute(address(base));
        uint64 second = _executedHold();
        _pastFraudProofWindow(second);
        _accrue(second, new bytes32[](0));

        uint256 periodStart = block.timestamp - (block.timestamp % 1 days) - 1 days;
        vm.expectRevert(
            abi.encodeWithSelector(IWardenRewards.AlreadyDistributed.selector, address(base), periodStart)
        );
        rewards.distribute(address(base));

        vm.warp(block.timestamp + 1 days);
        assertEq(rewards.distribute(address(base)), TASK_FEE, "the next interval");
        assertEq(coordinator.submissionNonce(address(registry)), 2, "two submissions");
    }

    function test_revert_nothingToDistribute() public {
        vm.expectRevert(abi.encodeWithSelector(IWardenRewards.NothingToDistribute.selector, address(base)));
        rewards.distribute(address(base));
    }

    /// @dev Bob, Carol and Dave accrue for an honest task, then sign a fraud and are slashed before
    /// the distribution: they forfeit the unpaid rewards, which are burned; Alice is paid.
    function test_slashedSignerForfeitsAccruedRewards() public {
        uint64 honest = _executedHold();
        _pastFraudProofWindow(honest);
        _accrue(honest, new bytes32[](0));
        _slashedForFraud();

        uint256 burnBefore = base.balanceOf(BURN);
        assertEq(rewards.distribute(address(base)), 1 ether, "only alice is paid");
        assertEq(base.balanceOf(BURN) - burnBefore, 9 ether, "the slashed signers' shares burned");
        OperatorDirectedRewardsSubmission memory expected =
            _expectedSubmission(list(ALICE), _amounts(1 ether, 0, 0, 0));
        bytes32 hash = keccak256(abi.encode(address(registry), uint256(0), expected));
        assertTrue(
            coordinator.isOperatorDirectedAVSRewardsSubmissionHash(address(registry), hash), "alice only"
        );
    }

    /// @dev Slashed after signing an honest task but before it was accrued: the shares are forfeit at
    /// accrual.
    function test_slashedSignerForfeitsRewardsNotYetAccrued() public {
        uint64 honest = _executedHold();
        _slashedForFraud();
        _pastFraudProofWindow(honest);

        _accrue(honest, new bytes32[](0));

        assertEq(rewards.pendingReward(address(base), ALICE), 1 ether, "alice earns");
        assertEq(rewards.pendingReward(address(base), BOB), 0, "bob forfeits");
        assertEq(rewards.pendingReward(address(base), DAVE), 0, "dave forfeits");
        uint256 burnBefore = base.balanceOf(BURN);
        rewards.distribute(address(base));
        assertEq(base.balanceOf(BURN) - burnBefore, 9 ether, "burned at the distribution");
    }

    function test_revert_onlyTheRewardsDistributorSubmitsAsTheAvs() public {
        OperatorDirectedRewardsSubmission memory submission =
            _expectedSubmission(list(ALICE), _amounts(1 ether, 0, 0, 0));
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NotRewardsDistributor.selector, address(this)));
        registry.submitOperatorRewards(address(coordinator), submission);

        vm.expectRevert(
            abi.encodeWithSelector(WardenRegistry.RewardsDistributorAlreadySet.selector, address(rewards))
        );
        registry.setRewardsDistributor(address(0xBAD));
    }

    function test_revert_fundTaskFees_onlyOwner() public {
        vm.expectRevert();
        vault.fundTaskFees(address(rewards), 1 ether);
    }

    function test_revert_fundFees_unknownAgent() public {
        vm.expectRevert(abi.encodeWithSelector(IWardenRewards.UnknownAgent.selector, uint64(7)));
        rewards.fundFees(7, 1 ether);
    }

    function testFuzz_addressSort_ascendingPermutation(address[] memory list_) public pure {
        address[] memory sorted = new address[](list_.length);
        uint256 sum;
        for (uint256 i; i < list_.length; ++i) {
            sorted[i] = list_[i];
            sum += uint160(list_[i]);
        }
        AddressSort.ascending(sorted);
        uint256 sortedSum;
        for (uint256 i; i < sorted.length; ++i) {
            if (i > 0) assertTrue(sorted[i - 1] <= sorted[i], "ascending");
            sortedSum += uint160(sorted[i]);
        }
        assertEq(sortedSum, sum, "same elements");
    }

    // ------------------------------------------------------------------------------------------

    /// @dev A task all four signed, holding, executed.
    function _executedHold() internal returns (uint64 taskId) {
        taskId = finalTask(agentId, holdOutput());
        execute(taskId, holdOutput());
    }

    function _pastFraudProofWindow(uint64 taskId) internal {
        uint256 next = taskManager.provableUntil(taskId) + 1;
        if (block.number < next) rollTo(next);
    }

    /// @dev Bob, Carol and Dave sign a fraud, a challenger proves it and they are slashed.
    function _slashedForFraud() internal {
        (uint64 taskId,) = commitBy(agentId, fraudulentOutput(), list(BOB, CAROL, DAVE), list(ALICE));
        assertTrue(challengeAs(CHALLENGER, taskId, fraudulentOutput()), "fraud proved");
        bytes32[] memory nonSigners = new bytes32[](1);
        nonSigners[0] = idOf(pkOf(ALICE));
        challenges.slashSigners(taskId, indicesOfIds(nonSigners), 0);
        assertEq(registry.lastSlashedAt(BOB), block.number, "bob slashed");
    }

    function _amounts(uint256 a, uint256 b, uint256 c, uint256 d) internal pure returns (uint256[] memory l) {
        l = new uint256[](4);
        (l[0], l[1], l[2], l[3]) = (a, b, c, d);
    }

    /// @dev Warden's submission for yesterday: `operators` paid `amounts` (in the same order), sorted.
    function _expectedSubmission(address[] memory operators, uint256[] memory amounts)
        internal
        view
        returns (OperatorDirectedRewardsSubmission memory submission)
    {
        submission.strategiesAndMultipliers = new StrategyAndMultiplier[](1);
        submission.strategiesAndMultipliers[0] =
            StrategyAndMultiplier({strategy: address(strategy), multiplier: 1e18});
        submission.token = address(base);
        address[] memory sorted = new address[](operators.length);
        for (uint256 i; i < operators.length; ++i) {
            sorted[i] = operators[i];
        }
        AddressSort.ascending(sorted);
        submission.operatorRewards = new OperatorReward[](operators.length);
        for (uint256 i; i < sorted.length; ++i) {
            for (uint256 j; j < operators.length; ++j) {
                if (operators[j] == sorted[i]) {
                    submission.operatorRewards[i] = OperatorReward({operator: sorted[i], amount: amounts[j]});
                }
            }
        }
        // The test chain's clock is far below 2^32.
        // forge-lint: disable-next-line(unsafe-typecast)
        submission.startTimestamp = uint32(block.timestamp - (block.timestamp % 1 days) - 1 days);
        submission.duration = 1 days;
        submission.description = "Warden task fees";
    }
}
