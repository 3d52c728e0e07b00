// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {SlashingParams} from "../../src/interfaces/IEigenLayer.sol";
import {TaskState} from "../../src/interfaces/ITaskManager.sol";
import {IWardenChallenges} from "../../src/interfaces/IWardenChallenges.sol";
import {AddressSort} from "../../src/libraries/AddressSort.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev Gas of fraud slashing with 100 registered operators that signed a fraudulent output: the
/// challenge, then slashSigners in batches, each batch measured with every contract and slot it
/// touches cold, as in its own transaction. Side by side, from the same state: EigenLayer's own
/// `AllocationManager.slashOperator` for the same operators in the same batches (called by the
/// registry, the AVS, with the same strategies, fraction and description), so Warden's overhead per
/// signer is the difference. Each batch must fit well inside a block.
contract SlashingGasTest is TaskManagerFixture {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant OPERATORS = 100;
    /// @dev Operators per slashSigners call. A slash costs ~330 k gas on the redistribution core
    /// (EigenLayer books each slash's shares under its slash id) and Warden adds ~30 k, with the
    /// caller's fee, so a batch of 25 takes ~9 M, within the budget below and far within a
    /// transaction's 16.7 M cap. A set with more strategies (each adds to every slash) needs smaller
    /// batches.
    uint256 internal constant BATCH = 25;
    /// @dev Budget of one batch (a third of a 30 M block).
    uint256 internal constant MAX_BATCH_GAS = 10_000_000;
    /// @dev Warden's gas per signer above EigenLayer's own slash, in batches of `BATCH` (issue 13:
    /// at most 10 % of EigenLayer's cost).
    uint256 internal constant MAX_OVERHEAD_BPS = 1_000;
    address internal constant CHALLENGER = address(0xC4A11E);
    address internal constant SLASH_CALLER = address(0x51A54E4);

    address[] internal operators;

    function setUp() public {
        uint256[] memory stakes = new uint256[](OPERATORS);
        for (uint256 i; i < OPERATORS; ++i) {
            stakes[i] = (i + 1) * 1 ether;
        }
        operators = deployWithOperators(stakes);
    }

    function test_gas_slashSigners_100Operators() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, operators, new address[](0));
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
                IWardenChallenges.challenge,
                (taskId, taskInput[taskId], output, bytes32(0), taskNonSignerHash[taskId], saltOf(CHALLENGER))
            )
        );
        emit log_named_uint("challenge, upheld with bounty (stub verifier): inner", inner);
        emit log_named_uint("challenge, upheld with bounty (stub verifier): outer", outer);
        assertEq(CHALLENGER.balance, CHALLENGE_BOND + CHALLENGE_BOUNTY, "bond and bounty");
        assertEq(uint256(stateOf(taskId)), uint256(TaskState.Fraudulent), "fraudulent");

        uint256 snapshot = vm.snapshotState();
        (uint256 eigenFirst, uint256 eigenPerSigner) = _eigenLayerAlone(taskId);
        vm.revertToState(snapshot);
        (uint256 wardenFirst, uint256 wardenPerSigner) = _wardenBatches(taskId);

        emit log_named_uint("EigenLayer slashOperator alone, 1 operator, cold", eigenFirst);
        emit log_named_uint("EigenLayer slashOperator alone, per operator in batches of 25", eigenPerSigner);
        emit log_named_uint("Warden overhead, batch of 1", wardenFirst - eigenFirst);
        emit log_named_uint("Warden overhead per signer in batches of 25", wardenPerSigner - eigenPerSigner);
        emit log_named_uint(
            "  in bps of EigenLayer's cost", (wardenPerSigner - eigenPerSigner) * 10_000 / eigenPerSigner
        );
        assertLe(
            (wardenPerSigner - eigenPerSigner) * 10_000,
            eigenPerSigner * MAX_OVERHEAD_BPS,
            "overhead per signer"
        );

        (uint32 next, bool done) = challenges.slashingProgress(taskId);
        assertTrue(done && next == OPERATORS, "complete");
        for (uint256 i; i < OPERATORS; ++i) {
            assertEq(slashableStake(operators[i]), 0, "slashed in EigenLayer");
            assertEq(challenges.taskOfSlash(i + 1), taskId, "every slash id recorded");
        }
        assertEq(challenges.taskOfSlash(OPERATORS + 1), 0, "no slash beyond");
        // The slashes voided the weights; the next full refresh finds nothing left.
        assertEq(registry.weightsRefreshedAt(uint32(block.number)), 0, "weights voided");
        registry.refreshWeights();
        (, uint96 totalWeight,) = registry.quorumAt(uint32(block.number));
        assertEq(totalWeight, 0, "no weight left");
        assertEq(SLASH_CALLER.balance, OPERATORS * SLASH_FEE, "a fee per slashed signer");
    }

    /// @dev A third of the set did not sign: the first batch carries their indices once and records
    /// them; every later batch sends none (its calldata is the same few words whatever the set).
    function test_gas_slashSigners_100Operators_aThirdDidNotSign() public {
        address[] memory signers = new address[](OPERATORS - 33);
        address[] memory nonSigners = new address[](33);
        uint256 signerCount;
        for (uint256 i; i < OPERATORS; ++i) {
            if (_isNonSigner(i)) nonSigners[i / 3] = operators[i];
            else signers[signerCount++] = operators[i];
        }
        vm.deal(address(this), 1 ether);
        challenges.fundBounties{value: 1 ether}();
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) = commitBy(agentId, output, signers, nonSigners);
        // With non-signers the upheld challenge keeps the non-signer hash for the first batch.
        vm.deal(CHALLENGER, CHALLENGE_BOND);
        _coolAll();
        vm.prank(CHALLENGER);
        (uint256 outer, uint256 inner) = _measure(
            address(challenges),
            CHALLENGE_BOND,
            abi.encodeCall(
                IWardenChallenges.challenge,
                (taskId, taskInput[taskId], output, bytes32(0), taskNonSignerHash[taskId], bytes32(0))
            )
        );
        emit log_named_uint("challenge, upheld, 33 non-signers (no bounty): inner", inner);
        assertEq(uint256(stateOf(taskId)), uint256(TaskState.Fraudulent), "upheld");

        uint32[] memory indices = indicesOf(keys);
        _coolAll();
        uint256 size;
        (outer, inner, size) = _slashBatch(taskId, indices, BATCH);
        emit log_named_uint("first batch of 25 with 33 non-signers' indices: inner", inner);
        emit log_named_uint("  its refund", uint256(int256(vm.lastCallGas().gasRefunded)));
        emit log_named_uint("  its calldata bytes", size);
        assertLe(outer, MAX_BATCH_GAS, "first batch within budget");
        uint256 slashedSoFar = BATCH;
        while (slashedSoFar < OPERATORS) {
            _coolAll();
            (outer, inner, size) = _slashBatch(taskId, new uint32[](0), BATCH);
            slashedSoFar += BATCH;
            emit log_named_uint("later batch of 25: inner", inner);
            emit log_named_uint("  its calldata bytes", size);
            assertEq(size, 4 + 4 * 32, "no non-signer sent again");
            assertLe(outer, MAX_BATCH_GAS, "batch within budget");
        }
        for (uint256 i; i < OPERATORS; ++i) {
            assertTrue((slashableStake(operators[i]) == 0) != _isNonSigner(i), "exactly the signers slashed");
        }
        assertEq(SLASH_CALLER.balance, (OPERATORS - 33) * SLASH_FEE, "a fee per slashed signer");
    }

    /// @dev Every third operator from the first, 33 in all, did not sign.
    function _isNonSigner(uint256 i) private pure returns (bool) {
        return i % 3 == 0 && i < 99;
    }

    /// @dev Warden's slashSigners: one signer alone, then batches of BATCH; returns the batch of one's
    /// gas and the average per signer over the rest.
    function _wardenBatches(uint64 taskId) private returns (uint256 first, uint256 perSigner) {
        _coolAll();
        (uint256 outer, uint256 inner,) = _slashBatch(taskId, new uint32[](0), 1);
        emit log_named_uint("slashSigners, batch of 1: inner", inner);
        emit log_named_uint("slashSigners, batch of 1: outer", outer);
        assertLe(outer, MAX_BATCH_GAS, "batch of 1");
        first = inner;

        uint256 slashedSoFar = 1;
        uint256 batchTotal;
        while (slashedSoFar < OPERATORS) {
            _coolAll();
            (outer, inner,) = _slashBatch(taskId, new uint32[](0), BATCH);
            uint256 size = OPERATORS - slashedSoFar < BATCH ? OPERATORS - slashedSoFar : BATCH;
            slashedSoFar += size;
            batchTotal += inner;
            emit log_named_uint(string.concat("slashSigners, batch of ", vm.toString(size), ": inner"), inner);
            emit log_named_uint(string.concat("slashSigners, batch of ", vm.toString(size), ": outer"), outer);
            emit log_named_uint("  per slashed operator in this batch", inner / size);
            assertLe(outer, MAX_BATCH_GAS, "batch within budget");
        }
        perSigner = batchTotal / (OPERATORS - 1);
        emit log_named_uint("slashSigners: average per slashed operator", perSigner);
    }

    /// @dev EigenLayer's slashOperator alone for the same operators in the same batches, each batch
    /// as cold as Warden's; returns the first slash's gas and the average per operator over the rest.
    function _eigenLayerAlone(uint64 taskId) private returns (uint256 first, uint256 perOperator) {
        address[] memory strategies = registry.strategies();
        AddressSort.ascending(strategies);
        uint256[] memory wads = new uint256[](strategies.length);
        for (uint256 i; i < wads.length; ++i) {
            wads[i] = challenges.slashWad();
        }
        string memory description = string.concat("warden: fraud in task ", Strings.toString(taskId));
        _coolAll();
        first = _eigenLayerSlash(operators[0], strategies, wads, description);
        uint256 total;
        for (uint256 i = 1; i < OPERATORS; ++i) {
            if ((i - 1) % BATCH == 0) _coolAll();
            total += _eigenLayerSlash(operators[i], strategies, wads, description);
        }
        perOperator = total / (OPERATORS - 1);
    }

    function _eigenLayerSlash(
        address operator,
        address[] memory strategies,
        uint256[] memory wads,
        string memory description
    ) private returns (uint256) {
        SlashingParams memory params = SlashingParams({
            operator: operator,
            operatorSetId: registry.OPERATOR_SET_ID(),
            strategies: strategies,
            wadsToSlash: wads,
            description: description
        });
        bytes memory call = abi.encodeCall(allocationManager.slashOperator, (address(registry), params));
        vm.prank(address(registry));
        (bool ok,) = address(allocationManager).call(call);
        assertTrue(ok, "EigenLayer slashed");
        return vm.lastCallGas().gasTotalUsed;
    }

    function _slashBatch(uint64 taskId, uint32[] memory indices, uint256 size)
        private
        returns (uint256 outer, uint256 inner, uint256 calldataSize)
    {
        vm.recordLogs();
        bytes memory call = abi.encodeCall(IWardenChallenges.slashSigners, (taskId, indices, size));
        calldataSize = call.length;
        // An account that takes the slashing fee (this test contract does not).
        vm.prank(SLASH_CALLER);
        (outer, inner) = _measure(address(challenges), 0, call);
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
