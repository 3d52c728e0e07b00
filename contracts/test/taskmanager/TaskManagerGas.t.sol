// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {ITaskManager, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev Gas of the task lifecycle with four operators, every contract and slot cold as in a real
/// transaction. "inner" is the callee's own count before refunds, "outer" adds the call's overhead as
/// the caller sees it; a transaction adds 21 000 intrinsic gas and its calldata and gets the refunds
/// (`forge test --gas-report`, which runs each call as its own transaction, shows that figure). The
/// budgets hold in both modes.
contract TaskManagerGasTest is TaskManagerFixture {
    event log_named_uint(string key, uint256 val);

    /// @dev Budgets that keep regressions visible; the measured figures sit below. openTask reads 17
    /// cumulative prices (17 cold slots and 3 of packed timestamps) and here writes a fresh ring slot;
    /// execute reads the pair's spot and cumulative price and the oldest observation, and its swap is
    /// the pair's first since time moved, so the pair writes its two cumulative-price slots from zero
    /// (about 44 000 gas that a pair in use pays as two warm rewrites).
    uint256 internal constant MAX_OPEN_TASK = 225_000;
    /// @dev A commitment rewrites the task's two warm slots and fills no fresh one (measured 203 120).
    uint256 internal constant MAX_COMMIT_ALL_SIGN = 210_000;
    uint256 internal constant MAX_EXECUTE_HOLD = 60_000;
    /// @dev Issue 14's budget for the trace of a 1 M-parameter model, calldata included.
    uint256 internal constant MAX_TRACE_81 = 60_000;
    /// @dev Includes the value-at-risk ledger: a new entry, the ledger slot and the task's position in it.
    uint256 internal constant MAX_EXECUTE_SWAP = 310_000;

    function setUp() public {
        deployWarden();
        allowSwaps(vault);
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 10 ether, 50 ether);
        observeBlocks(agentId, 16);
        rollTo(block.number + 1);
    }

    function test_gas_openTask() public {
        _coolAll();
        (uint256 outer, uint256 inner) =
            _measure(address(taskManager), abi.encodeCall(ITaskManager.openTask, (agentId)));
        emit log_named_uint("openTask (17-observation snapshot): inner", inner);
        emit log_named_uint("openTask (17-observation snapshot): outer", outer);
        assertLe(inner, MAX_OPEN_TASK, "openTask");
    }

    function test_gas_commitOutput_allSign() public {
        (uint256 outer, uint256 inner) = _commit(allOperators(), new address[](0));
        emit log_named_uint("commitOutput, 4 operators, 0 non-signers: inner", inner);
        emit log_named_uint("commitOutput, 4 operators, 0 non-signers: outer", outer);
        assertLe(inner, MAX_COMMIT_ALL_SIGN, "commit, all sign");
    }

    function test_gas_commitOutput_oneNonSigner() public {
        (uint256 outer, uint256 inner) = _commit(list(BOB, CAROL, DAVE), list(ALICE));
        emit log_named_uint("commitOutput, 4 operators, 1 non-signer: inner", inner);
        emit log_named_uint("commitOutput, 4 operators, 1 non-signer: outer", outer);
        // The non-signer hash goes into the commitment hash, not a slot of its own: what a non-signer
        // adds is its key's subtraction in checkQuorum and its id in the event (measured 5 315).
        assertLe(inner, MAX_COMMIT_ALL_SIGN + 10_000, "commit, one non-signer");
    }

    /// @dev With a funded agent the commitment also pays its committer the fee: the agent's balance
    /// shares a slot the digest reads anyway, and the committer's credit is one more write.
    function test_gas_commitOutput_paysTheServiceFee() public {
        vm.deal(address(this), 1 ether);
        taskManager.fundService{value: 1 ether}(agentId);
        (uint256 outer, uint256 inner) = _commit(allOperators(), new address[](0));
        emit log_named_uint("commitOutput, 4 operators, fee paid: inner", inner);
        emit log_named_uint("commitOutput, 4 operators, fee paid: outer", outer);
        assertEq(taskManager.serviceBalance(agentId), 1 ether - COMMIT_FEE, "the fee was paid");
        assertLe(inner, MAX_COMMIT_ALL_SIGN + 30_000, "commit paying the fee");
    }

    /// @dev What an activation trace adds to a commitment: the reference large model (256 -> 1024 ->
    /// 1024 -> 512 -> 3, 32-neuron chunks) has 81 output chunks. Execution hashes the calldata words
    /// once; the transaction also pays 16 gas for each non-zero calldata byte (chunk hashes are
    /// random, so nearly all of them).
    function test_gas_commitOutput_trace81() public {
        (uint64 taskId,) = openTaskWithInput(agentId);
        vm.roll(block.number + 1);
        bytes memory output = sellOutput(vault, 1 ether, 0);
        bytes32[] memory trace = traceOf(81, 7);
        BLS.G1Point[] memory keys = nonSignersOf(new address[](0));
        bytes memory plain = abi.encodeCall(
            ITaskManager.commitOutput,
            (
                taskId,
                output,
                new bytes32[](0),
                keys,
                signBy(allOperators(), digestOf(taskId, keccak256(output)))
            )
        );
        bytes memory traced = abi.encodeCall(
            ITaskManager.commitOutput,
            (
                taskId,
                output,
                trace,
                keys,
                signBy(allOperators(), digestOf(taskId, keccak256(output), hashTrace(trace)))
            )
        );
        // The same task committed both ways, from the same state.
        uint256 snapshot = vm.snapshotState();
        _coolAll();
        (, uint256 withoutTrace) = _measure(address(taskManager), plain);
        vm.revertToState(snapshot);
        _coolAll();
        (, uint256 withTrace) = _measure(address(taskManager), traced);
        assertEq(uint256(stateOf(taskId)), uint256(TaskState.Committed), "committed");

        uint256 execution = withTrace - withoutTrace;
        uint256 calldataCost = _calldataGas(traced) - _calldataGas(plain);
        emit log_named_uint("commitOutput, 81-chunk trace: extra execution", execution);
        emit log_named_uint("commitOutput, 81-chunk trace: extra calldata", calldataCost);
        emit log_named_uint("commitOutput, 81-chunk trace: extra in all", execution + calldataCost);
        assertLe(execution + calldataCost, MAX_TRACE_81, "a 1 M-parameter model's trace");
    }

    function test_gas_execute_hold() public {
        bytes memory output = holdOutput();
        uint64 taskId = _final(output);
        _coolAll();
        (uint256 outer, uint256 inner) = _measure(
            address(taskManager),
            abi.encodeCall(
                ITaskManager.execute,
                (taskId, taskInput[taskId], output, bytes32(0), taskNonSignerHash[taskId])
            )
        );
        emit log_named_uint("execute, hold: inner", inner);
        emit log_named_uint("execute, hold: outer", outer);
        assertLe(inner, MAX_EXECUTE_HOLD, "execute hold");
    }

    /// @dev A 1-ether sell through the Uniswap v2 router with one capped token (the base).
    function test_gas_execute_swap() public {
        bytes memory output = sellOutput(vault, 1 ether, 0);
        uint64 taskId = _final(output);
        _coolAll();
        (uint256 outer, uint256 inner) = _measure(
            address(taskManager),
            abi.encodeCall(
                ITaskManager.execute,
                (taskId, taskInput[taskId], output, bytes32(0), taskNonSignerHash[taskId])
            )
        );
        emit log_named_uint("execute, swap (1 capped token): inner", inner);
        emit log_named_uint("execute, swap (1 capped token): outer", outer);
        emit log_named_uint(
            "execute, swap (1 capped token): refund", uint256(int256(vm.lastCallGas().gasRefunded))
        );
        assertLe(inner, MAX_EXECUTE_SWAP, "execute swap");
        assertEq(base.balanceOf(address(vault)), VAULT_BASE - 1 ether, "swapped");
    }

    function _commit(address[] memory signers, address[] memory nonSigners)
        private
        returns (uint256 outer, uint256 inner)
    {
        (uint64 taskId,) = openTaskWithInput(agentId);
        vm.roll(block.number + 1);
        bytes memory output = sellOutput(vault, 1 ether, 0);
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, signers, nonSigners);
        _coolAll();
        (outer, inner) = _measure(
            address(taskManager),
            abi.encodeCall(ITaskManager.commitOutput, (taskId, output, new bytes32[](0), keys, signature))
        );
        assertEq(uint256(stateOf(taskId)), uint256(TaskState.Committed), "committed");
    }

    function _final(bytes memory output) private returns (uint64 taskId) {
        (taskId,) = openTaskWithInput(agentId);
        commitAll(taskId, output);
        vm.roll(taskOf(taskId).deadline + 1);
    }

    /// @dev A transaction's calldata charge (EIP-2028): 4 gas a zero byte, 16 a non-zero one.
    function _calldataGas(bytes memory data) private pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    function _coolAll() private {
        vm.cool(address(taskManager));
        vm.cool(address(challenges));
        vm.cool(address(inputSource));
        vm.cool(address(registry));
        vm.cool(address(vault));
        vm.cool(address(base));
        vm.cool(address(quote));
        vm.cool(address(pair));
        vm.cool(address(router));
    }

    function _measure(address target, bytes memory call) private returns (uint256 outer, uint256 inner) {
        uint256 before = gasleft();
        (bool ok,) = target.call(call);
        outer = before - gasleft();
        Vm.Gas memory gas = vm.lastCallGas();
        inner = gas.gasTotalUsed;
        assertTrue(ok, "call succeeded");
    }
}
