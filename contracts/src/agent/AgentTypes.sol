// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice The on-chain input snapshot a task is opened with: everything an agent reads.
/// @dev Its canonical encoding is `abi.encode(input)` and `inputHash = keccak256(abi.encode(input))`.
/// The Rust twin is `warden_agent::AgentInput`; both must list the same fields in the same order.
struct AgentInput {
    /// @dev Whose balances these are; the recipient of any swap.
    address vault;
    /// @dev The token priced by `priceHistory` and `twapPrice` (e.g. a wrapped-ether-like token).
    address tokenBase;
    /// @dev The token prices are expressed in (e.g. a dollar token).
    address tokenQuote;
    /// @dev The Uniswap v2 pair's reserves at the snapshot: what a trade's size is capped by. One
    /// block can move them, so no price is read from them.
    uint112 reserveBase;
    uint112 reserveQuote;
    /// @dev The vault's balances at the snapshot.
    uint256 balanceBase;
    uint256 balanceQuote;
    /// @dev Time-weighted average prices of successive intervals between the source's observations,
    /// quote per base, 1e18 fixed point, oldest first.
    uint256[] priceHistory;
    /// @dev The time-weighted average price over the whole history's window, quote per base, 1e18
    /// fixed point (0: no price): what the agent's minimum output and the vault's stake bound use.
    uint256 twapPrice;
    /// @dev Block timestamp of the snapshot.
    uint64 timestamp;
}

/// @title AgentActions
/// @notice The canonical encoding of an agent's action, which operators sign (as `outputHash`) and
/// the vault executes: `abi.encode(uint8 kind, address target, uint256 value, bytes data)`, a call
/// `target.call{value: value}(data)` from the vault, or a hold, always `(0, address(0), 0, "")` so
/// that "do nothing" has exactly one encoding.
library AgentActions {
    /// @notice Do nothing this tick.
    uint8 internal constant HOLD = 0;
    /// @notice Spend the quote token for the base token.
    uint8 internal constant BUY = 1;
    /// @notice Spend the base token for the quote token.
    uint8 internal constant SELL = 2;

    /// @notice The encoding of a call action.
    function encode(uint8 kind, address target, uint256 value, bytes memory data)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(kind, target, value, data);
    }

    /// @notice The encoding of the hold action.
    function hold() internal pure returns (bytes memory) {
        return abi.encode(HOLD, address(0), uint256(0), bytes(""));
    }

    /// @notice `keccak256(abi.encode(input))`, the `inputHash` operators sign.
    function inputHash(AgentInput memory input) internal pure returns (bytes32) {
        return keccak256(abi.encode(input));
    }
}
