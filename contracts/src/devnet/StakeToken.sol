// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title StakeToken
/// @notice The ERC-20 operators restake on a Warden devnet. The owner mints.
contract StakeToken is ERC20, Ownable {
    /// @param owner_ The minter.
    constructor(address owner_) ERC20("Warden Devnet Stake", "wSTAKE") Ownable(owner_) {}

    /// @notice Mints `amount` to `to`. Emits ERC-20 `Transfer`.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
