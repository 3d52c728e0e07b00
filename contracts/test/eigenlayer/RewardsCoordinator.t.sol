// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {
    IRewardsCoordinator,
    OperatorDirectedRewardsSubmission,
    OperatorReward,
    StrategyAndMultiplier
} from "../../src/interfaces/IEigenLayerRewards.sol";
import {RegistryFixture} from "../lib/RegistryFixture.sol";

/// @dev An AVS contract paying its operators, as Warden's registry does for `WardenRewards` with the fees it
/// accrues. It holds the tokens, approves the coordinator and submits as itself.
contract RewardsPayingAvs {
    function pay(IRewardsCoordinator coordinator, OperatorDirectedRewardsSubmission memory submission)
        external
    {
        uint256 total;
        for (uint256 i; i < submission.operatorRewards.length; ++i) {
            total += submission.operatorRewards[i].amount;
        }
        IERC20(submission.token).approve(address(coordinator), total);
        OperatorDirectedRewardsSubmission[] memory submissions = new OperatorDirectedRewardsSubmission[](1);
        submissions[0] = submission;
        coordinator.createOperatorDirectedAVSRewardsSubmission(address(this), submissions);
    }
}

/// @dev The RewardsCoordinator deployed beside the core takes an operator-directed rewards submission
/// from an AVS contract in the stake token, for a past period aligned to its calculation interval, with
/// operators in ascending order, and the tokens move from the AVS to the coordinator. Every constraint
/// the report names is checked by a refusal here.
contract RewardsCoordinatorTest is RegistryFixture {
    /// @dev A wall-clock time well after the coordinator's genesis, an hour into a day.
    uint256 internal constant NOW = 1_800_000_000 - (1_800_000_000 % 1 days) + 1 hours;

    IRewardsCoordinator internal coordinator;
    RewardsPayingAvs internal avs;

    function setUp() public {
        deployRegistry();
        registerTrio();
        vm.warp(NOW);
        coordinator = IRewardsCoordinator(rewardsCoordinator);
        avs = new RewardsPayingAvs();
        stakeToken.mint(address(avs), 1_000 ether);
    }

    function test_operatorDirectedRewards_tokensMove() public {
        assertEq(coordinator.CALCULATION_INTERVAL_SECONDS(), 1 days, "interval");
        assertEq(coordinator.GENESIS_REWARDS_TIMESTAMP(), GENESIS_REWARDS_TIMESTAMP, "genesis");
        OperatorDirectedRewardsSubmission memory submission = _yesterday();
        uint256 avsBefore = stakeToken.balanceOf(address(avs));

        avs.pay(coordinator, submission);

        assertEq(stakeToken.balanceOf(rewardsCoordinator), 60 ether, "the coordinator holds the rewards");
        assertEq(avsBefore - stakeToken.balanceOf(address(avs)), 60 ether, "paid by the AVS");
        assertEq(coordinator.submissionNonce(address(avs)), 1, "one submission");
        bytes32 hash = keccak256(abi.encode(address(avs), uint256(0), submission));
        assertTrue(coordinator.isOperatorDirectedAVSRewardsSubmissionHash(address(avs), hash), "recorded");
    }

    /// @dev The period must have ended before the submission's block.
    function test_revert_periodNotInThePast() public {
        OperatorDirectedRewardsSubmission memory submission = _yesterday();
        submission.startTimestamp += 1 days;
        vm.expectRevert();
        avs.pay(coordinator, submission);
    }

    function test_revert_startNotAligned() public {
        OperatorDirectedRewardsSubmission memory submission = _yesterday();
        submission.startTimestamp -= 1 hours;
        vm.expectRevert();
        avs.pay(coordinator, submission);
    }

    function test_revert_durationNotMultipleOfInterval() public {
        OperatorDirectedRewardsSubmission memory submission = _yesterday();
        submission.startTimestamp -= 1 days;
        submission.duration = 1 days + 1 hours;
        vm.expectRevert();
        avs.pay(coordinator, submission);
    }

    function test_revert_operatorsNotAscending() public {
        OperatorDirectedRewardsSubmission memory submission = _yesterday();
        (submission.operatorRewards[0], submission.operatorRewards[1]) =
        (submission.operatorRewards[1], submission.operatorRewards[0]);
        vm.expectRevert();
        avs.pay(coordinator, submission);
    }

    /// @dev No older than MAX_RETROACTIVE_LENGTH (90 days).
    function test_revert_tooFarInThePast() public {
        OperatorDirectedRewardsSubmission memory submission = _yesterday();
        // NOW and the test chain's blocks are far below 2^32.
        // forge-lint: disable-next-line(unsafe-typecast)
        submission.startTimestamp = uint32(NOW - (NOW % 1 days) - 91 days);
        vm.expectRevert();
        avs.pay(coordinator, submission);
    }

    function test_revert_strategyNotWhitelisted() public {
        OperatorDirectedRewardsSubmission memory submission = _yesterday();
        submission.strategiesAndMultipliers[0].strategy = address(0x5747);
        vm.expectRevert();
        avs.pay(coordinator, submission);
    }

    /// @dev Only the AVS itself submits for the AVS.
    function test_revert_callerIsNotTheAvs() public {
        OperatorDirectedRewardsSubmission[] memory submissions = new OperatorDirectedRewardsSubmission[](1);
        submissions[0] = _yesterday();
        stakeToken.mint(address(this), 60 ether);
        stakeToken.approve(rewardsCoordinator, 60 ether);
        vm.expectRevert();
        coordinator.createOperatorDirectedAVSRewardsSubmission(address(avs), submissions);
    }

    /// @dev The coordinator does not check that the operators are operators: any address is paid.
    function test_operatorsAreNotChecked() public {
        OperatorDirectedRewardsSubmission memory submission = _yesterday();
        submission.operatorRewards[0].operator = address(0x1);
        avs.pay(coordinator, submission);
        assertEq(stakeToken.balanceOf(rewardsCoordinator), 60 ether, "accepted");
    }

    /// @dev Yesterday (the last whole interval before NOW): 20 to the lower operator address, 40 to
    /// the higher, in the stake token over Warden's strategy.
    function _yesterday() private view returns (OperatorDirectedRewardsSubmission memory submission) {
        submission.strategiesAndMultipliers = new StrategyAndMultiplier[](1);
        submission.strategiesAndMultipliers[0] =
            StrategyAndMultiplier({strategy: address(strategy), multiplier: 1e18});
        submission.token = address(stakeToken);
        (address low, address high) = ALICE < BOB ? (ALICE, BOB) : (BOB, ALICE);
        submission.operatorRewards = new OperatorReward[](2);
        submission.operatorRewards[0] = OperatorReward({operator: low, amount: 20 ether});
        submission.operatorRewards[1] = OperatorReward({operator: high, amount: 40 ether});
        // NOW and the test chain's blocks are far below 2^32.
        // forge-lint: disable-next-line(unsafe-typecast)
        submission.startTimestamp = uint32(NOW - (NOW % 1 days) - 1 days);
        submission.duration = 1 days;
        submission.description = "warden: fees of signed tasks";
    }
}
