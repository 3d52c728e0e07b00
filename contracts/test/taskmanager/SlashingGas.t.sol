// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {ITaskManager, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {IWardenChallenges} from "../../src/interfaces/IWardenChallenges.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev Gas of fraud slashing with 100 registered operators that all signed a fraudulent output:
/// the challenge, then slashSigners in batches, each batch measured with every contract and slot
/// it touches cold, as in its own transaction. Each batch must fit well inside a block.
contract SlashingGasTest is TaskManagerFixture {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant OPERATORS = 100;
    /// @dev Operators per slashSigners call. A slash measures ~375 k gas on the redistribution core
    /// (~218 k on v1.3.0: EigenLayer now books each slash's shares under its slash id, and Warden
    /// records the slash's task), with the caller's fee, so a batch of 25 takes ~9.4 M, within the
    /// budget below and far within a transaction's 16.7 M cap. 26 would be the most that fits the
    /// budget; a set with more strategies (each adds to every slash) needs smaller batches.
    uint256 internal constant BATCH = 25;
    /// @dev Budget of one batch (a third of a 30 M block).
    uint256 internal constant MAX_BATCH_GAS = 10_000_000;
    address internal constant CHALLENGER = address(0xC4A11E);
    address internal constant SLASH_CALLER = address(0x51A54E4);

    address[] internal operators;

    function setUp() public {
        deployRegistry();
        uint256[] memory stakes = new uint256[](OPERATORS);
        for (uint256 i; i < OPERATORS; ++i) {
            operators.push(vm.addr(0x10000 + i));
            stakes[i] = (i + 1) * 1 ether;
        }
        prepareOperators(operators, stakes);
        for (uint256 i; i < OPERATORS; ++i) {
            register(operators[i], skOf(operators[i]));
        }
        registry.refreshWeights();
        vm.roll(block.number + 1);
        deployTaskManagerWithAgent();
    }

    function test_gas_slashSigners_100Operators() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) = commitBy(agentId, output, operators, new address[](0));
        assertEq(taskOf(taskId).signedWeight, OPERATORS * (OPERATORS + 1) / 2 * 1 ether, "everyone signed");

        // A pool that pays the bounty and every slashing fee, so both payments are measured.
        vm.deal(address(this), 2 ether);
        challenges.fundBounties{value: 2 ether}();
        bytes32 commitment =
            challenges.sealChallenge(CHALLENGER, taskId, keccak256(holdOutput()), saltOf(CHALLENGER));
        _coolAll();
        vm.prank(CHALLENGER);
        (uint256 outer, uint256 inner) =
            _measure(address(challenges), 0, abi.encodeCall(IWardenChallenges.commitChallenge, (commitment)));
        emit log_named_uint("commitChallenge: inner", inner);
        emit log_named_uint("commitChallenge: outer", outer);
        vm.roll(block.number + 1);

        vm.deal(CHALLENGER, CHALLENGE_BOND);
        _coolAll();
        vm.prank(CHALLENGER);
        (outer, inner) = _measure(
            address(challenges),
            CHALLENGE_BOND,
            abi.encodeCall(
                IWardenChallenges.challenge, (taskId, taskInput[taskId], output, saltOf(CHALLENGER))
            )
        );
        emit log_named_uint("challenge, upheld with bounty (stub verifier): inner", inner);
        emit log_named_uint("challenge, upheld with bounty (stub verifier): outer", outer);
        assertEq(CHALLENGER.balance, CHALLENGE_BOND + CHALLENGE_BOUNTY, "bond and bounty");
        assertEq(uint256(stateOf(taskId)), uint256(TaskState.Fraudulent), "fraudulent");

        // One operator alone, then batches of BATCH.
        _coolAll();
        (outer, inner) = _slashBatch(taskId, keys, 1);
        emit log_named_uint("slashSigners, batch of 1: inner", inner);
        emit log_named_uint("slashSigners, batch of 1: outer", outer);
        assertLe(outer, MAX_BATCH_GAS, "batch of 1");

        uint256 slashedSoFar = 1;
        uint256 batchTotal;
        uint256 batches;
        while (slashedSoFar < OPERATORS) {
            _coolAll();
            (outer, inner) = _slashBatch(taskId, keys, BATCH);
            uint256 size = OPERATORS - slashedSoFar < BATCH ? OPERATORS - slashedSoFar : BATCH;
            slashedSoFar += size;
            batchTotal += inner;
            ++batches;
            emit log_named_uint(string.concat("slashSigners, batch of ", vm.toString(size), ": inner"), inner);
            emit log_named_uint(string.concat("slashSigners, batch of ", vm.toString(size), ": outer"), outer);
            emit log_named_uint("  per slashed operator in this batch", inner / size);
            assertLe(outer, MAX_BATCH_GAS, "batch within budget");
        }
        emit log_named_uint("slashSigners: batches after the first", batches);
        emit log_named_uint("slashSigners: average per slashed operator", batchTotal / (OPERATORS - 1));

        (uint32 next, bool done) = challenges.slashingProgress(taskId);
        assertTrue(done && next == OPERATORS, "complete");
        for (uint256 i; i < OPERATORS; ++i) {
            assertEq(slashableStake(operators[i]), 0, "slashed in EigenLayer");
        }
        (, uint96 totalWeight,) = registry.quorumAt(uint32(block.number));
        assertEq(totalWeight, 0, "no weight left");
        assertEq(SLASH_CALLER.balance, OPERATORS * SLASH_FEE, "a fee per slashed signer");
    }

    function _slashBatch(uint64 taskId, BLS.G1Point[] memory keys, uint256 size)
        private
        returns (uint256 outer, uint256 inner)
    {
        vm.recordLogs();
        // An account that takes the slashing fee (this test contract does not).
        vm.prank(SLASH_CALLER);
        (outer, inner) = _measure(
            address(challenges),
            0,
            abi.encodeCall(IWardenChallenges.slashSigners, (taskId, idsOf(keys), size))
        );
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != IWardenChallenges.SignerSlashFailed.selector, "no failed slash");
        }
    }

    function _coolAll() private {
        vm.cool(address(taskManager));
        vm.cool(address(challenges));
        vm.cool(address(registry));
        vm.cool(address(allocationManager));
        vm.cool(address(delegation));
        vm.cool(address(strategyManager));
        vm.cool(address(strategy));
        vm.cool(permissionController);
        vm.cool(address(vault));
        vm.cool(address(verifier));
    }

    function _measure(address target, uint256 value, bytes memory call)
        private
        returns (uint256 outer, uint256 inner)
    {
        uint256 before = gasleft();
        (bool ok,) = target.call{value: value}(call);
        outer = before - gasleft();
        inner = vm.lastCallGas().gasTotalUsed;
        assertTrue(ok, "call succeeded");
    }
}
