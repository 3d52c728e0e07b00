// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {ITaskManager, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev A contract account that relays calls, as a Safe's `execTransaction` or a relayer would: the
/// transaction's calldata is the forwarder's, not `commitOutput`'s.
contract Forwarder {
    error ForwardFailed(bytes reason);

    function forward(address target, bytes calldata data) external {
        (bool ok, bytes memory reason) = target.call(data);
        if (!ok) revert ForwardFailed(reason);
    }
}

/// @dev A commitment sent through another contract is as slashable as a direct one: everything the
/// challenger needs (the output and the non-signers' ids) is in `OutputCommitted`, not in calldata.
contract ForwardedCommitTest is TaskManagerFixture {
    address internal constant CHALLENGER = address(0xC4A11E);

    function setUp() public {
        deployWarden();
    }

    function test_forwardedCommit_isChallengedAndSlashedFromTheEvent() public {
        Forwarder forwarder = new Forwarder();
        uint64 taskId = openFreshTask(agentId);
        bytes memory output = fraudulentOutput();
        // Bob, Carol and Dave sign; Alice abstains and must not be slashed.
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, list(BOB, CAROL, DAVE), list(ALICE));

        vm.recordLogs();
        forwarder.forward(
            address(taskManager),
            abi.encodeCall(ITaskManager.commitOutput, (taskId, output, new bytes32[](0), keys, signature))
        );
        (bytes memory emittedOutput, bytes32[] memory nonSignerIds) = _committed(vm.getRecordedLogs(), taskId);
        assertState(taskId, TaskState.Committed, "committed through the forwarder");
        assertEq(emittedOutput, output, "output from the event");
        assertEq(nonSignerIds.length, 1, "one non-signer");
        assertEq(nonSignerIds[0], idOf(pkOf(ALICE)), "Alice's id");
        bytes32 nonSignerHash = keccak256(abi.encodePacked(nonSignerIds));
        assertEq(
            taskOf(taskId).commitmentHash,
            commitmentHash(keccak256(taskInput[taskId]), keccak256(emittedOutput), nonSignerHash),
            "the commitment hash binds the ids"
        );

        vm.deal(CHALLENGER, CHALLENGE_BOND);
        vm.prank(CHALLENGER);
        assertTrue(
            challenges.challenge{value: CHALLENGE_BOND}(
                taskId, taskInput[taskId], emittedOutput, bytes32(0), nonSignerHash, bytes32(0)
            ),
            "upheld"
        );
        (uint256 slashed, bool done) = challenges.slashSigners(taskId, indicesOfIds(nonSignerIds), 0);
        assertTrue(slashed == 3 && done, "the three signers slashed");
        assertEq(slashableStake(BOB) + slashableStake(CAROL) + slashableStake(DAVE), 0, "signers slashed");
        assertEq(slashableStake(ALICE), 100 ether, "the non-signer untouched");
    }

    /// @dev The event's ids of a commitment every operator signed: none, and the commitment binds a zero
    /// non-signer hash.
    function test_directCommit_emitsNoIdsWhenAllSign() public {
        uint64 taskId = openFreshTask(agentId);
        vm.recordLogs();
        commitAll(taskId, holdOutput());
        (, bytes32[] memory nonSignerIds) = _committed(vm.getRecordedLogs(), taskId);
        assertEq(nonSignerIds.length, 0, "no non-signer");
        assertEq(
            taskOf(taskId).commitmentHash,
            commitmentHash(keccak256(taskInput[taskId]), keccak256(holdOutput()), bytes32(0)),
            "no non-signer hash when everyone signed"
        );
    }

    function _committed(Vm.Log[] memory logs, uint64 taskId)
        private
        view
        returns (bytes memory output, bytes32[] memory nonSignerIds)
    {
        for (uint256 i; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(taskManager)
                    && logs[i].topics[0] == ITaskManager.OutputCommitted.selector
                    && logs[i].topics[1] == bytes32(uint256(taskId))
            ) {
                (,,,,, output, nonSignerIds) = abi.decode(
                    logs[i].data, (bytes32, bytes32, uint256, uint256, uint32, bytes, bytes32[])
                );
                return (output, nonSignerIds);
            }
        }
        revert("no OutputCommitted");
    }
}
