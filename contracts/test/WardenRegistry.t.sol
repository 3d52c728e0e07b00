// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "../src/WardenRegistry.sol";
import {BLS12381} from "../src/libraries/BLS12381.sol";
import {OperatorSet} from "../src/interfaces/IEigenLayer.sol";
import {RegisterParams} from "./lib/EigenLayerTest.sol";
import {BLSTestKeys} from "./lib/BLSTestKeys.sol";
import {RegistryFixture} from "./lib/RegistryFixture.sol";

/// @dev Registration and deregistration through EigenLayer's AllocationManager.
contract WardenRegistryTest is RegistryFixture {
    event log_named_uint(string key, uint256 val);

    function setUp() public {
        deployRegistry();
    }

    function test_registersOperatorWithWeight() public {
        address operator = address(0xA11CE);
        becomeOperatorWithStake(operator, 1000 ether);
        vm.roll(block.number + ALLOCATION_CONFIGURATION_DELAY + 1);
        allocateAll(operator, address(registry), 0);
        uint256 sk = 0x1234567;
        BLS.G1Point memory pk = BLSTestKeys.publicKey(sk);
        bytes32 message = registry.proofOfPossessionMessage(operator, pk);
        BLS.G2Point memory proof = BLSTestKeys.sign(sk, message);
        uint32[] memory ids = new uint32[](1);
        vm.prank(operator);
        allocationManager.registerForOperatorSets(
            operator,
            RegisterParams({avs: address(registry), operatorSetIds: ids, data: abi.encode(pk, proof)})
        );
        (bool registered, uint96 weight) =
            registry.operatorAt(registry.operatorIdOf(operator), uint32(block.number));
        assertTrue(registered, "registered");
        assertEq(weight, 1000 ether, "weight");
    }

    // ------------------------------------------------------------------------------------------
    // Registration
    // ------------------------------------------------------------------------------------------

    function test_registration_weightIsSlashableStake() public {
        prepareOperator(ALICE, 1234 ether);
        register(ALICE, secretKeyOf(1));
        uint256[][] memory slashable = allocationManager.getMinimumSlashableStake(
            _set(), _one(ALICE), strategyList(), uint32(block.number)
        );
        (, uint96 weight) = registry.operatorAt(registry.operatorIdOf(ALICE), uint32(block.number));
        assertEq(weight, slashable[0][0], "weight = slashable stake");
        assertEq(weight, 1234 ether, "all of the stake is allocated");
    }

    function test_registration_emitsOperatorRegistered() public {
        prepareOperator(ALICE, 500 ether);
        uint256 sk = secretKeyOf(1);
        BLS.G1Point memory pk = BLSTestKeys.publicKey(sk);
        bytes memory data = registrationData(ALICE, sk);
        vm.expectEmit(true, true, true, true, address(registry));
        emit WardenRegistry.OperatorRegistered(ALICE, idOf(pk), pk, 500 ether);
        registerWithData(ALICE, data);
    }

    function test_registration_setsIdentityMappings() public {
        prepareOperator(ALICE, 1 ether);
        BLS.G1Point memory pk = register(ALICE, secretKeyOf(1));
        bytes32 id = idOf(pk);
        assertEq(registry.operatorIdOf(ALICE), id, "operatorIdOf");
        assertEq(registry.operatorOf(id), ALICE, "operatorOf");
        assertG1Eq(registry.publicKeyOf(id), pk, "publicKeyOf");
        assertEq(registry.operatorIds(0), id, "operatorIds[0]");
        assertEq(registry.operatorIdCount(), 1, "operatorIdCount");
        assertTrue(allocationManager.isMemberOfOperatorSet(ALICE, _set()), "member in EigenLayer");
        assertTrue(registry.supportsAVS(address(registry)), "supports itself");
        assertTrue(!registry.supportsAVS(address(this)), "supports no other AVS");
    }

    function test_registration_unknownIdsAreEmpty() public view {
        bytes32 unknown = keccak256("unknown");
        assertEq(registry.operatorOf(unknown), address(0), "operatorOf");
        assertEq(registry.operatorIdOf(ALICE), bytes32(0), "operatorIdOf");
        assertTrue(BLS12381.isInfinity(registry.publicKeyOf(unknown)), "publicKeyOf is infinity");
        (bool registered, uint96 weight) = registry.operatorAt(unknown, uint32(block.number));
        assertTrue(!registered && weight == 0, "operatorAt");
    }

    function test_registration_aggregateKeyIsSumOfKeys() public {
        address[] memory operators = _three();
        uint256[] memory stakes = new uint256[](3);
        stakes[0] = 100 ether;
        stakes[1] = 250 ether;
        stakes[2] = 7 ether;
        prepareOperators(operators, stakes);
        BLS.G1Point memory expected;
        for (uint256 i; i < 3; ++i) {
            BLS.G1Point memory pk = register(operators[i], secretKeyOf(i));
            expected = g1Add(expected, pk);
            (BLS.G1Point memory aggregate, uint96 total, uint32 count) =
                registry.quorumAt(uint32(block.number));
            assertG1Eq(aggregate, expected, "aggregate = sum of keys so far");
            assertEq(count, i + 1, "operator count");
            uint256 expectedTotal;
            for (uint256 j; j <= i; ++j) {
                expectedTotal += stakes[j];
            }
            assertEq(total, expectedTotal, "total weight");
        }
        // Same check against keys generated independently: (sk0 + sk1 + sk2)·G.
        uint256 sum = addmod(addmod(secretKeyOf(0), secretKeyOf(1), R), secretKeyOf(2), R);
        (BLS.G1Point memory finalAggregate,,) = registry.quorumAt(uint32(block.number));
        assertG1Eq(finalAggregate, BLSTestKeys.publicKey(sum), "aggregate = (sum of secret keys) * G");
        assertEq(registry.operatorIdCount(), 3, "operatorIdCount");
    }

    // ------------------------------------------------------------------------------------------
    // Deregistration and re-registration
    // ------------------------------------------------------------------------------------------

    function test_deregistration_emitsAndRemovesOperator() public {
        prepareOperator(ALICE, 10 ether);
        BLS.G1Point memory pk = register(ALICE, secretKeyOf(1));
        vm.roll(block.number + 1);
        vm.expectEmit(true, true, true, true, address(registry));
        emit WardenRegistry.OperatorDeregistered(ALICE, idOf(pk));
        deregister(ALICE);
        (bool registered, uint96 weight) = registry.operatorAt(idOf(pk), uint32(block.number));
        assertTrue(!registered && weight == 0, "not registered");
        (BLS.G1Point memory aggregate, uint96 total, uint32 count) = registry.quorumAt(uint32(block.number));
        assertTrue(BLS12381.isInfinity(aggregate), "empty set has infinity aggregate");
        assertEq(total, 0, "total weight");
        assertEq(count, 0, "operator count");
        // The key stays bound to the operator for life.
        assertEq(registry.operatorOf(idOf(pk)), ALICE, "operatorOf kept");
        assertEq(registry.operatorIdOf(ALICE), idOf(pk), "operatorIdOf kept");
    }

    function test_reregistration_sameKey() public {
        prepareOperator(ALICE, 10 ether);
        uint256 sk = secretKeyOf(1);
        BLS.G1Point memory pk = register(ALICE, sk);
        vm.roll(block.number + 1);
        deregister(ALICE);
        // EigenLayer keeps a deregistered operator slashable, and out of the set, for the delay.
        vm.roll(block.number + DEALLOCATION_DELAY + 1);
        register(ALICE, sk);
        (BLS.G1Point memory aggregate, uint96 total, uint32 count) = registry.quorumAt(uint32(block.number));
        assertG1Eq(aggregate, pk, "aggregate");
        assertEq(total, 10 ether, "total weight");
        assertEq(count, 1, "operator count");
        assertEq(registry.operatorIdCount(), 1, "id listed once");
    }

    function test_revert_reregistrationWithAnotherKey() public {
        prepareOperator(ALICE, 10 ether);
        BLS.G1Point memory pk = register(ALICE, secretKeyOf(1));
        vm.roll(block.number + 1);
        deregister(ALICE);
        // EigenLayer keeps a deregistered operator slashable, and out of the set, for the delay.
        vm.roll(block.number + DEALLOCATION_DELAY + 1);
        bytes memory data = registrationData(ALICE, secretKeyOf(2));
        vm.expectRevert(
            abi.encodeWithSelector(
                WardenRegistry.PublicKeyMismatch.selector,
                idOf(pk),
                idOf(BLSTestKeys.publicKey(secretKeyOf(2)))
            )
        );
        registerWithData(ALICE, data);
    }

    // ------------------------------------------------------------------------------------------
    // Rejected registrations
    // ------------------------------------------------------------------------------------------

    function test_revert_proofOverDifferentMessage() public {
        prepareOperator(ALICE, 1 ether);
        uint256 sk = secretKeyOf(1);
        BLS.G1Point memory pk = BLSTestKeys.publicKey(sk);
        bytes memory data = abi.encode(pk, BLSTestKeys.sign(sk, keccak256("some other message")));
        vm.expectRevert(WardenRegistry.InvalidProofOfPossession.selector);
        registerWithData(ALICE, data);
    }

    function test_revert_proofMadeWithAnotherKey() public {
        prepareOperator(ALICE, 1 ether);
        BLS.G1Point memory pk = BLSTestKeys.publicKey(secretKeyOf(1));
        bytes32 message = registry.proofOfPossessionMessage(ALICE, pk);
        bytes memory data = abi.encode(pk, BLSTestKeys.sign(secretKeyOf(2), message));
        vm.expectRevert(WardenRegistry.InvalidProofOfPossession.selector);
        registerWithData(ALICE, data);
    }

    /// @dev A proof is bound to the operator address: Bob cannot replay Alice's registration data.
    function test_revert_proofForAnotherOperator() public {
        prepareOperator(BOB, 1 ether);
        bytes memory alicesData = registrationData(ALICE, secretKeyOf(1));
        vm.expectRevert(WardenRegistry.InvalidProofOfPossession.selector);
        registerWithData(BOB, alicesData);
    }

    function test_revert_infinityProof() public {
        prepareOperator(ALICE, 1 ether);
        bytes memory data =
            abi.encode(BLSTestKeys.publicKey(secretKeyOf(1)), BLS.G2Point(0, 0, 0, 0, 0, 0, 0, 0));
        vm.expectRevert(WardenRegistry.InvalidProofOfPossession.selector);
        registerWithData(ALICE, data);
    }

    function test_revert_infinityPublicKey() public {
        prepareOperator(ALICE, 1 ether);
        bytes memory data = abi.encode(BLS.G1Point(0, 0, 0, 0), BLSTestKeys.sign(1, bytes32(0)));
        vm.expectRevert(WardenRegistry.InfinityPublicKey.selector);
        registerWithData(ALICE, data);
    }

    function test_revert_publicKeyAlreadyRegistered() public {
        address[] memory operators = new address[](2);
        operators[0] = ALICE;
        operators[1] = BOB;
        uint256[] memory stakes = new uint256[](2);
        stakes[0] = 1 ether;
        stakes[1] = 1 ether;
        prepareOperators(operators, stakes);
        uint256 sk = secretKeyOf(1);
        BLS.G1Point memory pk = register(ALICE, sk);
        // Even with the secret key (a valid proof for Bob), the key cannot be shared.
        bytes memory data = registrationData(BOB, sk);
        vm.expectRevert(
            abi.encodeWithSelector(WardenRegistry.PublicKeyAlreadyRegistered.selector, idOf(pk), ALICE)
        );
        registerWithData(BOB, data);
    }

    function test_revert_publicKeyNonZeroPadding() public {
        prepareOperator(ALICE, 1 ether);
        uint256 sk = secretKeyOf(1);
        BLS.G1Point memory pk = BLSTestKeys.publicKey(sk);
        pk.x_a = bytes32(uint256(pk.x_a) | (1 << 128));
        bytes memory data = abi.encode(pk, BLSTestKeys.sign(sk, bytes32(0)));
        vm.expectRevert(BLS12381.NonCanonicalFieldElement.selector);
        registerWithData(ALICE, data);
    }

    function test_revert_publicKeyCoordinateNotBelowP() public {
        prepareOperator(ALICE, 1 ether);
        uint256 sk = secretKeyOf(1);
        BLS.G2Point memory proof = BLSTestKeys.sign(sk, bytes32(0));
        // y + p encodes the same field element as y: accepting it would give one key two ids.
        BLS.G1Point memory pk = BLSTestKeys.publicKey(sk);
        (pk.y_a, pk.y_b) = _addP(pk.y_a, pk.y_b);
        vm.expectRevert(BLS12381.NonCanonicalFieldElement.selector);
        registerWithData(ALICE, abi.encode(pk, proof));
        // x = p exactly.
        pk = BLSTestKeys.publicKey(sk);
        (pk.x_a, pk.x_b) = (P_HI, P_LO);
        vm.expectRevert(BLS12381.NonCanonicalFieldElement.selector);
        registerWithData(ALICE, abi.encode(pk, proof));
    }

    function test_revert_proofNonCanonical() public {
        prepareOperator(ALICE, 1 ether);
        uint256 sk = secretKeyOf(1);
        BLS.G1Point memory pk = BLSTestKeys.publicKey(sk);
        BLS.G2Point memory proof = BLSTestKeys.sign(sk, registry.proofOfPossessionMessage(ALICE, pk));
        proof.y_c1_a = bytes32(uint256(proof.y_c1_a) | (1 << 255));
        vm.expectRevert(BLS12381.NonCanonicalFieldElement.selector);
        registerWithData(ALICE, abi.encode(pk, proof));
    }

    function test_revert_publicKeyOffCurve() public {
        prepareOperator(ALICE, 1 ether);
        BLS.G1Point memory pk = BLS.G1Point(0, bytes32(uint256(1)), 0, bytes32(uint256(1)));
        assertTrue(!isOnG1Curve(pk), "(1, 1) is off the curve");
        bytes memory data = abi.encode(pk, BLSTestKeys.sign(1, bytes32(0)));
        // The proof of possession's pairing check refuses it.
        vm.expectRevert(BLS12381.PairingInputRejected.selector);
        registerWithData(ALICE, data);
    }

    function test_revert_publicKeyNotInSubgroup() public {
        prepareOperator(ALICE, 1 ether);
        BLS.G1Point memory pk = g1NotInSubgroup();
        assertTrue(isOnG1Curve(pk), "on the curve");
        bytes memory data = abi.encode(pk, BLSTestKeys.sign(1, bytes32(0)));
        // The proof of possession's pairing check refuses it.
        vm.expectRevert(BLS12381.PairingInputRejected.selector);
        registerWithData(ALICE, data);
    }

    function test_revert_malformedLength() public {
        prepareOperator(ALICE, 1 ether);
        bytes memory data = registrationData(ALICE, secretKeyOf(1));
        bytes memory short_ = new bytes(data.length - 1);
        bytes memory long_ = bytes.concat(data, bytes1(0));
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.MalformedRegistrationData.selector, 0x17f));
        registerWithData(ALICE, short_);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.MalformedRegistrationData.selector, 0x181));
        registerWithData(ALICE, long_);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.MalformedRegistrationData.selector, 0));
        registerWithData(ALICE, "");
    }

    function test_revert_callbacksOnlyFromAllocationManager() public {
        bytes memory data = registrationData(ALICE, secretKeyOf(1));
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NotAllocationManager.selector, address(this)));
        registry.registerOperator(ALICE, address(registry), wardenSet(), data);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NotAllocationManager.selector, ALICE));
        vm.prank(ALICE);
        registry.registerOperator(ALICE, address(registry), wardenSet(), data);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NotAllocationManager.selector, address(this)));
        registry.deregisterOperator(ALICE, address(registry), wardenSet());
    }

    function test_revert_callbackForOtherAVSOrSets() public {
        bytes memory data = registrationData(ALICE, secretKeyOf(1));
        vm.prank(address(allocationManager));
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.UnsupportedAVS.selector, address(this)));
        registry.registerOperator(ALICE, address(this), wardenSet(), data);
        uint32[] memory otherSet = new uint32[](1);
        otherSet[0] = 1;
        vm.prank(address(allocationManager));
        vm.expectRevert(WardenRegistry.UnsupportedOperatorSets.selector);
        registry.registerOperator(ALICE, address(registry), otherSet, data);
        vm.prank(address(allocationManager));
        vm.expectRevert(WardenRegistry.UnsupportedOperatorSets.selector);
        registry.deregisterOperator(ALICE, address(registry), new uint32[](2));
    }

    function test_revert_configureAVSOnlyOwner() public {
        address[] memory strategies = strategyList();
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, ALICE));
        registry.configureAVS("https://warden.invalid/other.json", strategies, REDISTRIBUTION_RECIPIENT);
    }

    function test_revert_deregisterUnknownOperator() public {
        vm.prank(address(allocationManager));
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.OperatorNotRegistered.selector, ALICE));
        registry.deregisterOperator(ALICE, address(registry), wardenSet());
    }

    /// @dev A proof that is canonical but not a valid G2 point is rejected by the pairing
    /// precompile, which then consumes all the gas it was given: the registry must bound that
    /// gas and fail with its own error.
    function test_revert_proofNotOnCurve_boundedGas() public {
        prepareOperator(ALICE, 1 ether);
        _assertProofRejectedCheaply(g2OffCurve(), false);
    }

    function test_revert_proofNotInSubgroup_boundedGas() public {
        prepareOperator(ALICE, 1 ether);
        _assertProofRejectedCheaply(g2NotInSubgroup(), true);
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    function _assertProofRejectedCheaply(BLS.G2Point memory proof, bool onCurve) private {
        assertTrue(isOnG2Curve(proof) == onCurve, "curve membership as intended");
        bytes memory call = registerCalldata(ALICE, abi.encode(BLSTestKeys.publicKey(secretKeyOf(1)), proof));
        uint256 gasLimit = 1_000_000;
        vm.prank(ALICE);
        (bool ok, bytes memory returned, uint256 used) =
            callMeasured(address(allocationManager), call, gasLimit);
        assertTrue(!ok, "rejected");
        assertEq(
            returned, abi.encodeWithSelector(BLS12381.PairingInputRejected.selector), "PairingInputRejected"
        );
        emit log_named_uint("gas used by a registration with an invalid G2 proof", used);
        assertLe(used, gasLimit / 2, "gas is bounded");
    }

    function _addP(bytes32 a, bytes32 b) private pure returns (bytes32, bytes32) {
        unchecked {
            uint256 lo = uint256(b) + uint256(P_LO);
            uint256 carry = lo < uint256(b) ? 1 : 0;
            return (bytes32(uint256(a) + uint256(P_HI) + carry), bytes32(lo));
        }
    }

    function _set() private view returns (OperatorSet memory) {
        return OperatorSet({avs: address(registry), id: 0});
    }

    function _one(address operator) private pure returns (address[] memory operators) {
        operators = new address[](1);
        operators[0] = operator;
    }

    function _three() private pure returns (address[] memory operators) {
        operators = new address[](3);
        operators[0] = ALICE;
        operators[1] = BOB;
        operators[2] = CAROL;
    }
}
