// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {ITaskManager, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev `commitOutput` gas over a set of `operatorCount()` operators of equal stake, with 0, 1, 10 and
/// 33 % of them not signing (rounded down). Each case commits a fresh task from the same state with
/// every contract cold, as a transaction of its own. Logged per case: the gas inside the call
/// ("inner", before refunds), and the transaction's gas: 21 000 + calldata (EIP-2028 prices, or the
/// EIP-7623 floor when higher) + inner - refund (at most a fifth of the total, EIP-3529).
/// Subclasses fix the set size; the 1,000-operator one needs a raised gas limit for its set-up and
/// runs in the `bench` profile.
abstract contract CommitGasMatrix is TaskManagerFixture {
    event log_named_uint(string key, uint256 val);
    event log_string(string val);

    uint256 internal constant STAKE = 10 ether;

    address[] internal operators;

    function operatorCount() internal pure virtual returns (uint256);

    function maxOperators() internal pure override returns (uint32) {
        return 1000;
    }

    function setUp() public {
        uint256[] memory stakes = new uint256[](operatorCount());
        for (uint256 i; i < stakes.length; ++i) {
            stakes[i] = STAKE;
        }
        operators = deployWithOperators(stakes);
    }

    /// @dev Every case of the matrix, each from the same state; returns the transaction gas per case.
    function runMatrix() internal returns (uint256[4] memory txGas) {
        uint8[4] memory percents = [0, 1, 10, 33];
        uint256 count = operatorCount();
        for (uint256 c; c < 4; ++c) {
            uint256 nonSignerCount = count * percents[c] / 100;
            uint256 snapshot = vm.snapshotState();
            (uint256 inner, uint256 tx_) = _commit(nonSignerCount);
            vm.revertToState(snapshot);
            txGas[c] = tx_;
            string memory label = string.concat(
                "commitOutput, ",
                vm.toString(count),
                " operators, ",
                vm.toString(nonSignerCount),
                " non-signers (",
                vm.toString(uint256(percents[c])),
                " %)"
            );
            emit log_named_uint(string.concat(label, ": inner"), inner);
            emit log_named_uint(string.concat(label, ": transaction"), tx_);
        }
    }

    function _commit(uint256 nonSignerCount) private returns (uint256 inner, uint256 txGas) {
        uint256 count = operatorCount();
        address[] memory nonSigners = new address[](nonSignerCount);
        address[] memory signers = new address[](count - nonSignerCount);
        for (uint256 i; i < count; ++i) {
            if (i < nonSignerCount) nonSigners[i] = operators[i];
            else signers[i - nonSignerCount] = operators[i];
        }
        uint64 taskId = openFreshTask(agentId);
        vm.roll(block.number + 1);
        bytes memory output = sellOutput(vault, 1 ether, 0);
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, signers, nonSigners);
        bytes memory call =
            abi.encodeCall(ITaskManager.commitOutput, (taskId, output, new bytes32[](0), keys, signature));
        _coolAll();
        vm.prank(KEEPER);
        (bool ok,) = address(taskManager).call(call);
        assertTrue(ok, "committed");
        Vm.Gas memory gas = vm.lastCallGas();
        inner = gas.gasTotalUsed;
        txGas = transactionGas(call, inner, gas.gasRefunded);
        assertEq(uint256(stateOf(taskId)), uint256(TaskState.Committed), "committed");
        assertEq(
            taskOf(taskId).signedWeight, (count - nonSignerCount) * STAKE, "signed weight: the signers' stake"
        );
    }

    function _coolAll() private {
        vm.cool(address(taskManager));
        vm.cool(address(challenges));
        vm.cool(address(registry));
        vm.cool(address(vault));
    }
}

/// @dev The fixture's four-operator size.
contract CommitGasMatrix4Test is CommitGasMatrix {
    /// @dev The budget for four operators, all signing: a commitment's transaction, issue 13's 240 000.
    /// The packed task storage brought it from 292 212 to 248 349; one commitment hash written over the
    /// input hash, instead of a fresh output-hash slot (and a fresh non-signer-hash slot when someone
    /// did not sign), to 228 764.
    uint256 internal constant MAX_TX_ALL_SIGN = 240_000;

    function operatorCount() internal pure override returns (uint256) {
        return 4;
    }

    function test_gas_commitMatrix_4Operators() public {
        uint256[4] memory txGas = runMatrix();
        assertLe(txGas[0], MAX_TX_ALL_SIGN, "4 operators, all sign");
    }
}

contract CommitGasMatrix100Test is CommitGasMatrix {
    function operatorCount() internal pure override returns (uint256) {
        return 100;
    }

    function test_gas_commitMatrix_100Operators() public {
        runMatrix();
    }
}

/// @dev Runs in the `bench` profile only (`FOUNDRY_PROFILE=bench forge test`; make test and make
/// bench-gas do): its set-up takes more gas than forge's default limit.
contract CommitGasMatrix1000Bench is CommitGasMatrix {
    function operatorCount() internal pure override returns (uint256) {
        return 1000;
    }

    function test_gas_commitMatrix_1000Operators() public {
        runMatrix();
    }
}
