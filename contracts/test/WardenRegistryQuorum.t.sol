// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenRegistry} from "../src/WardenRegistry.sol";
import {BLS12381} from "../src/libraries/BLS12381.sol";
import {BLSTestKeys} from "./lib/BLSTestKeys.sol";
import {RegistryFixture} from "./lib/RegistryFixture.sol";

/// @dev checkQuorum against Alice, Bob and Carol (100, 200, 300 ether) registered at `ref`.
contract WardenRegistryQuorumTest is RegistryFixture {
    event log_named_uint(string key, uint256 val);

    bytes32 internal constant DIGEST = keccak256("warden task output");
    uint256 internal constant TOTAL = 600 ether;

    uint32 internal ref;

    function setUp() public {
        deployRegistry();
        ref = registerTrio();
    }

    function test_checkQuorum_allSign() public view {
        // Aggregate of three independently produced signatures.
        BLS.G2Point memory signature = BLSTestKeys.aggregate(
            BLSTestKeys.aggregate(BLSTestKeys.sign(skOf(ALICE), DIGEST), BLSTestKeys.sign(skOf(BOB), DIGEST)),
            BLSTestKeys.sign(skOf(CAROL), DIGEST)
        );
        (uint256 signed, uint256 total) = registry.checkQuorum(ref, DIGEST, new BLS.G1Point[](0), signature);
        assertEq(signed, TOTAL, "signed weight");
        assertEq(total, TOTAL, "total weight");
    }

    function test_checkQuorum_oneNonSigner() public view {
        BLS.G2Point memory signature = BLSTestKeys.aggregate(
            BLSTestKeys.sign(skOf(ALICE), DIGEST), BLSTestKeys.sign(skOf(CAROL), DIGEST)
        );
        (uint256 signed, uint256 total) =
            registry.checkQuorum(ref, DIGEST, nonSignersOf(list(BOB)), signature);
        assertEq(signed, TOTAL - 200 ether, "signed weight");
        assertEq(total, TOTAL, "total weight");
    }

    function test_checkQuorum_twoNonSigners() public view {
        (uint256 signed, uint256 total) = registry.checkQuorum(
            ref, DIGEST, nonSignersOf(list(ALICE, CAROL)), BLSTestKeys.sign(skOf(BOB), DIGEST)
        );
        assertEq(signed, 200 ether, "signed weight");
        assertEq(total, TOTAL, "total weight");
    }

    /// @dev A later reference block with no change since sees the same set.
    function test_checkQuorum_laterReferenceBlockWithoutChanges() public {
        vm.roll(block.number + 10);
        (uint256 signed, uint256 total) =
            registry.checkQuorum(ref + 5, DIGEST, nonSignersOf(list(ALICE)), signBy(list(BOB, CAROL), DIGEST));
        assertEq(signed, 500 ether, "signed weight");
        assertEq(total, TOTAL, "total weight");
    }

    function test_revert_nonSignerNeverRegistered() public {
        BLS.G1Point[] memory nonSigners = nonSignersOf(list(DAVE));
        BLS.G2Point memory signature = signBy(list(ALICE, BOB, CAROL), DIGEST);
        vm.expectRevert(
            abi.encodeWithSelector(WardenRegistry.NonSignerNotRegistered.selector, idOf(pkOf(DAVE)), ref)
        );
        registry.checkQuorum(ref, DIGEST, nonSigners, signature);
    }

    function test_revert_nonSignerRegisteredAfterReferenceBlock() public {
        register(DAVE, skOf(DAVE));
        vm.roll(block.number + 1);
        BLS.G1Point[] memory nonSigners = nonSignersOf(list(DAVE));
        BLS.G2Point memory signature = signBy(list(ALICE, BOB, CAROL), DIGEST);
        vm.expectRevert(
            abi.encodeWithSelector(WardenRegistry.NonSignerNotRegistered.selector, idOf(pkOf(DAVE)), ref)
        );
        registry.checkQuorum(ref, DIGEST, nonSigners, signature);
    }

    /// @dev A non-canonical encoding of a registered key (y + p) hashes to another id, so it
    /// cannot be used to subtract a key the set does not contain.
    function test_revert_nonSignerNonCanonicalEncoding() public {
        BLS.G1Point[] memory nonSigners = nonSignersOf(list(BOB));
        BLS.G1Point memory key = nonSigners[0];
        unchecked {
            uint256 lo = uint256(key.y_b) + uint256(P_LO);
            key.y_a = bytes32(uint256(key.y_a) + uint256(P_HI) + (lo < uint256(key.y_b) ? 1 : 0));
            key.y_b = bytes32(lo);
        }
        BLS.G2Point memory signature = signBy(list(ALICE, CAROL), DIGEST);
        vm.expectRevert(
            abi.encodeWithSelector(WardenRegistry.NonSignerNotRegistered.selector, idOf(key), ref)
        );
        registry.checkQuorum(ref, DIGEST, nonSigners, signature);
    }

    function test_revert_nonSignersNotSorted() public {
        BLS.G1Point[] memory nonSigners = nonSignersOf(list(ALICE, BOB));
        (nonSigners[0], nonSigners[1]) = (nonSigners[1], nonSigners[0]);
        BLS.G2Point memory signature = signBy(list(CAROL), DIGEST);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NonSignersNotSorted.selector, 1));
        registry.checkQuorum(ref, DIGEST, nonSigners, signature);
    }

    function test_revert_duplicateNonSigner() public {
        BLS.G1Point[] memory nonSigners = new BLS.G1Point[](3);
        BLS.G1Point[] memory sorted = nonSignersOf(list(ALICE, BOB));
        (nonSigners[0], nonSigners[1], nonSigners[2]) = (sorted[0], sorted[1], sorted[1]);
        BLS.G2Point memory signature = signBy(list(CAROL), DIGEST);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NonSignersNotSorted.selector, 2));
        registry.checkQuorum(ref, DIGEST, nonSigners, signature);
    }

    /// @dev Dave joined after the reference block: his signature cannot count, so an aggregate
    /// that includes it does not verify against the set of the reference block.
    function test_revert_signatureByOperatorRegisteredLater() public {
        register(DAVE, skOf(DAVE));
        uint32 daveBlock = uint32(block.number);
        vm.roll(block.number + 1);
        BLS.G2Point memory signature = signBy(list(ALICE, BOB, CAROL, DAVE), DIGEST);
        vm.expectRevert(WardenRegistry.InvalidSignature.selector);
        registry.checkQuorum(ref, DIGEST, new BLS.G1Point[](0), signature);
        // The same aggregate is valid against the set that includes Dave.
        (uint256 signed, uint256 total) =
            registry.checkQuorum(daveBlock, DIGEST, new BLS.G1Point[](0), signature);
        assertEq(signed, 1000 ether, "signed weight with Dave");
        assertEq(total, 1000 ether, "total weight with Dave");
    }

    function test_revert_nonSignerSignatureIncluded() public {
        BLS.G1Point[] memory nonSigners = nonSignersOf(list(BOB));
        BLS.G2Point memory signature = signBy(list(ALICE, BOB, CAROL), DIGEST);
        vm.expectRevert(WardenRegistry.InvalidSignature.selector);
        registry.checkQuorum(ref, DIGEST, nonSigners, signature);
    }

    function test_revert_missingSignature() public {
        BLS.G2Point memory signature = signBy(list(ALICE, BOB), DIGEST);
        vm.expectRevert(WardenRegistry.InvalidSignature.selector);
        registry.checkQuorum(ref, DIGEST, new BLS.G1Point[](0), signature);
    }

    function test_revert_wrongDigest() public {
        BLS.G2Point memory signature = signBy(list(ALICE, BOB, CAROL), DIGEST);
        vm.expectRevert(WardenRegistry.InvalidSignature.selector);
        registry.checkQuorum(ref, keccak256("another output"), new BLS.G1Point[](0), signature);
    }

    function test_revert_infinitySignature() public {
        vm.expectRevert(WardenRegistry.InfinitySignature.selector);
        registry.checkQuorum(ref, DIGEST, new BLS.G1Point[](0), BLS.G2Point(0, 0, 0, 0, 0, 0, 0, 0));
    }

    function test_revert_allOperatorsNonSigners() public {
        BLS.G1Point[] memory nonSigners = nonSignersOf(list(ALICE, BOB, CAROL));
        BLS.G2Point memory signature = signBy(list(ALICE), DIGEST);
        vm.expectRevert(WardenRegistry.InfinityAggregateKey.selector);
        registry.checkQuorum(ref, DIGEST, nonSigners, signature);
    }

    function test_revert_referenceBlockNotInPast() public {
        BLS.G2Point memory signature = signBy(list(ALICE, BOB, CAROL), DIGEST);
        BLS.G1Point[] memory none = new BLS.G1Point[](0);
        uint32 current = uint32(block.number);
        vm.expectRevert(
            abi.encodeWithSelector(WardenRegistry.ReferenceBlockNotInPast.selector, current, block.number)
        );
        registry.checkQuorum(current, DIGEST, none, signature);
        vm.expectRevert(
            abi.encodeWithSelector(WardenRegistry.ReferenceBlockNotInPast.selector, current + 1, block.number)
        );
        registry.checkQuorum(current + 1, DIGEST, none, signature);
    }

    function test_revert_noOperatorSetAtBlock() public {
        BLS.G2Point memory signature = signBy(list(ALICE, BOB, CAROL), DIGEST);
        BLS.G1Point[] memory none = new BLS.G1Point[](0);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NoOperatorSetAtBlock.selector, ref - 1));
        registry.checkQuorum(ref - 1, DIGEST, none, signature);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NoOperatorSetAtBlock.selector, 0));
        registry.checkQuorum(0, DIGEST, none, signature);
        vm.expectRevert(abi.encodeWithSelector(WardenRegistry.NoOperatorSetAtBlock.selector, ref - 1));
        registry.quorumAt(ref - 1);
    }

    function test_revert_signatureNonCanonical() public {
        BLS.G1Point[] memory none = new BLS.G1Point[](0);
        BLS.G2Point memory signature = signBy(list(ALICE, BOB, CAROL), DIGEST);
        signature.x_c0_a = bytes32(uint256(signature.x_c0_a) | (1 << 200));
        vm.expectRevert(BLS12381.NonCanonicalFieldElement.selector);
        registry.checkQuorum(ref, DIGEST, none, signature);

        signature = signBy(list(ALICE, BOB, CAROL), DIGEST);
        (signature.y_c1_a, signature.y_c1_b) = (P_HI, P_LO);
        vm.expectRevert(BLS12381.NonCanonicalFieldElement.selector);
        registry.checkQuorum(ref, DIGEST, none, signature);
    }

    function test_revert_signatureOffCurve_boundedGas() public {
        _assertSignatureRejectedCheaply(g2OffCurve(), false);
    }

    function test_revert_signatureNotInSubgroup_boundedGas() public {
        _assertSignatureRejectedCheaply(g2NotInSubgroup(), true);
    }

    /// @dev A caller that forwards too little gas gets a named error, never "invalid signature"
    /// for a valid one (the 63/64 rule would otherwise starve the pairing precompile).
    function test_revert_validSignatureWithTooLittleGas() public {
        bytes memory call = abi.encodeCall(
            WardenRegistry.checkQuorum,
            (ref, DIGEST, nonSignersOf(list(BOB)), signBy(list(ALICE, CAROL), DIGEST))
        );
        (bool ok, bytes memory returned,) = callMeasured(address(registry), call, 150_000);
        assertTrue(!ok, "starved call fails");
        assertEq(
            returned,
            abi.encodeWithSelector(BLS12381.InsufficientGasForPrecompile.selector, uint256(102_900)),
            "InsufficientGasForPrecompile"
        );
        (ok,,) = callMeasured(address(registry), call, 1_000_000);
        assertTrue(ok, "the same call with enough gas verifies");
    }

    function _assertSignatureRejectedCheaply(BLS.G2Point memory signature, bool onCurve) private {
        assertTrue(isOnG2Curve(signature) == onCurve, "curve membership as intended");
        bytes memory call =
            abi.encodeCall(WardenRegistry.checkQuorum, (ref, DIGEST, nonSignersOf(list(BOB)), signature));
        uint256 gasLimit = 1_000_000;
        (bool ok, bytes memory returned, uint256 used) = callMeasured(address(registry), call, gasLimit);
        assertTrue(!ok, "rejected");
        assertEq(
            returned, abi.encodeWithSelector(BLS12381.PairingInputRejected.selector), "PairingInputRejected"
        );
        emit log_named_uint("gas used by checkQuorum with an invalid G2 signature", used);
        // A valid check costs about as much: the pairing is given its price, not all the gas.
        assertLe(used, 250_000, "gas is bounded");
    }
}

/// @dev Signing and verifying with arbitrary keys and digests, one operator in the set.
contract WardenRegistryFuzzTest is RegistryFixture {
    function setUp() public {
        deployRegistry();
        prepareOperator(ALICE, 42 ether);
    }

    /// forge-config: default.fuzz.runs = 32
    function testFuzz_singleOperatorSignature(uint256 seed, bytes32 digest, uint8 flippedBit) public {
        uint256 sk = bound(seed, 1, R - 1);
        register(ALICE, sk);
        registry.refreshWeights();
        uint32 ref = uint32(block.number);
        vm.roll(block.number + 1);
        BLS.G2Point memory signature = BLSTestKeys.sign(sk, digest);
        BLS.G1Point[] memory none = new BLS.G1Point[](0);

        (uint256 signed, uint256 total) = registry.checkQuorum(ref, digest, none, signature);
        assertEq(signed, 42 ether, "signed weight");
        assertEq(total, 42 ether, "total weight");

        bytes32 tampered = digest ^ bytes32(uint256(1) << flippedBit);
        vm.expectRevert(WardenRegistry.InvalidSignature.selector);
        registry.checkQuorum(ref, tampered, none, signature);
    }
}
