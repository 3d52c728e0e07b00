// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {ITaskManager, TaskHashes, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {BLS12381} from "../../src/libraries/BLS12381.sol";
import {BLSTestKeys} from "../lib/BLSTestKeys.sol";
import {IWardenChallenges, SignedOutput} from "../../src/interfaces/IWardenChallenges.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev Equivocation: two valid signatures by one operator over two different outputs of one task
/// slash it through EigenLayer; any forged, mismatched or stale evidence is refused.
contract EquivocationTest is TaskManagerFixture {
    event log_named_uint(string key, uint256 val);

    address internal constant EVE = address(0xE5E);
    address internal constant WATCHER = address(0x3A7C4);
    /// @dev Two hash-to-G2 (~56 k each), two 2-pair pairings (~105 k each) and an EigenLayer slash
    /// (measured 989 k in all on the redistribution core, whose slash books the shares under a slash
    /// id; ~850 k on v1.3.0).
    uint256 internal constant MAX_GAS_EQUIVOCATION = 1_050_000;

    uint64 internal taskId;
    bytes32 internal hashA;
    bytes32 internal hashB;
    /// @dev What opens the open task's record, computed ahead: an argument built with a call would
    /// be the call `vm.expectRevert` expects to revert.
    TaskHashes internal openHashes;

    function setUp() public {
        deployWarden();
        taskId = openFreshTask(agentId);
        hashA = keccak256(holdOutput());
        hashB = keccak256(fraudulentOutput());
        openHashes = openHashesOf(taskId);
    }

    function test_slashEquivocation_slashesTheOperator() public {
        BLS.G1Point memory key = pkOf(ALICE);
        bytes32 operatorId = idOf(key);
        BLS.G2Point memory sigA = _sign(ALICE, taskId, hashA);
        BLS.G2Point memory sigB = _sign(ALICE, taskId, hashB);
        (, uint96 totalBefore,) = registry.quorumAt(uint32(block.number));

        vm.expectEmit(true, true, true, true, address(challenges));
        emit IWardenChallenges.EquivocationSlashed(
            taskId, ALICE, operatorId, hashA, bytes32(0), hashB, bytes32(0), 1, 100 ether
        );
        vm.prank(WATCHER);
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), sigB)
        );

        assertTrue(challenges.equivocationSlashed(taskId, operatorId), "recorded");
        assertEq(challenges.taskOfSlash(1), taskId, "EigenLayer's slash 1 punished this task");
        assertEq(slashableStake(ALICE), 0, "nothing left to slash");
        assertEq(operatorShares(ALICE), 0, "shares slashed");
        assertEq(registry.weightsRefreshedAt(uint32(block.number)), 0, "weights voided until a refresh");
        registry.refreshWeights();
        assertEq(weightOf(ALICE), 0, "no weight in later quorums");
        (, uint96 totalAfter,) = registry.quorumAt(uint32(block.number));
        assertEq(totalAfter, totalBefore - 100 ether, "total weight");
        assertEq(operatorShares(BOB), 200 ether, "others untouched");
        assertEq(uint256(stateOf(taskId)), uint256(TaskState.Open), "the task itself is unaffected");

        // Once per task and operator, in either order of the evidence.
        vm.expectRevert(
            abi.encodeWithSelector(IWardenChallenges.EquivocationAlreadySlashed.selector, taskId, operatorId)
        );
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), sigB)
        );
        vm.expectRevert(
            abi.encodeWithSelector(IWardenChallenges.EquivocationAlreadySlashed.selector, taskId, operatorId)
        );
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashB, bytes32(0), sigB),
            SignedOutput(hashA, bytes32(0), sigA)
        );
    }

    /// @dev Evidence stays valid after the task moved on; an operator that left the set since the
    /// reference block is still slashable within EigenLayer's deallocation delay.
    function test_slashEquivocation_afterCommitmentAndDeregistration() public {
        commitAll(taskId, holdOutput());
        deregister(BOB);
        BLS.G2Point memory sigA = _sign(BOB, taskId, hashA);
        BLS.G2Point memory sigB = _sign(BOB, taskId, hashB);
        challenges.slashEquivocation(
            taskId,
            hashesOf(taskId, holdOutput()),
            pkOf(BOB),
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), sigB)
        );
        assertEq(operatorShares(BOB), 0, "slashed after leaving");
    }

    /// @dev Before the commitment the input hash alone, shown as `(inputHash, 0, 0)`, opens the task:
    /// another input hash, or any output or non-signer hash with it, is refused before any signature
    /// is looked at.
    function test_revert_slashEquivocation_hashesThatDoNotOpenAnOpenTask() public {
        bytes32 inputHash = inputHashOf(taskId);
        TaskHashes[3] memory wrong = [
            TaskHashes({
                inputHash: keccak256("another snapshot"),
                outputHash: 0,
                traceHash: bytes32(0),
                nonSignerHash: 0
            }),
            TaskHashes({inputHash: inputHash, outputHash: hashA, traceHash: bytes32(0), nonSignerHash: 0}),
            TaskHashes({
                inputHash: inputHash, outputHash: 0, traceHash: bytes32(0), nonSignerHash: keccak256("ids")
            })
        ];
        _expectRefused(wrong[0], inputHash, wrong[0].inputHash);
        for (uint256 i = 1; i < wrong.length; ++i) {
            _expectRefused(wrong[i], inputHash, _commitmentOf(wrong[i]));
        }
        assertTrue(!challenges.equivocationSlashed(taskId, idOf(pkOf(ALICE))), "nothing recorded");
    }

    /// @dev A committed task keeps only its commitment hash: the evidence shows the input hash with the
    /// committed output's and non-signers' hashes, and anything else is refused (the input hash alone,
    /// the commitment hash passed as an input hash, another input, output or non-signer hash).
    function test_revert_slashEquivocation_hashesThatDoNotOpenACommittedTask() public {
        bytes32 inputHash = inputHashOf(taskId);
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, holdOutput(), list(ALICE, BOB, DAVE), list(CAROL));
        commitWith(KEEPER, taskId, holdOutput(), keys, signature);
        bytes32 committed = taskOf(taskId).commitmentHash;
        bytes32 nonSignerHash = nonSignerHashOf(keys);
        assertEq(committed, commitmentHash(inputHash, hashA, nonSignerHash), "the commitment binds all three");
        TaskHashes[5] memory wrong = [
            TaskHashes({inputHash: inputHash, outputHash: 0, traceHash: bytes32(0), nonSignerHash: 0}),
            TaskHashes({inputHash: committed, outputHash: 0, traceHash: bytes32(0), nonSignerHash: 0}),
            TaskHashes({
                inputHash: keccak256("another snapshot"),
                outputHash: hashA,
                traceHash: bytes32(0),
                nonSignerHash: nonSignerHash
            }),
            TaskHashes({
                inputHash: inputHash, outputHash: hashB, traceHash: bytes32(0), nonSignerHash: nonSignerHash
            }),
            TaskHashes({inputHash: inputHash, outputHash: hashA, traceHash: bytes32(0), nonSignerHash: 0})
        ];
        for (uint256 i; i < wrong.length; ++i) {
            _expectRefused(wrong[i], committed, _commitmentOf(wrong[i]));
        }
        assertTrue(!challenges.equivocationSlashed(taskId, idOf(pkOf(ALICE))), "nothing recorded");

        challenges.slashEquivocation(
            taskId,
            TaskHashes({
                inputHash: inputHash, outputHash: hashA, traceHash: bytes32(0), nonSignerHash: nonSignerHash
            }),
            pkOf(ALICE),
            SignedOutput(hashA, bytes32(0), _sign(ALICE, taskId, hashA)),
            SignedOutput(hashB, bytes32(0), _sign(ALICE, taskId, hashB))
        );
        assertTrue(challenges.equivocationSlashed(taskId, idOf(pkOf(ALICE))), "the committed hashes open it");
    }

    /// @dev The digest names the input hash the evidence shows: signatures over a made-up snapshot's
    /// digest are no evidence about this task, whatever hashes are shown.
    function test_revert_slashEquivocation_signaturesOverAnotherInput() public {
        BLS.G1Point memory key = pkOf(ALICE);
        bytes32 fakeInput = keccak256("another snapshot");
        BLS.G2Point memory sigA =
            BLSTestKeys.sign(skOf(ALICE), taskManager.outputDigest(taskId, fakeInput, hashA, bytes32(0)));
        BLS.G2Point memory sigB =
            BLSTestKeys.sign(skOf(ALICE), taskManager.outputDigest(taskId, fakeInput, hashB, bytes32(0)));
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.InvalidEquivocationSignature.selector, 0));
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), sigB)
        );
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.CommitmentMismatch.selector, taskId, inputHashOf(taskId), fakeInput
            )
        );
        challenges.slashEquivocation(
            taskId,
            TaskHashes({inputHash: fakeInput, outputHash: 0, traceHash: bytes32(0), nonSignerHash: 0}),
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), sigB)
        );
    }

    /// @dev A slash EigenLayer refuses reverts the whole call: the evidence is not spent.
    function test_revert_slashEquivocation_notSlashableAnyMore() public {
        BLS.G2Point memory sigA = _sign(ALICE, taskId, hashA);
        BLS.G2Point memory sigB = _sign(ALICE, taskId, hashB);
        BLS.G1Point memory key = pkOf(ALICE);
        deregister(ALICE);
        vm.roll(block.number + DEALLOCATION_DELAY + 1);
        vm.expectRevert(abi.encodeWithSignature("OperatorNotSlashable()"));
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), sigB)
        );
        assertTrue(!challenges.equivocationSlashed(taskId, idOf(key)), "not recorded");
    }

    function test_revert_slashEquivocation_sameOutput() public {
        BLS.G2Point memory sigA = _sign(ALICE, taskId, hashA);
        BLS.G1Point memory key = pkOf(ALICE);
        vm.expectRevert(IWardenChallenges.SameOutput.selector);
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashA, bytes32(0), sigA)
        );
    }

    /// @dev One output signed with two activation traces is two digests for one task: equivocation,
    /// slashed like two outputs. The same output and trace twice is not.
    function test_slashEquivocation_oneOutputTwoTraces() public {
        bytes32 traceA = keccak256("trace A");
        bytes32 traceB = keccak256("trace B");
        BLS.G2Point memory sigA = BLSTestKeys.sign(skOf(ALICE), digestOf(taskId, hashA, traceA));
        BLS.G2Point memory sigB = BLSTestKeys.sign(skOf(ALICE), digestOf(taskId, hashA, traceB));
        BLS.G1Point memory key = pkOf(ALICE);

        vm.expectRevert(IWardenChallenges.SameOutput.selector);
        challenges.slashEquivocation(
            taskId, openHashes, key, SignedOutput(hashA, traceA, sigA), SignedOutput(hashA, traceA, sigA)
        );
        // A signature over one trace is no evidence for another.
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.InvalidEquivocationSignature.selector, 1));
        challenges.slashEquivocation(
            taskId, openHashes, key, SignedOutput(hashA, traceA, sigA), SignedOutput(hashA, traceB, sigA)
        );

        challenges.slashEquivocation(
            taskId, openHashes, key, SignedOutput(hashA, traceA, sigA), SignedOutput(hashA, traceB, sigB)
        );
        assertTrue(challenges.equivocationSlashed(taskId, idOf(key)), "slashed for two traces");
        assertEq(operatorShares(ALICE), 0, "shares slashed");
    }

    function test_revert_slashEquivocation_wrongKey() public {
        BLS.G2Point memory aliceA = _sign(ALICE, taskId, hashA);
        BLS.G2Point memory aliceB = _sign(ALICE, taskId, hashB);
        BLS.G2Point memory bobA = _sign(BOB, taskId, hashA);
        BLS.G1Point memory bobKey = pkOf(BOB);
        // Alice's signatures presented as Bob's.
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.InvalidEquivocationSignature.selector, 0));
        challenges.slashEquivocation(
            taskId,
            openHashes,
            bobKey,
            SignedOutput(hashA, bytes32(0), aliceA),
            SignedOutput(hashB, bytes32(0), aliceB)
        );
        // Bob's first, Alice's second: two operators disagreeing is no equivocation.
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.InvalidEquivocationSignature.selector, 1));
        challenges.slashEquivocation(
            taskId,
            openHashes,
            bobKey,
            SignedOutput(hashA, bytes32(0), bobA),
            SignedOutput(hashB, bytes32(0), aliceB)
        );
    }

    /// @dev The digest binds the task: signatures over different outputs of two tasks are no
    /// equivocation.
    function test_revert_slashEquivocation_signatureOfAnotherTask() public {
        (, uint64 otherAgent) = newVaultWithAgent(BOB, THRESHOLD_BPS);
        uint64 otherTask = openFreshTask(otherAgent);
        BLS.G2Point memory sigA = _sign(ALICE, taskId, hashA);
        BLS.G2Point memory sigB = _sign(ALICE, otherTask, hashB);
        BLS.G1Point memory key = pkOf(ALICE);
        TaskHashes memory otherHashes = openHashesOf(otherTask);
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.InvalidEquivocationSignature.selector, 1));
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), sigB)
        );
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.InvalidEquivocationSignature.selector, 0));
        challenges.slashEquivocation(
            otherTask,
            otherHashes,
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), sigB)
        );
    }

    /// @dev Only operators of the set at the task's reference block can equivocate on it.
    function test_revert_slashEquivocation_operatorNotInSet() public {
        uint32 referenceBlock = taskOf(taskId).referenceBlock;
        prepareOperator(EVE, 500 ether);
        BLS.G1Point memory eveKey = register(EVE, skOf(EVE));
        BLS.G2Point memory sigA = _sign(EVE, taskId, hashA);
        BLS.G2Point memory sigB = _sign(EVE, taskId, hashB);
        vm.expectRevert(
            abi.encodeWithSelector(IWardenChallenges.OperatorNotInSet.selector, idOf(eveKey), referenceBlock)
        );
        challenges.slashEquivocation(
            taskId,
            openHashes,
            eveKey,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), sigB)
        );

        // A key nobody registered.
        uint256 stranger = secretKeyOf(424242);
        BLS.G1Point memory strangerKey = BLSTestKeys.publicKey(stranger);
        sigA = BLSTestKeys.sign(stranger, digestOf(taskId, hashA));
        sigB = BLSTestKeys.sign(stranger, digestOf(taskId, hashB));
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenChallenges.OperatorNotInSet.selector, idOf(strangerKey), referenceBlock
            )
        );
        challenges.slashEquivocation(
            taskId,
            openHashes,
            strangerKey,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), sigB)
        );
    }

    function test_revert_slashEquivocation_unknownTask() public {
        BLS.G2Point memory sigA = _sign(ALICE, taskId, hashA);
        BLS.G2Point memory sigB = _sign(ALICE, taskId, hashB);
        BLS.G1Point memory key = pkOf(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownTask.selector, 77));
        challenges.slashEquivocation(
            77, openHashes, key, SignedOutput(hashA, bytes32(0), sigA), SignedOutput(hashB, bytes32(0), sigB)
        );
    }

    /// @dev The point at infinity is no signature; a non-canonical encoding is refused before any
    /// precompile sees it.
    function test_revert_slashEquivocation_malformedSignatures() public {
        BLS.G2Point memory sigA = _sign(ALICE, taskId, hashA);
        BLS.G2Point memory infinity;
        BLS.G2Point memory nonCanonical = _sign(ALICE, taskId, hashB);
        nonCanonical.x_c0_a = bytes32(uint256(1) << 128);
        BLS.G1Point memory key = pkOf(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.InvalidEquivocationSignature.selector, 1));
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), infinity)
        );
        vm.expectRevert(abi.encodeWithSelector(IWardenChallenges.InvalidEquivocationSignature.selector, 0));
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashB, bytes32(0), infinity),
            SignedOutput(hashA, bytes32(0), sigA)
        );
        vm.expectRevert(BLS12381.NonCanonicalFieldElement.selector);
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), nonCanonical)
        );
        vm.expectRevert(BLS12381.PairingInputRejected.selector);
        challenges.slashEquivocation(
            taskId,
            openHashes,
            key,
            SignedOutput(hashA, bytes32(0), sigA),
            SignedOutput(hashB, bytes32(0), g2NotInSubgroup())
        );
    }

    function test_gas_slashEquivocation() public {
        BLS.G2Point memory sigA = _sign(ALICE, taskId, hashA);
        BLS.G2Point memory sigB = _sign(ALICE, taskId, hashB);
        bytes memory call = abi.encodeCall(
            IWardenChallenges.slashEquivocation,
            (
                taskId,
                openHashes,
                pkOf(ALICE),
                SignedOutput(hashA, bytes32(0), sigA),
                SignedOutput(hashB, bytes32(0), sigB)
            )
        );
        vm.cool(address(taskManager));
        vm.cool(address(challenges));
        vm.cool(address(registry));
        vm.cool(address(allocationManager));
        vm.cool(address(delegation));
        vm.cool(address(strategyManager));
        vm.cool(address(strategy));
        vm.cool(permissionController);
        uint256 before = gasleft();
        (bool ok,) = address(challenges).call(call);
        uint256 outer = before - gasleft();
        uint256 inner = vm.lastCallGas().gasTotalUsed;
        assertTrue(ok, "slashed");
        emit log_named_uint("slashEquivocation: inner", inner);
        emit log_named_uint("slashEquivocation: outer", outer);
        assertLe(inner, MAX_GAS_EQUIVOCATION, "slashEquivocation gas");
    }

    /// @dev Alice's valid equivocation over hashA and hashB, shown with `wrong`, is refused with the
    /// task manager's `CommitmentMismatch(taskId, stored, given)`.
    function _expectRefused(TaskHashes memory wrong, bytes32 stored, bytes32 given) private {
        BLS.G2Point memory sigA = _sign(ALICE, taskId, hashA);
        BLS.G2Point memory sigB = _sign(ALICE, taskId, hashB);
        BLS.G1Point memory key = pkOf(ALICE);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.CommitmentMismatch.selector, taskId, stored, given)
        );
        challenges.slashEquivocation(
            taskId, wrong, key, SignedOutput(hashA, bytes32(0), sigA), SignedOutput(hashB, bytes32(0), sigB)
        );
    }

    function _commitmentOf(TaskHashes memory hashes) private pure returns (bytes32) {
        return commitmentHash(hashes.inputHash, hashes.outputHash, hashes.nonSignerHash);
    }

    function _sign(address signer, uint64 task, bytes32 outputHash)
        private
        view
        returns (BLS.G2Point memory)
    {
        return BLSTestKeys.sign(skOf(signer), digestOf(task, outputHash));
    }
}
