// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

// Brings OpenZeppelin's ERC1967Proxy into the build so its artifact (and so its Rust binding)
// exists: EigenLayer's core contracts run behind it on a devnet.
import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
