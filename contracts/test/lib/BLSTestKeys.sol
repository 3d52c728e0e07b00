// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";
import {BLS12381} from "../../src/libraries/BLS12381.sol";

/// @dev BLS12-381 key generation and signing inside forge, through the EIP-2537 MSM precompiles:
/// pk = sk·G1, signature = sk·H(m). Test-only: a secret scalar on chain is public.
library BLSTestKeys {
    bytes32 internal constant G1_X_A = 0x0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0f;
    bytes32 internal constant G1_X_B = 0xc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb;
    bytes32 internal constant G1_Y_A = 0x0000000000000000000000000000000008b3f481e3aaa0f1a09e30ed741d8ae4;
    bytes32 internal constant G1_Y_B = 0xfcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1;

    function generator() internal pure returns (BLS.G1Point memory) {
        return BLS.G1Point(G1_X_A, G1_X_B, G1_Y_A, G1_Y_B);
    }

    function publicKey(uint256 secretKey) internal view returns (BLS.G1Point memory) {
        BLS.G1Point[] memory points = new BLS.G1Point[](1);
        points[0] = generator();
        bytes32[] memory scalars = new bytes32[](1);
        scalars[0] = bytes32(secretKey);
        return BLS.msm(points, scalars);
    }

    function sign(uint256 secretKey, bytes32 message) internal view returns (BLS.G2Point memory) {
        BLS.G2Point[] memory points = new BLS.G2Point[](1);
        points[0] = BLS12381.hashToG2(message);
        bytes32[] memory scalars = new bytes32[](1);
        scalars[0] = bytes32(secretKey);
        return BLS.msm(points, scalars);
    }

    function aggregate(BLS.G2Point memory a, BLS.G2Point memory b)
        internal
        view
        returns (BLS.G2Point memory)
    {
        return BLS.add(a, b);
    }
}
