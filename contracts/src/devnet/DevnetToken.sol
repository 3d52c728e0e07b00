// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DevnetToken
/// @notice A mintable ERC-20 for devnets: the stake token operators restake and the dollar token
/// the agent trades against. The owner mints.
contract DevnetToken is ERC20, Ownable {
    /// @param name_ Token name.
    /// @param symbol_ Token symbol.
    /// @param owner_ The minter.
    constructor(string memory name_, string memory symbol_, address owner_)
        ERC20(name_, symbol_)
        Ownable(owner_)
    {}

    /// @notice Mints `amount` to `to`. Emits ERC-20 `Transfer`.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
