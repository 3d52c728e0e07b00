// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

/// @title BLS12381
/// @notice Warden's guarded access to the EIP-2537 precompiles.
/// @dev solady's `BLS` forwards all remaining gas to the precompiles, and a precompile that rejects
/// its input consumes everything it was given. Every call whose input comes from outside therefore
/// goes through here: encodings are checked in Solidity first, and the precompile gets exactly the
/// gas its EIP-2537 price requires, so a malformed point costs a bounded amount and reverts with a
/// custom error instead of burning the transaction's gas. hash-to-G2 (whose inputs are always
/// well formed) is solady's.
library BLS12381 {
    /// @notice A coordinate is not a canonical field element (non-zero padding or not below p).
    error NonCanonicalFieldElement();
    /// @notice A G1 point is not on the curve or not in the prime-order subgroup.
    error InvalidG1Point();
    /// @notice A G2 point is not on the curve or not in the prime-order subgroup.
    error InvalidG2Point();
    /// @notice A pairing input was rejected by the precompile (invalid point).
    error PairingInputRejected();
    /// @notice Too little gas is left to give a precompile its price. Without this check the
    /// 63/64 rule could starve a precompile of gas and a valid input would look invalid.
    error InsufficientGasForPrecompile(uint256 price);

    address private constant G1ADD = 0x000000000000000000000000000000000000000b;
    address private constant G1MSM = 0x000000000000000000000000000000000000000C;
    address private constant PAIRING_CHECK = 0x000000000000000000000000000000000000000F;

    // EIP-2537 prices. A stipend of exactly the price is enough: the precompiles charge no more.
    uint256 private constant G1ADD_GAS = 375;
    uint256 private constant G1MSM_ONE_POINT_GAS = 12_000;
    uint256 private constant PAIRING_BASE_GAS = 37_700;
    uint256 private constant PAIRING_PER_PAIR_GAS = 32_600;

    // The field modulus p, split like an EIP-2537 Fp: upper 16 bytes (the top 16 of the 64-byte
    // encoding are padding) and lower 32 bytes.
    uint256 private constant P_HI = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 private constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    // The negated generator of G1, used to turn e(P, H) == e(G, S) into one product check.
    bytes32 private constant NEG_G1_X_A = 0x0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0f;
    bytes32 private constant NEG_G1_X_B = 0xc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb;
    bytes32 private constant NEG_G1_Y_A = 0x00000000000000000000000000000000114d1d6855d545a8aa7d76c8cf2e21f2;
    bytes32 private constant NEG_G1_Y_B = 0x67816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca;

    /// @dev Reverts unless the next call can forward `price` gas in full (EIP-150 keeps 1/64).
    function requireGasFor(uint256 price) private view {
        if (gasleft() < price + price / 63 + 1_000) revert InsufficientGasForPrecompile(price);
    }

    /// @dev True when (a, b) encodes a field element below p with zero padding.
    function isCanonical(bytes32 a, bytes32 b) internal pure returns (bool) {
        uint256 hi = uint256(a);
        return hi < P_HI || (hi == P_HI && uint256(b) < P_LO);
    }

    /// @dev Reverts unless every coordinate of `point` is a canonical field element.
    function requireCanonical(BLS.G1Point memory point) internal pure {
        if (!isCanonical(point.x_a, point.x_b) || !isCanonical(point.y_a, point.y_b)) {
            revert NonCanonicalFieldElement();
        }
    }

    /// @dev Reverts unless every coordinate of `point` is a canonical field element.
    function requireCanonical(BLS.G2Point memory point) internal pure {
        if (
            !isCanonical(point.x_c0_a, point.x_c0_b) || !isCanonical(point.x_c1_a, point.x_c1_b)
                || !isCanonical(point.y_c0_a, point.y_c0_b) || !isCanonical(point.y_c1_a, point.y_c1_b)
        ) revert NonCanonicalFieldElement();
    }

    /// @dev EIP-2537 encodes the point at infinity as all zeros.
    function isInfinity(BLS.G1Point memory point) internal pure returns (bool) {
        return (point.x_a | point.x_b | point.y_a | point.y_b) == bytes32(0);
    }

    /// @dev EIP-2537 encodes the point at infinity as all zeros.
    function isInfinity(BLS.G2Point memory point) internal pure returns (bool) {
        return (point.x_c0_a | point.x_c0_b | point.x_c1_a | point.x_c1_b | point.y_c0_a | point.y_c0_b
                    | point.y_c1_a | point.y_c1_b) == bytes32(0);
    }

    /// @dev -P = (x, p - y). `point` must be canonical; infinity is its own negation.
    function negate(BLS.G1Point memory point) internal pure returns (BLS.G1Point memory) {
        if (isInfinity(point)) return point;
        uint256 yHi = uint256(point.y_a);
        uint256 yLo = uint256(point.y_b);
        uint256 lo;
        uint256 borrow;
        unchecked {
            lo = P_LO - yLo;
            borrow = P_LO < yLo ? 1 : 0;
        }
        // y < p and y != 0 for a canonical non-infinity point, so the high word cannot underflow.
        uint256 hi = P_HI - yHi - borrow;
        return BLS.G1Point(point.x_a, point.x_b, bytes32(hi), bytes32(lo));
    }

    /// @dev a + b on G1. Reverts with `InvalidG1Point` if the precompile rejects an input (off curve).
    function add(BLS.G1Point memory a, BLS.G1Point memory b)
        internal
        view
        returns (BLS.G1Point memory result)
    {
        result = BLS.G1Point(a.x_a, a.x_b, a.y_a, a.y_b);
        addInPlace(result, b);
    }

    /// @dev a += b on G1, writing over `a` (no allocation, for loops). Reverts with
    /// `InvalidG1Point` if the precompile rejects an input (off curve).
    function addInPlace(BLS.G1Point memory a, BLS.G1Point memory b) internal view {
        requireGasFor(G1ADD_GAS);
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mcopy(input, a, 0x80)
            mcopy(add(input, 0x80), b, 0x80)
            ok := staticcall(G1ADD_GAS, G1ADD, input, 0x100, a, 0x80)
            ok := and(ok, eq(returndatasize(), 0x80))
        }
        if (!ok) revert InvalidG1Point();
    }

    /// @dev Reverts with `InvalidG1Point` unless `point` is on the curve and in the prime-order
    /// subgroup. A one-point MSM is the cheapest precompile that performs the subgroup check.
    function requireInSubgroup(BLS.G1Point memory point) internal view {
        requireGasFor(G1MSM_ONE_POINT_GAS);
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mcopy(input, point, 0x80)
            mstore(add(input, 0x80), 1)
            ok := staticcall(G1MSM_ONE_POINT_GAS, G1MSM, input, 0xa0, input, 0x80)
            ok := and(ok, eq(returndatasize(), 0x80))
        }
        if (!ok) revert InvalidG1Point();
    }

    /// @dev Checks e(publicKey, messagePoint) == e(G1, signature), i.e. that `signature` signs the
    /// message hashed to `messagePoint` under `publicKey`. The precompile checks that the G2 inputs
    /// are on the curve and in the subgroup; a rejection reverts with `PairingInputRejected`.
    function verify(
        BLS.G1Point memory publicKey,
        BLS.G2Point memory messagePoint,
        BLS.G2Point memory signature
    ) internal view returns (bool valid) {
        requireGasFor(PAIRING_BASE_GAS + 2 * PAIRING_PER_PAIR_GAS);
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mcopy(input, publicKey, 0x80)
            mcopy(add(input, 0x80), messagePoint, 0x100)
            mstore(add(input, 0x180), NEG_G1_X_A)
            mstore(add(input, 0x1a0), NEG_G1_X_B)
            mstore(add(input, 0x1c0), NEG_G1_Y_A)
            mstore(add(input, 0x1e0), NEG_G1_Y_B)
            mcopy(add(input, 0x200), signature, 0x100)
            ok := staticcall(
                add(PAIRING_BASE_GAS, mul(2, PAIRING_PER_PAIR_GAS)),
                PAIRING_CHECK,
                input,
                0x300,
                0x00,
                0x20
            )
            ok := and(ok, eq(returndatasize(), 0x20))
            valid := mload(0x00)
        }
        if (!ok) revert PairingInputRejected();
    }

    /// @dev The G2 point a 32-byte message hashes to (DST `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_`).
    function hashToG2(bytes32 message) internal view returns (BLS.G2Point memory) {
        return BLS.hashToG2(abi.encodePacked(message));
    }
}
