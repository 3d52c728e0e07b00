// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AgentInput} from "./AgentTypes.sol";
import {MlpPolicy} from "./MlpPolicy.sol";

/// @title PriceMatrix
/// @notice The 256 int8 input features of the large reference agent (issue #14), from the same
/// 16-price snapshot as the reference MLP's: entry `16 i + j` is the relative change from price `j`
/// to price `i` of the last sixteen, and the diagonal entry `16 i + i` the change from their mean to
/// price `i`, each in units of 1/2000 (5 bps), rounded toward zero and clamped to [-127, 127]. Bit
/// for bit `warden_agent::features::price_matrix`.
library PriceMatrix {
    /// @notice Entries of the matrix: the network's input width.
    uint256 internal constant WIDTH = 256;
    /// @notice Units per relative change of 1.
    uint256 internal constant SCALE = 2000;

    /// @notice The matrix of `input`'s last sixteen prices, one int8 per byte. Reverts with
    /// `MlpPolicy.HistoryTooShort` for fewer than sixteen prices.
    function features(AgentInput memory input) internal pure returns (bytes memory matrix) {
        uint256[] memory history = input.priceHistory;
        uint256 length = history.length;
        uint256 count = MlpPolicy.HISTORY_LEN;
        if (length < count) revert MlpPolicy.HistoryTooShort(length);
        // The same reduction as the MLP's features: a common shift to below 2^120, so that the
        // mean's sum and `_rel`'s products cannot overflow.
        uint256[16] memory q;
        uint256 maxPrice;
        for (uint256 i; i < count; ++i) {
            uint256 p = history[length - count + i];
            q[i] = p;
            if (p > maxPrice) maxPrice = p;
        }
        uint256 shift = MlpPolicy._excessBits(maxPrice);
        uint256 sum;
        for (uint256 i; i < count; ++i) {
            q[i] >>= shift;
            sum += q[i];
        }
        uint256 mean = sum / count;
        matrix = new bytes(WIDTH);
        for (uint256 i; i < count; ++i) {
            for (uint256 j; j < count; ++j) {
                int256 change = MlpPolicy._rel(q[i], i == j ? mean : q[j], SCALE);
                // `_rel` stays within [-127, 127]: the byte is the int8's two's complement.
                // forge-lint: disable-next-line(unsafe-typecast)
                matrix[count * i + j] = bytes1(uint8(int8(change)));
            }
        }
    }
}
