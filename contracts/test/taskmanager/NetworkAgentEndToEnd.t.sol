// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenVault} from "../../src/WardenVault.sol";
import {AgentInput} from "../../src/agent/AgentTypes.sol";
import {MlpPolicy} from "../../src/agent/MlpPolicy.sol";
import {NetworkAgentVerifier} from "../../src/agent/NetworkAgentVerifier.sol";
import {PriceMatrix} from "../../src/agent/PriceMatrix.sol";
import {TaskState} from "../../src/interfaces/ITaskManager.sol";
import {TraceStep} from "../../src/interfaces/ITracedAgentVerifier.sol";
import {SmallNetwork} from "../agent/SmallNetwork.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev A large agent's fraud proven in one transaction through the challenges contract, on the real
/// EigenLayer core: Bob, Carol and Dave (900 of 1,000 ether) sign a lie, Alice does not. For each of
/// issue #14's three lies the challenge is upheld and exactly the three liars are slashed; a
/// challenge of an honest run is rejected and costs the challenger its bond.
contract NetworkAgentEndToEndTest is TaskManagerFixture, SmallNetwork {
    event log_named_uint(string key, uint256 val);

    address internal constant CHALLENGER = address(0xC4A11E);

    NetworkAgentVerifier internal large;
    WardenVault internal largeVault;
    uint64 internal largeAgent;

    /// @dev One task's committed run, as the liars (or the honest quorum) sign it.
    struct Run {
        uint64 taskId;
        AgentInput input;
        bytes[LAYERS] outputs;
        bytes output;
        bytes32[] trace;
    }

    function setUp() public {
        deployWarden();
        buildSmallNetwork();
        MlpPolicy.Params memory p = MlpPolicy.Params({
            router: address(router),
            slippageBps: 300,
            deadlineSeconds: 3600,
            maxSizeBps: 1000,
            sizeBpsPerLogit: 20,
            maxTradeBps: 100
        });
        large = NetworkAgentVerifier(verifiers.deployNetworkVerifier(header, root, p));
        (largeVault, largeAgent) = newReferenceAgentVault(large, BOB);
        assertEq(
            verifiers.deployNetworkVerifier(header, root, p), address(large), "one verifier per agent hash"
        );
    }

    /// @dev (a) One neuron of the middle layer changed and carried through honestly.
    function test_challengeTrace_oneNeuronChangedAndCarriedThrough() public {
        Run memory run = _honestRun();
        run.outputs[1] = bytes.concat(run.outputs[1]);
        run.outputs[1][2] = bytes1(uint8(run.outputs[1][2]) == 127 ? 0 : uint8(run.outputs[1][2]) + 1);
        run.outputs[2] = runLayer(2, run.outputs[1]);
        _lieAndProve(run, chunkStep(1, 1, run.outputs), true);
    }

    /// @dev (b) An honest trace, another action.
    function test_challengeTrace_honestTraceAnotherAction() public {
        Run memory run = _honestRun();
        bytes memory honestOutput = _decode(run);
        run.output = keccak256(honestOutput) == keccak256(holdOutput())
            ? sellOutput(largeVault, 1 ether, 0)
            : holdOutput();
        _lieAndProve(run, decodeStep(run.outputs), false);
    }

    /// @dev (c) A trace inconsistent with the liars' own output: a hash of the first layer replaced.
    function test_challengeTrace_traceInconsistentWithItsOwnOutput() public {
        Run memory run = _honestRun();
        run.output = _decode(run);
        run.trace = traceOf(run.outputs);
        run.trace[0] = keccak256("a first-layer chunk nobody computed");
        _commitLie(run);
        _challengeAndSlash(run, chunkStep(0, 0, run.outputs));
    }

    /// @dev A challenge of an honest run is rejected: the bond goes to the pool, the task stands.
    function test_challengeTrace_againstAnHonestRunIsRejected() public {
        Run memory run = _honestRun();
        run.output = _decode(run);
        run.trace = traceOf(run.outputs);
        _commitLie(run);
        uint256 pool = challenges.bountyPool();
        for (uint256 layer; layer < LAYERS; ++layer) {
            assertTrue(!_challenge(run, chunkStep(layer, 1, run.outputs)), "an honest chunk stands");
        }
        assertTrue(!_challenge(run, decodeStep(run.outputs)), "the honest decoding stands");
        assertEq(challenges.bountyPool(), pool + 4 * CHALLENGE_BOND, "every bond forfeited");
        assertState(run.taskId, TaskState.Committed, "the task stands");
    }

    /// @dev A trace that is not the committed one does not open the task.
    function test_challengeTrace_withAnotherTraceDoesNotOpenTheTask() public {
        Run memory run = _honestRun();
        run.output = _decode(run);
        run.trace = traceOf(run.outputs);
        _commitLie(run);
        bytes32[] memory other = traceOf(run.outputs);
        other[3] = bytes32(uint256(other[3]) ^ 1);
        vm.deal(CHALLENGER, CHALLENGE_BOND);
        vm.prank(CHALLENGER);
        vm.expectRevert();
        challenges.challengeTrace{value: CHALLENGE_BOND}(
            run.taskId,
            taskInput[run.taskId],
            run.output,
            other,
            taskNonSignerHash[run.taskId],
            lengthStep(),
            0
        );
    }

    // ------------------------------------------------------------------------------------------

    function _honestRun() private returns (Run memory run) {
        observeBlocks(largeAgent, 17);
        rollTo(block.number + TICK_INTERVAL);
        (run.taskId, run.input) = openTaskWithInput(largeAgent);
        run.outputs = runAll(PriceMatrix.features(run.input));
    }

    function _decode(Run memory run) private view returns (bytes memory) {
        return decodeLogits(run.outputs[LAYERS - 1], run.input, large.params());
    }

    /// @dev The liars' output is what their (possibly changed) run decodes to unless set already, and
    /// their trace that run's unless set already.
    function _lieAndProve(Run memory run, TraceStep memory step, bool decodeOwnRun) private {
        if (decodeOwnRun) run.output = _decode(run);
        run.trace = traceOf(run.outputs);
        _commitLie(run);
        _challengeAndSlash(run, step);
    }

    function _commitLie(Run memory run) private {
        keepWeightsFresh();
        commitWithTrace(KEEPER, run.taskId, run.output, run.trace, list(BOB, CAROL, DAVE), list(ALICE));
    }

    function _challenge(Run memory run, TraceStep memory step) private returns (bool upheld) {
        vm.deal(CHALLENGER, CHALLENGER.balance + CHALLENGE_BOND);
        vm.prank(CHALLENGER);
        upheld = challenges.challengeTrace{value: CHALLENGE_BOND}(
            run.taskId, taskInput[run.taskId], run.output, run.trace, taskNonSignerHash[run.taskId], step, 0
        );
    }

    function _challengeAndSlash(Run memory run, TraceStep memory step) private {
        vm.cool(address(challenges));
        vm.cool(address(large));
        assertTrue(_challenge(run, step), "one step proves the lie");
        emit log_named_uint("challengeTrace, upheld, small network: gas", vm.lastCallGas().gasTotalUsed);
        assertState(run.taskId, TaskState.Fraudulent, "fraudulent");

        uint256[4] memory before =
            [operatorShares(ALICE), operatorShares(BOB), operatorShares(CAROL), operatorShares(DAVE)];
        BLS.G1Point[] memory nonSigners = nonSignersOf(list(ALICE));
        challenges.slashSigners(run.taskId, indicesOf(nonSigners), 0);
        assertEq(operatorShares(ALICE), before[0], "the honest operator is never slashed");
        assertTrue(operatorShares(BOB) < before[1], "Bob slashed");
        assertTrue(operatorShares(CAROL) < before[2], "Carol slashed");
        assertTrue(operatorShares(DAVE) < before[3], "Dave slashed");
    }
}
