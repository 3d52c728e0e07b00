// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "../src/WardenRegistry.sol";
import {BLSTestKeys} from "./lib/BLSTestKeys.sol";
import {RegistryFixture} from "./lib/RegistryFixture.sol";
import {Vm} from "./lib/Vm.sol";

/// @dev Gas of checkQuorum over a set of 100 operators, each with its own key and stake.
/// Every figure is taken with the registry's account and storage cold, as in a real
/// transaction that verifies one task.
contract WardenRegistryGasTest is RegistryFixture {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant OPERATORS = 100;
    bytes32 internal constant DIGEST = keccak256("warden task output");

    /// @dev Acceptance targets, for the gas spent inside checkQuorum.
    uint256 internal constant MAX_GAS_ALL_SIGN = 175_000;
    uint256 internal constant MAX_GAS_PER_NON_SIGNER = 5_000;

    uint32 internal ref;
    uint256 internal totalStake;

    function setUp() public {
        deployRegistry();
        address[] memory operators = new address[](OPERATORS);
        uint256[] memory stakes = new uint256[](OPERATORS);
        for (uint256 i; i < OPERATORS; ++i) {
            operators[i] = _operator(i);
            stakes[i] = _stake(i);
            totalStake += stakes[i];
        }
        prepareOperators(operators, stakes);
        for (uint256 i; i < OPERATORS; ++i) {
            register(operators[i], secretKeyOf(i));
        }
        registry.refreshWeights();
        ref = uint32(block.number);
        vm.roll(block.number + 1);
    }

    function test_gas_checkQuorum() public {
        (uint256 outer0, uint256 inner0) = _measure(0);
        (uint256 outer1, uint256 inner1) = _measure(1);
        (uint256 outer10, uint256 inner10) = _measure(10);
        (uint256 outer33, uint256 inner33) = _measure(33);

        emit log_named_uint("checkQuorum, 0 non-signers: gas inside the registry", inner0);
        emit log_named_uint("checkQuorum, 1 non-signer: gas inside the registry", inner1);
        emit log_named_uint("checkQuorum, 10 non-signers: gas inside the registry", inner10);
        emit log_named_uint("checkQuorum, 33 non-signers: gas inside the registry", inner33);
        emit log_named_uint("checkQuorum, 0 non-signers: gas seen by the caller", outer0);
        emit log_named_uint("checkQuorum, 1 non-signer: gas seen by the caller", outer1);
        emit log_named_uint("checkQuorum, 10 non-signers: gas seen by the caller", outer10);
        emit log_named_uint("checkQuorum, 33 non-signers: gas seen by the caller", outer33);
        emit log_named_uint(
            "call overhead (cold account access, return data), 0 non-signers", outer0 - inner0
        );
        emit log_named_uint("first non-signer (includes the one-off negation and addition)", inner1 - inner0);
        emit log_named_uint("marginal gas per non-signer, 1 -> 33", (inner33 - inner1) / 32);
        emit log_named_uint("marginal gas per non-signer, 1 -> 10", (inner10 - inner1) / 9);
        emit log_named_uint("average gas per non-signer, 0 -> 33", (inner33 - inner0) / 33);

        assertLe(inner0, MAX_GAS_ALL_SIGN, "0 non-signers");
        assertLe(inner1 - inner0, MAX_GAS_PER_NON_SIGNER, "first non-signer");
        assertLe(inner10 - inner0, 10 * MAX_GAS_PER_NON_SIGNER, "10 non-signers");
        assertLe(inner33 - inner0, 33 * MAX_GAS_PER_NON_SIGNER, "33 non-signers");
        assertLe(inner33 - inner1, 32 * MAX_GAS_PER_NON_SIGNER, "marginal non-signer");
    }

    /// @dev Each figure separately, so that `forge test --gas-report` lists one call per case.
    function test_gas_checkQuorum_0() public {
        _measure(0);
    }

    function test_gas_checkQuorum_1() public {
        _measure(1);
    }

    function test_gas_checkQuorum_10() public {
        _measure(10);
    }

    function test_gas_checkQuorum_33() public {
        _measure(33);
    }

    /// @dev Registration of a 101st operator, in a later block than the others (so the set's
    /// previous state is archived), all storage cold. The registry's share is the
    /// `WardenRegistry::registerOperator` frame in the -vvvv trace.
    function test_gas_registration() public {
        address operator = _operator(OPERATORS);
        prepareOperator(operator, 1 ether);
        bytes memory call = registerCalldata(operator, registrationData(operator, secretKeyOf(OPERATORS)));
        vm.cool(address(registry));
        vm.prank(operator);
        (bool ok,, uint256 used) = callMeasured(address(allocationManager), call, 10_000_000);
        assertTrue(ok, "registered");
        (bool registered, uint96 weight) =
            registry.operatorAt(registry.operatorIdOf(operator), uint32(block.number));
        assertTrue(registered && weight == 1 ether, "registered with its stake");
        emit log_named_uint("registerForOperatorSets, 101st operator (EigenLayer + registry)", used);
    }

    /// @dev refreshWeights over the 100 operators, with the registry and EigenLayer cold, as the
    /// keeper's transaction: once with no weight changed, once with every weight changed.
    function test_gas_refreshWeights_100Operators() public {
        uint256 unchanged = _measureRefresh();
        for (uint256 i; i < OPERATORS; ++i) {
            depositMore(_operator(i), 1 ether);
        }
        vm.roll(block.number + 1);
        uint256 allChanged = _measureRefresh();
        (, uint96 total,) = registry.quorumAt(uint32(block.number));
        assertEq(total, totalStake + OPERATORS * 1 ether, "every deposit counted");
        emit log_named_uint("refreshWeights, 100 operators, no weight changed", unchanged);
        emit log_named_uint("refreshWeights, 100 operators, every weight changed", allChanged);
        // The per-transaction cap is 16.7 M (EIP-7825): MAX_OPERATORS must keep the refresh well inside.
        assertLe(allChanged * MAX_OPERATORS / OPERATORS, 8_000_000, "a full set refreshes in half the cap");
    }

    /// @dev eject of an operator that withdrew everything, cold, EigenLayer's deregistration included.
    function test_gas_eject() public {
        address operator = _operator(0);
        queueFullWithdrawal(operator, operatorShares(operator));
        vm.roll(block.number + 1);
        vm.cool(address(registry));
        vm.cool(address(allocationManager));
        vm.cool(address(delegation));
        (bool ok,, uint256 used) =
            callMeasured(address(registry), abi.encodeCall(WardenRegistry.eject, (operator)), 10_000_000);
        assertTrue(ok, "ejected");
        emit log_named_uint("eject (registry + EigenLayer deregistration)", used);
    }

    function _measureRefresh() private returns (uint256 used) {
        vm.cool(address(registry));
        vm.cool(address(allocationManager));
        vm.cool(address(delegation));
        bool ok;
        (ok,, used) =
            callMeasured(address(registry), abi.encodeCall(WardenRegistry.refreshWeights, ()), 30_000_000);
        assertTrue(ok, "refreshed");
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    /// @dev Runs checkQuorum with the first `nonSignerCount` operators not signing and returns
    /// the gas seen by the caller (from just before to just after the call) and inside the
    /// registry (the callee's own count, without the cost of reaching its account).
    function _measure(uint256 nonSignerCount) private returns (uint256 outer, uint256 inner) {
        BLS.G1Point[] memory nonSigners = new BLS.G1Point[](nonSignerCount);
        uint256 nonSignerStake;
        for (uint256 i; i < nonSignerCount; ++i) {
            nonSigners[i] = BLSTestKeys.publicKey(secretKeyOf(i));
            nonSignerStake += _stake(i);
        }
        sortByOperatorId(nonSigners);
        uint256[] memory signerKeys = new uint256[](OPERATORS - nonSignerCount);
        for (uint256 i = nonSignerCount; i < OPERATORS; ++i) {
            signerKeys[i - nonSignerCount] = secretKeyOf(i);
        }
        bytes memory call = abi.encodeCall(
            WardenRegistry.checkQuorum, (ref, DIGEST, nonSigners, signAll(signerKeys, DIGEST))
        );

        vm.cool(address(registry));
        uint256 before = gasleft();
        (bool ok, bytes memory returned) = address(registry).staticcall(call);
        outer = before - gasleft();
        Vm.Gas memory gas = vm.lastCallGas();
        inner = gas.gasTotalUsed;

        assertTrue(ok, "quorum verifies");
        (uint256 signed, uint256 total) = abi.decode(returned, (uint256, uint256));
        assertEq(total, totalStake, "total weight");
        assertEq(signed, totalStake - nonSignerStake, "signed weight");
    }

    function _operator(uint256 i) private pure returns (address) {
        // i < 2^16 in these tests, far below 2^160.
        // forge-lint: disable-next-line(unsafe-typecast)
        return address(uint160(0x10000 + i));
    }

    function _stake(uint256 i) private pure returns (uint256) {
        return (i + 1) * 1 ether;
    }
}
