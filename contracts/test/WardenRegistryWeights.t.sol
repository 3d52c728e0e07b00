// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "../src/WardenRegistry.sol";
import {IWardenRegistry, RegistryParams} from "../src/interfaces/IWardenRegistry.sol";
import {OperatorSet} from "../src/interfaces/IEigenLayer.sol";
import {RegistryFixture} from "./lib/RegistryFixture.sol";

/// @dev Issue 10, items 2 and 4: a minimum stake to join, a maximum set size, weights refreshed at a
/// horizon and refused when stale, and permissionless, rate-limited ejection of operators below the
/// minimum.
contract WardenRegistryWeightsTest is RegistryFixture {
    address internal constant EVE = address(0xE5E);
    bytes32 internal constant DIGEST = keccak256("warden task output");

    function setUp() public {
        deployRegistry();
    }

    /// @dev An EigenLayer operator with no stake at all.
    function becomeEmptyOperator(address operator) internal {
        vm.prank(operator);
        delegation.registerAsOperator(address(0), 0, "");
    }

    /// @dev Fifty EigenLayer operators with no stake try to join, each of which would have made every
    /// later commitment list one more non-signer. Every one is refused.
    function test_attack_zeroStakeRegistrations() public {
        for (uint256 i; i < 50; ++i) {
            address sybil = vm.addr(0x5000 + i);
            becomeEmptyOperator(sybil);
            bytes memory data = registrationData(sybil, secretKeyOf(1000 + i));
            vm.expectRevert(
                abi.encodeWithSignature(
                    "WeightBelowMinimum(address,uint256,uint256)", sybil, 0, uint256(MINIMUM_WEIGHT)
                )
            );
            registerWithData(sybil, data);
        }
        assertEq(registry.operatorIdCount(), 0, "nobody joined");
        assertEq(registry.registeredOperators().length, 0, "nobody in the set");
    }

    function test_revert_registrationBelowMinimum() public {
        prepareOperator(ALICE, MINIMUM_WEIGHT - 1);
        bytes memory data = registrationData(ALICE, skOf(ALICE));
        vm.expectRevert(
            abi.encodeWithSelector(
                WardenRegistry.WeightBelowMinimum.selector, ALICE, MINIMUM_WEIGHT - 1, MINIMUM_WEIGHT
            )
        );
        registerWithData(ALICE, data);
        depositMore(ALICE, 1);
        register(ALICE, skOf(ALICE));
        assertEq(weightOf(ALICE), MINIMUM_WEIGHT, "the minimum is enough");
    }

    /// @dev A pending deallocation counts only if it takes effect beyond the horizon: the weight is
    /// the stake still slashable at the horizon, although EigenLayer may slash all of it now.
    function test_refreshWeights_excludesDeallocationWithinHorizon() public {
        registerTrio();
        setAllocation(ALICE, address(registry), 0, WAD / 4);
        uint256 effect = block.number + DEALLOCATION_DELAY + 1;
        vm.roll(effect - WEIGHT_HORIZON - 1);
        registry.refreshWeights();
        assertEq(weightOf(ALICE), 100 ether, "slashable in full until after the horizon");
        vm.roll(effect - WEIGHT_HORIZON);
        registry.refreshWeights();
        assertEq(weightOf(ALICE), 25 ether, "only the quarter that stays");
        assertEq(slashableStake(ALICE), 100 ether, "EigenLayer may still slash all of it now");
        (, uint96 total,) = registry.quorumAt(uint32(block.number));
        assertEq(total, 525 ether, "total follows");
    }

    // ------------------------------------------------------------------------------------------
    // Set size
    // ------------------------------------------------------------------------------------------

    function test_revert_operatorSetFull() public {
        RegistryParams memory params = registryParams();
        params.maxOperators = 3;
        registry = new WardenRegistry(allocationManager, address(this), params);
        registry.configureAVS("https://warden.invalid/small.json", strategyList(), REDISTRIBUTION_RECIPIENT);
        registerTrio();
        bytes memory data = registrationData(DAVE, skOf(DAVE));
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.OperatorSetFull.selector, 3));
        registerWithData(DAVE, data);
        deregister(ALICE);
        register(DAVE, skOf(DAVE));
        (,, uint32 count) = registry.quorumAt(uint32(block.number));
        assertEq(count, 3, "a place freed, a place taken");
    }

    // ------------------------------------------------------------------------------------------
    // Constructor
    // ------------------------------------------------------------------------------------------

    /// @dev A horizon beyond the withdrawal delay would count stake that can leave the withdrawal
    /// queue before the horizon ends.
    function test_revert_constructor_horizonBeyondWithdrawalDelay() public {
        RegistryParams memory params = registryParams();
        params.weightHorizon = MIN_WITHDRAWAL_DELAY + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                WardenRegistry.WeightHorizonTooLong.selector, MIN_WITHDRAWAL_DELAY + 1, MIN_WITHDRAWAL_DELAY
            )
        );
        new WardenRegistry(allocationManager, address(this), params);
        params.weightHorizon = MIN_WITHDRAWAL_DELAY;
        WardenRegistry atLimit = new WardenRegistry(allocationManager, address(this), params);
        assertEq(atLimit.weightHorizon(), MIN_WITHDRAWAL_DELAY, "the withdrawal delay itself is fine");
    }

    function test_revert_constructor_maxWeightAgeNotBelowHorizon() public {
        RegistryParams memory params = registryParams();
        params.maxWeightAge = params.weightHorizon;
        vm.expectRevert(
            abi.encodeWithSelector(
                WardenRegistry.MaxWeightAgeTooLong.selector, params.weightHorizon, params.weightHorizon
            )
        );
        new WardenRegistry(allocationManager, address(this), params);
    }

    function test_revert_constructor_zeroParameters() public {
        for (uint256 i; i < 5; ++i) {
            RegistryParams memory params = registryParams();
            if (i == 0) params.minimumWeight = 0;
            if (i == 1) params.maxOperators = 0;
            if (i == 2) params.weightHorizon = 0;
            if (i == 3) params.ejectionLimit = 0;
            if (i == 4) params.ejectionWindow = 0;
            vm.expectRevert(WardenRegistry.ZeroParameter.selector);
            new WardenRegistry(allocationManager, address(this), params);
        }
    }

    function test_constructor_parameters() public view {
        assertEq(registry.minimumWeight(), MINIMUM_WEIGHT, "minimum weight");
        assertEq(registry.maxOperators(), MAX_OPERATORS, "max operators");
        assertEq(registry.weightHorizon(), WEIGHT_HORIZON, "horizon");
        assertEq(registry.maxWeightAge(), MAX_WEIGHT_AGE, "max age");
        assertEq(registry.ejectionLimit(), EJECTION_LIMIT, "ejection limit");
        assertEq(registry.ejectionWindow(), EJECTION_WINDOW, "ejection window");
    }

    // ------------------------------------------------------------------------------------------
    // Stale weights
    // ------------------------------------------------------------------------------------------

    function test_checkQuorum_staleWeightsRefused() public {
        uint32 refreshed = registerTrio();
        address[] memory trio = list(ALICE, BOB, CAROL);
        vm.roll(refreshed + MAX_WEIGHT_AGE + 2);
        (uint256 signed,) = registry.checkQuorum(
            refreshed + MAX_WEIGHT_AGE, DIGEST, new BLS.G1Point[](0), signBy(trio, DIGEST)
        );
        assertEq(signed, 600 ether, "as old as allowed");
        uint32 late = refreshed + MAX_WEIGHT_AGE + 1;
        BLS.G2Point memory signature = signBy(trio, DIGEST);
        vm.expectRevert(
            abi.encodeWithSelector(IWardenRegistry.StaleWeights.selector, late, refreshed, MAX_WEIGHT_AGE)
        );
        registry.checkQuorum(late, DIGEST, new BLS.G1Point[](0), signature);

        // A refresh makes later reference blocks fresh, never the ones already stale.
        registry.refreshWeights();
        uint32 fresh = uint32(block.number);
        vm.roll(block.number + 1);
        (signed,) = registry.checkQuorum(fresh, DIGEST, new BLS.G1Point[](0), signature);
        assertEq(signed, 600 ether, "fresh again");
        vm.expectRevert(
            abi.encodeWithSelector(IWardenRegistry.StaleWeights.selector, late, refreshed, MAX_WEIGHT_AGE)
        );
        registry.checkQuorum(late, DIGEST, new BLS.G1Point[](0), signature);
    }

    function test_checkQuorum_neverRefreshedRefused() public {
        prepareOperator(ALICE, 100 ether);
        register(ALICE, skOf(ALICE));
        uint32 ref = uint32(block.number);
        vm.roll(block.number + 1);
        BLS.G2Point memory signature = signBy(list(ALICE), DIGEST);
        vm.expectRevert(abi.encodeWithSelector(IWardenRegistry.StaleWeights.selector, ref, 0, MAX_WEIGHT_AGE));
        registry.checkQuorum(ref, DIGEST, new BLS.G1Point[](0), signature);
        assertEq(registry.weightsRefreshedAt(ref), 0, "never");
    }

    /// @dev Registrations, deregistrations and slashes between refreshes keep the last refresh block.
    function test_weightsRefreshedAt_survivesMembershipChanges() public {
        uint32 refreshed = registerTrio();
        register(DAVE, skOf(DAVE));
        deregister(BOB);
        assertEq(registry.weightsRefreshedAt(uint32(block.number)), refreshed, "kept");
    }

    // ------------------------------------------------------------------------------------------
    // Ejection
    // ------------------------------------------------------------------------------------------

    function test_eject_belowMinimum() public {
        registerTrio();
        queueFullWithdrawal(ALICE, operatorShares(ALICE));
        bytes32 aliceId = idOf(pkOf(ALICE));
        vm.expectEmit(true, true, true, true, address(registry));
        emit WardenRegistry.OperatorEjected(ALICE, aliceId, EVE, 0);
        vm.expectEmit(true, true, false, true, address(registry));
        emit WardenRegistry.OperatorDeregistered(ALICE, aliceId);
        vm.prank(EVE);
        registry.eject(ALICE);

        OperatorSet memory set = OperatorSet({avs: address(registry), id: 0});
        assertTrue(!allocationManager.isMemberOfOperatorSet(ALICE, set), "out of the set in EigenLayer");
        (, uint96 total, uint32 count) = registry.quorumAt(uint32(block.number));
        assertEq(count, 2, "two left");
        assertEq(total, 500 ether, "Bob and Carol");
        assertEq(registry.registeredOperators().length, 2, "members");
    }

    /// @dev A pending deallocation counts against the minimum once it takes effect within the horizon.
    function test_eject_deallocationWithinHorizon() public {
        registerTrio();
        setAllocation(ALICE, address(registry), 0, 0);
        uint256 effect = block.number + DEALLOCATION_DELAY + 1;
        vm.roll(effect - WEIGHT_HORIZON - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                WardenRegistry.WeightNotBelowMinimum.selector, ALICE, 100 ether, MINIMUM_WEIGHT
            )
        );
        registry.eject(ALICE);
        vm.roll(effect - WEIGHT_HORIZON);
        registry.eject(ALICE);
        (, uint96 total,) = registry.quorumAt(uint32(block.number));
        assertEq(total, 500 ether, "Alice gone");
    }

    function test_revert_eject_atOrAboveMinimum() public {
        registerTrio();
        vm.expectRevert(
            abi.encodeWithSelector(
                WardenRegistry.WeightNotBelowMinimum.selector, BOB, 200 ether, MINIMUM_WEIGHT
            )
        );
        registry.eject(BOB);
    }

    function test_revert_eject_notRegistered() public {
        registerTrio();
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.OperatorNotRegistered.selector, DAVE));
        registry.eject(DAVE);
        deregister(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.OperatorNotRegistered.selector, ALICE));
        registry.eject(ALICE);
    }

    /// @dev At most EJECTION_LIMIT ejections per window: a dip that takes many operators below the
    /// minimum at once cannot empty the set in one block.
    function test_eject_rateLimited() public {
        uint256 n = EJECTION_LIMIT + 2;
        address[] memory operators = new address[](n);
        uint256[] memory stakes = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            operators[i] = vm.addr(0x7000 + i);
            stakes[i] = 2 ether;
        }
        prepareOperators(operators, stakes);
        for (uint256 i; i < n; ++i) {
            register(operators[i], secretKeyOf(0x7000 + i));
            queueFullWithdrawal(operators[i], 2 ether);
        }
        uint256 start = block.number;
        for (uint256 i; i < EJECTION_LIMIT; ++i) {
            registry.eject(operators[i]);
        }
        vm.roll(start + EJECTION_WINDOW - 1);
        vm.expectRevert(
            abi.encodeWithSelector(WardenRegistry.EjectionRateLimited.selector, start + EJECTION_WINDOW)
        );
        registry.eject(operators[EJECTION_LIMIT]);
        vm.roll(start + EJECTION_WINDOW);
        registry.eject(operators[EJECTION_LIMIT]);
        registry.eject(operators[EJECTION_LIMIT + 1]);
        (,, uint32 count) = registry.quorumAt(uint32(block.number));
        assertEq(count, 0, "all ejected, over two windows");
    }
}
