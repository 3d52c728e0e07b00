// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @dev The Uniswap v2 pair calls Warden makes: reading the tokens, the reserves and the cumulative
/// prices (UQ112x112 times seconds, wrapping modulo 2^256) it prices from.
interface IUniswapV2Pair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves()
        external
        view
        returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function price0CumulativeLast() external view returns (uint256);
    function price1CumulativeLast() external view returns (uint256);
}

/// @dev The Uniswap v2 router's exact-input swaps: the reference agent's actions call the first;
/// the vault reads the spend of both before the call.
interface IUniswapV2Router {
    function swapExactTokensForTokens(
        uint256 amountIn,
        uint256 amountOutMin,
        address[] calldata path,
        address to,
        uint256 deadline
    ) external returns (uint256[] memory amounts);

    function swapExactTokensForTokensSupportingFeeOnTransferTokens(
        uint256 amountIn,
        uint256 amountOutMin,
        address[] calldata path,
        address to,
        uint256 deadline
    ) external;
}
