// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ITaskManager} from "../../src/interfaces/ITaskManager.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev A committer that refuses ether.
contract RejectingReceiver {}

/// @dev Issue 10, item 5: agents pay for service. Each commitment pays its committer `commitFee` from
/// the agent's prepaid balance, so an aggregator can serve only agents that pay, and a flood of fake
/// agents costs their creator, not the aggregator.
contract ServiceFeeTest is TaskManagerFixture {
    address internal constant AGGREGATOR = address(0xA66);

    function setUp() public {
        deployWarden();
    }

    function fundAgent(uint256 amount) internal {
        vm.deal(address(this), amount);
        taskManager.fundService{value: amount}(agentId);
    }

    function test_fundService_creditsTheAgent() public {
        vm.expectEmit(true, true, false, true, address(taskManager));
        emit ITaskManager.ServiceFunded(agentId, address(this), 1 ether);
        fundAgent(1 ether);
        assertEq(taskManager.serviceBalance(agentId), 1 ether, "balance");
        assertEq(address(taskManager).balance, 1 ether, "held");
    }

    function test_revert_fundService_unknownAgent() public {
        vm.deal(address(this), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownAgent.selector, 9));
        taskManager.fundService{value: 1 ether}(9);
    }

    function test_commitOutput_paysTheCommitter() public {
        fundAgent(1 ether);
        uint64 taskId = openFreshTask(agentId);
        vm.expectEmit(true, true, false, true, address(taskManager));
        emit ITaskManager.ServiceFeePaid(taskId, AGGREGATOR, COMMIT_FEE);
        commitAllAs(AGGREGATOR, taskId, holdOutput());
        assertEq(taskManager.serviceFeesOwed(AGGREGATOR), COMMIT_FEE, "owed");
        assertEq(taskManager.serviceBalance(agentId), 1 ether - COMMIT_FEE, "charged");

        vm.expectEmit(true, false, false, true, address(taskManager));
        emit ITaskManager.ServiceFeesWithdrawn(AGGREGATOR, COMMIT_FEE);
        vm.prank(AGGREGATOR);
        taskManager.withdrawServiceFees();
        assertEq(AGGREGATOR.balance, COMMIT_FEE, "paid");
        assertEq(taskManager.serviceFeesOwed(AGGREGATOR), 0, "nothing owed");
    }

    /// @dev An unfunded agent is still served by whoever commits for free; an underfunded one pays what
    /// it has. The aggregator decides whom it serves (`serviceBalance` against `commitFee`).
    function test_commitOutput_feeLimitedByBalance() public {
        uint64 taskId = openFreshTask(agentId);
        commitAllAs(AGGREGATOR, taskId, holdOutput());
        assertEq(taskManager.serviceFeesOwed(AGGREGATOR), 0, "nothing to pay");

        fundAgent(COMMIT_FEE / 4);
        vm.roll(taskOf(taskId).deadline + 1);
        execute(taskId, holdOutput());
        uint64 second = openFreshTask(agentId);
        commitAllAs(AGGREGATOR, second, holdOutput());
        assertEq(taskManager.serviceFeesOwed(AGGREGATOR), COMMIT_FEE / 4, "what was left");
        assertEq(taskManager.serviceBalance(agentId), 0, "empty");
    }

    function test_reclaimService_onlyTheVaultOwner() public {
        fundAgent(1 ether);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.NotVaultOwner.selector, BOB, OWNER));
        vm.prank(BOB);
        taskManager.reclaimService(agentId, 1, payable(BOB));

        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.InsufficientServiceBalance.selector, agentId, 1 ether, 2 ether
            )
        );
        vm.prank(OWNER);
        taskManager.reclaimService(agentId, 2 ether, payable(OWNER));

        vm.expectEmit(true, true, false, true, address(taskManager));
        emit ITaskManager.ServiceReclaimed(agentId, CAROL, 0.4 ether);
        vm.prank(OWNER);
        taskManager.reclaimService(agentId, 0.4 ether, payable(CAROL));
        assertEq(CAROL.balance, 0.4 ether, "sent");
        assertEq(taskManager.serviceBalance(agentId), 0.6 ether, "left");
    }

    function test_revert_withdrawServiceFees_receiverRefuses() public {
        fundAgent(1 ether);
        RejectingReceiver receiver = new RejectingReceiver();
        uint64 taskId = openFreshTask(agentId);
        commitAllAs(address(receiver), taskId, holdOutput());
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.PaymentFailed.selector, address(receiver), COMMIT_FEE)
        );
        vm.prank(address(receiver));
        taskManager.withdrawServiceFees();
        assertEq(taskManager.serviceFeesOwed(address(receiver)), COMMIT_FEE, "still owed");
    }
}
